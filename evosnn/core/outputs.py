"""Where a command writes: checked once, before any work starts, and never overwritten silently.

Two checks every writing command shares:

* :func:`check_out_dir`: the ``--out`` folder can hold files. A path that is a file, that lies
  under a file, or that cannot be written is one clear :class:`OutputError` naming it, raised
  before the command trains, searches or exports anything (instead of a traceback after the first
  epoch). It creates nothing: a probe file written and removed in the folder, or in its nearest
  existing parent, proves it writable, for root too (``os.access`` does not).
* :func:`refuse_existing`: a checkpoint that already exists is continued only on request
  (``--resume``); a fresh run never replaces it.

Example:
    >>> import tempfile
    >>> folder = check_out_dir(Path(tempfile.mkdtemp()) / "run")
    >>> folder.name, folder.exists()
    ('run', False)
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from evosnn.core.errors import CheckpointError, EvosnnError

__all__ = ["OutputError", "check_out_dir", "refuse_existing"]


class OutputError(EvosnnError):
    """An output folder is a file, lies under a file, or cannot be written."""


def check_out_dir(path: str | Path, *, flag: str = "--out") -> Path:
    """Check that ``path`` is, or can be created as, a folder this process can write; return it.

    Nothing is created (the folder appears when the command first writes into it).

    Raises:
        OutputError: ``path`` is a file, lies under a file, or cannot be written; the message
            names the path (and the file in its way).
    """
    folder = Path(path)
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if existing == folder and not folder.is_dir():
        raise OutputError(f"{flag} {folder}: is a file, not a folder; choose a folder")
    if not existing.is_dir():
        raise OutputError(f"{flag} {folder}: lies under the file {existing}; choose a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=".evosnn-write-check-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise OutputError(
            f"{flag} {folder}: cannot write in {existing} "
            f"({exc.strerror or type(exc).__name__}); choose a folder you can write"
        ) from exc
    return folder


def refuse_existing(path: str | Path) -> None:
    """Refuse to start a fresh run over an existing checkpoint (it is continued with --resume).

    Raises:
        CheckpointError: ``path`` exists.
    """
    if Path(path).exists():
        raise CheckpointError(
            f"{path} already exists; pass --resume to continue it, or choose another --out"
        )
