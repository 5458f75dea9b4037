"""Where a command writes: checked once, before any work starts, and never overwritten silently.

Three checks every writing command shares:

* :func:`check_out_dir`: the ``--out`` folder can hold files. A path that is a file, that lies
  under a file, or that cannot be written is one clear :class:`OutputError` naming it, raised
  before the command trains, searches or exports anything (instead of a traceback after the first
  epoch). It creates nothing: a probe file written and removed in the folder, or in its nearest
  existing parent, proves it writable, for root too (``os.access`` does not).
* :func:`check_out_file`: the same for a file a command writes (``--json``): the path is not a
  folder, and its folder is, or can be created as, a folder this process can write. Checked when
  the flags are read, so a bad path is one line at once, not a traceback after the whole
  computation.
* :func:`refuse_existing`: a checkpoint that already exists is continued only on request
  (``--resume``); a fresh run never replaces it.

Example:
    >>> import tempfile
    >>> folder = check_out_dir(Path(tempfile.mkdtemp()) / "run")
    >>> folder.name, folder.exists()
    ('run', False)
"""

from __future__ import annotations

import errno
import os
import tempfile
from pathlib import Path

from evosnn.core.errors import CheckpointError, EvosnnError

__all__ = ["OutputError", "check_out_dir", "check_out_file", "refuse_existing"]


class OutputError(EvosnnError):
    """An output folder is a file, lies under a file, or cannot be written."""


def check_out_dir(path: str | Path, *, flag: str | None = "--out") -> Path:
    """Check that ``path`` is, or can be created as, a folder this process can write; return it.

    Nothing is created (the folder appears when the command first writes into it). ``flag``
    names the option in the message (None: the path alone).

    Raises:
        OutputError: ``path`` is a file, lies under a file, or cannot be written; the message
            names the path (and the file in its way).
    """
    folder = Path(path)
    label = _label(folder, flag)
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{label}: is a file, not a folder; choose a folder")
    _check_writable(folder, label, "choose a folder")
    return folder


def check_out_file(path: str | Path, *, flag: str | None = "--out") -> Path:
    """Check that ``path`` can be written as a file (its folder made when missing); return it.

    The path must not be a folder, must not lie under a file, and its folder (or the nearest
    existing one) must be writable; an existing file must be writable too (it is opened without
    being changed). Nothing is created. ``flag`` names the option in the message (None: the
    path alone).

    Raises:
        OutputError: ``path`` is a folder, lies under a file, or cannot be written; the message
            names the path.

    Example:
        >>> check_out_file("/proc/x.json", flag="--json")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        evosnn.core.outputs.OutputError: --json /proc/x.json: cannot write in /proc (...); ...
    """
    file = Path(path)
    label = _label(file, flag)
    if file.is_dir():
        raise OutputError(f"{label}: is a folder, not a file; name a file")
    if file.name in ("", ".", ".."):
        raise OutputError(f"{label}: names no file; name a file")
    _check_writable(file.parent, label, "name a file in a folder")
    if file.exists():
        try:
            os.close(os.open(file, os.O_WRONLY | os.O_APPEND))
        except OSError as exc:
            raise OutputError(
                f"{label}: cannot be written ({exc.strerror or type(exc).__name__}); "
                "choose a file you can write"
            ) from exc
    return file


def _check_writable(folder: Path, label: str, advice: str) -> None:
    """``folder``, or its nearest existing parent, is a folder this process can write in."""
    existing = next(p for p in (folder, *folder.parents) if p.exists() or p == p.parent)
    if not existing.is_dir():
        raise OutputError(f"{label}: lies under the file {existing}; {advice}")
    try:
        fd, probe = tempfile.mkstemp(prefix=".evosnn-write-check-", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        # ENOENT in a folder that exists: a file system that takes no new files (/proc)
        reason = "it takes no new files" if exc.errno == errno.ENOENT else exc.strerror
        raise OutputError(
            f"{label}: cannot write in {existing} "
            f"({reason or type(exc).__name__}); {advice} you can write"
        ) from exc


def _label(path: Path, flag: str | None) -> str:
    return f"{flag} {path}" if flag else str(path)


def refuse_existing(path: str | Path) -> None:
    """Refuse to start a fresh run over an existing checkpoint (it is continued with --resume).

    Raises:
        CheckpointError: ``path`` exists.
    """
    if Path(path).exists():
        raise CheckpointError(
            f"{path} already exists; pass --resume to continue it, or choose another --out"
        )
