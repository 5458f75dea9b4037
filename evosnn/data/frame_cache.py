"""Binned event frames cached on disk, keyed by the binning settings, checked against the sources.

Binning thousands of recordings takes minutes; a second run with the same settings loads the
frames instead. The file name is a hash of the settings (data set, image size, frame counts,
binning rule, format version); inside, the cache keeps the size and modification time of every
source file, so a changed, added or removed recording makes the cache stale: it is rebuilt (and
says so in the log), never silently used.

The folder is ``$EVOSNN_FRAME_CACHE`` if set, else ``<data folder>/evosnn-frames``. A folder that
cannot be written is logged and skipped (the frames are binned again next time).

Example:
    >>> key = cache_key({"dataset": "nmnist", "frames": [4, 8]})
    >>> len(key)
    16
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

import torch

from supernet.checkpoint import load_weights_only

__all__ = ["cache_dir", "cache_key", "load_frames", "save_frames", "source_manifest"]

log = logging.getLogger(__name__)
#: Bumped whenever the binning code changes what it produces.
FORMAT = 1


def cache_dir(data_root: Path) -> Path:
    """Where frames of the data set in ``data_root`` are cached."""
    env = os.environ.get("EVOSNN_FRAME_CACHE")
    return Path(env) if env else data_root / "evosnn-frames"


def cache_key(settings: dict[str, Any]) -> str:
    """A short hash of the binning ``settings`` (and the cache format)."""
    text = json.dumps({**settings, "format": FORMAT}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def source_manifest(paths: list[Path], root: Path) -> list[list[Any]]:
    """``[relative path, size, mtime_ns]`` of every source file: what makes a cache stale."""
    out = []
    for path in paths:
        st = path.stat()
        out.append([str(path.relative_to(root)), st.st_size, st.st_mtime_ns])
    return out


def load_frames(
    folder: Path, settings: dict[str, Any], manifest: list[list[Any]]
) -> dict[str, torch.Tensor] | None:
    """The cached tensors for ``settings``, or None when absent, unreadable or stale."""
    path = folder / f"{settings['dataset']}-{cache_key(settings)}.pt"
    if not path.is_file():
        return None
    try:
        data = load_weights_only(path)
    except Exception as exc:
        log.warning("frame cache %s is unreadable (%s): binning again", path, type(exc).__name__)
        return None
    if not isinstance(data, dict):
        log.warning("frame cache %s holds no frames: binning again", path)
        return None
    if data.get("settings") != settings or data.get("sources") != manifest:
        log.warning("frame cache %s is stale (the source files changed): binning again", path)
        return None
    tensors: dict[str, torch.Tensor] = data["tensors"]
    log.info("frames loaded from the cache %s", path)
    return tensors


def save_frames(
    folder: Path,
    settings: dict[str, Any],
    manifest: list[list[Any]],
    tensors: dict[str, torch.Tensor],
) -> Path | None:
    """Write the cache atomically (a crash leaves the old file or none); None if not writable."""
    path = folder / f"{settings['dataset']}-{cache_key(settings)}.pt"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=folder, suffix=".part")
        with os.fdopen(fd, "wb") as fh:
            torch.save({"settings": settings, "sources": manifest, "tensors": tensors}, fh)
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write the frame cache in %s (%s): not cached", folder, exc)
        return None
    log.info("frames cached in %s", path)
    return path
