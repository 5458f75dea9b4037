"""Supernet checkpoints: plain tensors and containers, written atomically, loaded weights-only.

A checkpoint is a dict::

    format        "evosnn-supernet/1" (the schema version; see :class:`SupernetCheckpoint`)
    status        "complete" | "in-progress" | "interrupted"
    space         what the supernet was trained for (the application's metadata; evosnn stores
                  the search space as data, SearchSpace.to_dict(), and reads it back itself)
    train_config  the training settings (a dict)
    epoch, step   completed epochs / optimizer steps (step is what resume continues from)
    model         the supernet's state_dict
    optimizer, scheduler, scaler   their state_dicts (scaler may be None)
    metrics       a list of per-epoch dicts (loss, lr, val accuracy of largest/smallest subnets)

It holds no pickled objects, so ``torch.load(path, weights_only=True)`` reads it; its file sha256
identifies it in the search ledger.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, Literal, TypedDict, cast

import torch

from evosnn.core.errors import CheckpointError

__all__ = [
    "CHECKPOINT_NAME",
    "FORMAT",
    "Status",
    "SupernetCheckpoint",
    "TrainerState",
    "TrainingCheckpoint",
    "checkpoint_file",
    "file_sha256",
    "load_checkpoint",
    "load_training_checkpoint",
    "load_weights_only",
    "save_atomic",
    "source_name",
]

#: The supernet checkpoint's format and schema version (bumped when its keys change meaning).
FORMAT = "evosnn-supernet/1"

#: The supernet checkpoint's file name in its run folder.
CHECKPOINT_NAME = "supernet.pt"

#: Where the run stood when the checkpoint was written.
Status = Literal["complete", "in-progress", "interrupted"]


class TrainerState(TypedDict):
    """The state dicts of what a training run steps (see :class:`supernet.fit.Trainee`)."""

    model: dict[str, torch.Tensor]
    optimizer: dict[str, Any]
    scheduler: dict[str, Any]
    #: None unless the run scales its losses (AMP on CUDA).
    scaler: dict[str, Any] | None


class TrainingCheckpoint(TrainerState):
    """The keys every training checkpoint holds (written by :mod:`supernet.fit`'s callers)."""

    format: str
    status: Status
    train_config: dict[str, Any]
    step: int
    metrics: list[dict[str, Any]]


class SupernetCheckpoint(TrainingCheckpoint):
    """The keys of a supernet checkpoint (format :data:`FORMAT`), as stored.

    The trainer's caller adds its metadata at the top level beside these (evosnn: ``space``).
    """

    space: dict[str, Any]
    epoch: int
    steps_per_epoch: int


def save_atomic(obj: Mapping[str, Any], path: str | Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, fsync, then rename over ``path``.

    A crash at any moment leaves either the old file or the new one, never a torn file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            torch.save(obj, handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_sha256(path: str | Path | bytes) -> str:
    """Hex sha256 of a file's bytes (or of ``bytes`` given directly)."""
    if isinstance(path, bytes):
        return hashlib.sha256(path).hexdigest()
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_name(path: str | Path | bytes) -> str:
    """How error messages name a checkpoint given as a path or as bytes."""
    return "<checkpoint bytes>" if isinstance(path, bytes) else str(path)


def checkpoint_file(
    path: str | Path,
    what: str = "checkpoint",
    hint: str = "",
    *,
    inside: str | None = CHECKPOINT_NAME,
) -> Path:
    """``path`` as a Path, once checked to be a file.

    A folder is said to be one (a run folder is easily given for its checkpoint), with the path
    of the file ``inside`` it when there is one; ``hint`` follows "not found".

    Raises:
        CheckpointError: ``path`` is a folder or does not exist; the message names it.
    """
    path = Path(path)
    if path.is_dir():
        held = path / inside if inside else None
        offer = f"; did you mean {held}?" if held is not None and held.is_file() else ""
        raise CheckpointError(f"{path} is a folder, not a {what} file{offer}")
    if not path.is_file():
        raise CheckpointError(f"{path}: {what} not found{hint}")
    return path


def load_weights_only(
    source: str | Path | IO[bytes], map_location: str | torch.device = "cpu"
) -> Any:
    """``torch.load(..., weights_only=True)``, without torch's warnings about the file's bytes.

    Damaged or foreign bytes can make torch's unpickler warn before it fails (for instance,
    "Detected pickle protocol 97", whose text names ``weights_only``). Every caller turns a failed
    load into one clear message naming the file, so those warnings only add noise that suggests
    loading unsafely; they are silenced here, once, for every caller.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return torch.load(source, map_location=map_location, weights_only=True)


def load_checkpoint(
    source: str | Path | bytes,
    *,
    map_location: str | torch.device = "cpu",
    name: str | None = None,
) -> SupernetCheckpoint:
    """Read a supernet checkpoint safely (weights only), checked to be one (format and keys).

    ``source`` is a path, or the checkpoint's bytes (how Ray workers receive it); ``name`` is how
    messages name it (default: the path, or ``<checkpoint bytes>``).

    Raises:
        CheckpointError: missing, truncated or corrupt file, pickled objects, or not a supernet
            checkpoint; the message names the file.
    """
    data = load_training_checkpoint(
        source,
        map_location=map_location,
        format=FORMAT,
        kind="supernet checkpoint",
        required=("space", "model", "step", "epoch"),
        name=name,
    )
    return cast(SupernetCheckpoint, data)


def load_training_checkpoint(
    source: str | Path | bytes,
    *,
    format: str,
    kind: str,
    required: tuple[str, ...],
    map_location: str | torch.device = "cpu",
    name: str | None = None,
) -> dict[str, Any]:
    """Read a checkpoint of any training kind safely (weights only) and check its format and keys.

    ``format``, ``kind`` and ``required`` describe the checkpoint expected (a supernet's is read by
    :func:`load_checkpoint`; retraining checkpoints with their own). ``name`` is how messages name
    it (default: the path, or ``<checkpoint bytes>``).

    Raises:
        CheckpointError: missing, truncated or corrupt file, pickled objects, or not a checkpoint
            of that kind; the message names the file.
    """
    path = name or source_name(source)
    if not isinstance(source, bytes):
        checkpoint_file(source, kind, inside=CHECKPOINT_NAME if format == FORMAT else None)
    readable = io.BytesIO(source) if isinstance(source, bytes) else Path(source)
    try:
        data = load_weights_only(readable, map_location)
    except pickle.UnpicklingError as exc:
        # not PyTorch's text: it advises weights_only=False, which would run the file's code
        what = "holds pickled objects" if "GLOBAL" in str(exc) else "is not a PyTorch file"
        raise CheckpointError(
            f"{path}: refused to load: it {what} or is corrupt "
            "(evosnn loads weights only, never code)"
        ) from exc
    except Exception as exc:  # damaged bytes fail anywhere in torch's unpickler (IndexError...)
        raise CheckpointError(
            f"{path}: not a readable checkpoint (truncated or corrupt: {type(exc).__name__})"
        ) from exc
    if not isinstance(data, dict) or data.get("format") != format:
        raise CheckpointError(f"{path}: not an evosnn {kind} (format {format!r})")
    for key in required:
        if key not in data:
            raise CheckpointError(f"{path}: checkpoint lacks {key!r}")
    return data
