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
    """
    readers: dict[str, tuple[Any, dict[Path, int]]] = {}
    for r in recordings:
        if name == "cifar10-dvs":
            yield _read_cifar10_dvs(r.path)
            continue
        if r.split not in readers:
            dataset = _tonic_dataset(name, r.path.parents[2], r.split)
            readers[r.split] = (dataset, {Path(p): i for i, p in enumerate(dataset.data)})
        dataset, index = readers[r.split]
        try:
            events, _ = dataset[index[r.path]]
        except Exception as exc:
            raise DataError(f"{r.path}: not a readable {name} recording ({exc})") from exc
        yield _xytp(events)


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
    from tonic.io import get_aer_events_from_file, read_aedat_header_from_file

    try:
        version, start, _ = read_aedat_header_from_file(str(path))
        raw = get_aer_events_from_file(str(path), version, start)
    except Exception as exc:
        raise DataError(f"{path}: not a readable AEDAT 2 recording ({exc})") from exc
    addr = raw["address"].astype(np.int64)
    out = np.empty(
        len(raw), dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)]
    )
    x, y = (addr >> 1) & 0x7F, (addr >> 8) & 0x7F
    out["x"], out["y"] = 127 - y, 127 - x
    out["t"] = raw["timeStamp"].astype(np.int64)
    out["p"] = 1 - (addr & 1)
    return out
