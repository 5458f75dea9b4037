"""The on-disk layouts of the event-camera data sets, checked before anything is read.

Each data set is read with tonic (``tonic.datasets`` where tonic has a class for the published
layout, ``tonic.io`` otherwise) and never downloaded: the folder is checked here first, a missing
or incomplete one is one :class:`DataError` naming what is missing, and tonic's classes are
subclassed so that their ``download`` raises instead of fetching. Only ``tonic.datasets`` and
``tonic.io`` are imported; neither needs torchvision.

Layouts (``ROOT`` is the folder given by ``--data`` or ``dataset.root``):

* ``nmnist``: ``ROOT/NMNIST/{Train,Test}/<0..9>/*.bin`` (the N-MNIST release, as tonic lays it
  out; ``ROOT`` may also be the ``NMNIST`` folder itself). Sensor 34x34.
* ``dvs128-gesture``: ``ROOT/DVSGesture/{ibmGestureTrain,ibmGestureTest}/user<NN>_<light>/<label>.npy``
  (tonic's preprocessed release: one ``N x 4`` array of ``x, y, p, t[ms]`` per gesture, the file
  named after its label 0..10). Sensor 128x128.
* ``cifar10-dvs``: ``ROOT/<class>/*.aedat`` for the ten CIFAR-10 class names (the original
  AEDAT 2.0 release, extracted; ``ROOT/CIFAR10DVS/<class>`` also works). Sensor 128x128. It has no
  test split of its own: see :func:`evosnn.data.events.load_event_splits`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from evosnn.core.errors import DataError

__all__ = ["CIFAR10_CLASSES", "Recording", "find_recordings", "read_events", "sensor_side"]

CIFAR10_CLASSES = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
_SENSOR = {"nmnist": 34, "dvs128-gesture": 128, "cifar10-dvs": 128}
_GESTURE_CLASSES = 11
_AEDAT_MAGIC = b"#!AER-DAT"
#: An AEDAT 2 event: a 32-bit address and a 32-bit timestamp.
_AEDAT_EVENT_BYTES = 8


@dataclass(frozen=True)
class Recording:
    """One recording: its file, its label and the split it belongs to (``train`` or ``test``)."""

    path: Path
    label: int
    split: str


def sensor_side(name: str) -> int:
    """Width (= height) of the sensor that recorded data set ``name``."""
    return _SENSOR[name]


def find_recordings(name: str, root: Path) -> list[Recording]:
    """Every recording of data set ``name`` under ``root``, in a fixed order (checked, not read).

    Raises:
        DataError: the layout is missing or incomplete; the message names what is missing.
    """
    if name == "nmnist":
        return _nmnist(_base(root, "NMNIST", ("Train", "Test")))
    if name == "dvs128-gesture":
        return _gesture(_base(root, "DVSGesture", ("ibmGestureTrain", "ibmGestureTest")))
    if name == "cifar10-dvs":
        return _cifar10_dvs(_base(root, "CIFAR10DVS", CIFAR10_CLASSES, any_name=True))
    raise DataError(f"{name!r} is not an event data set read from files")


def _base(root: Path, folder: str, needed: tuple[str, ...], *, any_name: bool = False) -> Path:
    """``root/folder`` or ``root`` itself, whichever holds the ``needed`` sub-folders.

    tonic's dataset classes read from ``<save_to>/<class name>``, so ``root`` itself counts only
    under that name, unless ``any_name`` (the data set is read file by file).
    """
    for base in (root / folder, root) if any_name or root.name == folder else (root / folder,):
        if all((base / sub).is_dir() for sub in needed):
            return base
    base = root / folder if (root / folder).is_dir() else root
    missing = [sub for sub in needed if not (base / sub).is_dir()]
    raise DataError(
        f"{base}: missing folder(s) {', '.join(missing)} "
        f"(expected {root}/{folder}/{{{','.join(needed)}}}; see docs/tutorials/event-data.md)"
    )


def _nmnist(base: Path) -> list[Recording]:
    out = []
    for sub, split in (("Train", "train"), ("Test", "test")):
        for digit in range(10):
            folder = base / sub / str(digit)
            files = sorted(folder.glob("*.bin")) if folder.is_dir() else []
            if not files:
                raise DataError(
                    f"{folder}: missing or holds no .bin recordings (N-MNIST digit {digit})"
                )
            out += [Recording(f, digit, split) for f in files]
    return out


def _gesture(base: Path) -> list[Recording]:
    out = []
    for sub, split in (("ibmGestureTrain", "train"), ("ibmGestureTest", "test")):
        files = sorted((base / sub).glob("user*_*/*.npy"))
        if not files:
            raise DataError(
                f"{base / sub}: holds no user<NN>_<lighting>/<label>.npy recordings "
                "(tonic's preprocessed DVS128 Gesture release)"
            )
        for f in files:
            if not f.stem.isdigit() or int(f.stem) >= _GESTURE_CLASSES:
                raise DataError(f"{f}: not a gesture label file (expected 0.npy .. 10.npy)")
            out.append(Recording(f, int(f.stem), split))
    return out


def _cifar10_dvs(base: Path) -> list[Recording]:
    out = []
    for label, cls in enumerate(CIFAR10_CLASSES):
        files = sorted((base / cls).glob("*.aedat"))
        if not files:
            raise DataError(f"{base / cls}: holds no .aedat recordings (CIFAR10-DVS class {cls})")
        out += [Recording(f, label, "train") for f in files]
    return out


# ------------------------------------------------------------------------------------- reading
def read_events(name: str, recordings: list[Recording]) -> Iterator[np.ndarray]:
    """The events of ``recordings``, one by one, as structured arrays with integer x, y, t, p.

    Read with tonic: its N-MNIST and DVS128 Gesture classes (never downloading), and its AEDAT 2
    reader for CIFAR10-DVS (tonic's own CIFAR10-DVS class reads only a re-encoded AEDAT 4 copy).
    Each file's format is checked first, so that a damaged one is one :class:`DataError` naming
    it and what is wrong, never a reader's internal error.

    Raises:
        DataError: a file that is not a recording of ``name``, or holds no events.
    """
    readers: dict[str, tuple[Any, dict[Path, int]]] = {}
    for r in recordings:
        if name == "cifar10-dvs":
            events = _read_cifar10_dvs(r.path)
        else:
            _check_file(name, r.path)
            if r.split not in readers:
                dataset = _tonic_dataset(name, r.path.parents[2], r.split)
                readers[r.split] = (dataset, {Path(p): i for i, p in enumerate(dataset.data)})
            dataset, index = readers[r.split]
            try:
                raw, _ = dataset[index[r.path]]
            except Exception as exc:
                raise DataError(f"{r.path}: not a readable {name} recording ({_why(exc)})") from exc
            events = _xytp(raw)
        if not len(events):
            raise DataError(f"{r.path}: holds no events (a recording needs at least one)")
        yield events


def _why(exc: Exception) -> str:
    """A reader's error in a few words, without advice to load unsafely (numpy's allow_pickle)."""
    text = str(exc)
    return type(exc).__name__ if "pickle" in text or not text else text[:200]


def _check_file(name: str, path: Path) -> None:
    """Refuse an N-MNIST or DVS128 Gesture file whose format is wrong, before tonic reads it."""
    if name == "nmnist":
        size = path.stat().st_size
        if size == 0:
            raise DataError(f"{path}: empty file, no events")
        if size % 5:
            raise DataError(
                f"{path}: {size} bytes, not a whole number of 5-byte N-MNIST events "
                "(truncated or not an N-MNIST recording)"
            )
        return
    shape, dtype = _npy_header(path)
    if dtype.hasobject or dtype.kind not in "iuf" or len(shape) != 2 or shape[1] != 4:
        raise DataError(
            f"{path}: a NumPy array of shape {shape} and dtype {dtype}, expected numbers of "
            "shape N x 4 (x, y, p, t: tonic's preprocessed DVS128 Gesture)"
        )


def _npy_header(path: Path) -> tuple[tuple[int, ...], np.dtype[Any]]:
    """The shape and dtype a ``.npy`` file declares, read from its header alone."""
    from numpy.lib import format as npy

    try:
        with path.open("rb") as fh:
            version = npy.read_magic(fh)
            read = npy.read_array_header_1_0 if version == (1, 0) else npy.read_array_header_2_0
            shape, _, dtype = read(fh)
    except (ValueError, OSError, EOFError) as exc:
        what = "empty file" if path.stat().st_size == 0 else "no valid .npy header"
        raise DataError(f"{path}: not a readable NumPy array ({what})") from exc
    return tuple(shape), dtype


def _tonic_dataset(name: str, base: Path, split: str) -> Any:
    """tonic's dataset class for ``name`` reading ``base``, constructed so that it never downloads."""
    import tonic.datasets

    parent_cls = tonic.datasets.NMNIST if name == "nmnist" else tonic.datasets.DVSGesture

    def _refuse(self: Any) -> None:
        raise DataError(f"{base}: incomplete {name} folder (evosnn never downloads)")

    def _checked(self: Any) -> bool:
        return True  # find_recordings checked the layout; tonic's own check wants the archives

    # tonic reads from <save_to>/<class name>: the subclass keeps tonic's class name.
    cls = type(parent_cls.__name__, (parent_cls,), {"download": _refuse, "_check_exists": _checked})
    return cls(str(base.parent), train=split == "train")


def _xytp(events: np.ndarray) -> np.ndarray:
    out = np.empty(
        len(events), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)]
    )
    for field in ("x", "y", "t", "p"):
        out[field] = np.asarray(events[field]).astype(np.int64)
    return out


def _read_cifar10_dvs(path: Path) -> np.ndarray:
    """AEDAT 2.0 (jAER DVS128 addresses), oriented and signed as spikingjelly reads it."""
    from tonic.io import get_aer_events_from_file

    start = _aedat2_start(path)
    try:
        raw = get_aer_events_from_file(str(path), 2.0, start)
    except Exception as exc:
        raise DataError(f"{path}: not a readable AEDAT 2 recording ({_why(exc)})") from exc
    addr = raw["address"].astype(np.int64)
    out = np.empty(
        len(raw), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)]
    )
    x, y = (addr >> 1) & 0x7F, (addr >> 8) & 0x7F
    out["x"], out["y"] = 127 - y, 127 - x
    out["t"] = raw["timeStamp"].astype(np.int64)
    out["p"] = 1 - (addr & 1)
    return out


def _aedat2_start(path: Path) -> int:
    """Where the events of an AEDAT 2 file begin, after its ``#`` header lines; checked.

    Read here rather than by tonic's header reader, which fails on a file without the
    ``#!AER-DAT`` line with an internal error and on an empty file with ``[Errno 22]``.
    """
    with path.open("rb") as fh:
        first = fh.readline()
        if not first:
            raise DataError(f"{path}: empty file, not an AEDAT 2 recording")
        if not first.startswith(_AEDAT_MAGIC):
            raise DataError(
                f"{path}: not an AEDAT recording (it does not begin with the "
                f"{_AEDAT_MAGIC.decode()} header line)"
            )
        version = first[len(_AEDAT_MAGIC) :].strip()[:20].decode("ascii", "replace")
        if not version.startswith("2."):
            raise DataError(
                f"{path}: AEDAT version {version}, expected 2.0 (the CIFAR10-DVS release)"
            )
        start = fh.tell()
        while fh.read(1) == b"#":
            fh.readline()
            start = fh.tell()
        size = fh.seek(0, 2)
    if size - start < _AEDAT_EVENT_BYTES:
        raise DataError(f"{path}: holds only an AEDAT header, no events")
    return start
