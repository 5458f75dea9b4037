"""Data sets: train / validation / test splits held in memory as uint8 tensors.

One entry point, :func:`load_splits`, for every kind:

* ``digits``: scikit-learn's bundled 8x8 handwritten digits, resized to the space's image size.
* ``cifar10`` / ``cifar100``: the standard python-pickle releases (``cifar-10-batches-py/``,
  ``cifar-100-python/``) in a local folder, read without torchvision through an unpickler that only
  admits numpy arrays and plain containers.
* ``imagefolder``: ``ROOT/<class>/*.png|jpg`` (or ``ROOT/train/<class>`` + ``ROOT/test/<class>``),
  read with Pillow.
* ``digit-pairs``: two of those digits side by side on one canvas, labelled with their sum (19
  classes). A task that needs global context: no patch alone decides the label. Made in memory
  from the bundled digits, every split from its own source digits (a validation or test pair never
  shows a digit image that any training pair shows), ``synthetic_size`` pairs in all.
* ``synthetic``: class prototypes plus noise, deterministic; for tests.
* ``dvs128-gesture`` / ``cifar10-dvs`` / ``nmnist``: event-camera recordings in their published
  layouts, read with tonic and binned into frames (:mod:`evosnn.data.events`).
* ``digits-events``: two digits shown one after the other, as a DVS would see them, labelled by
  the first (:mod:`evosnn.data.digits_events`).

The split types and the tensor utilities (normalisation, augmentation, batch iteration) live in
:mod:`supernet.batches`; they are re-exported here for existing importers.

Validation is always carved out of the training data (seeded, stratified); the test split is the
data set's own test set where it has one, otherwise a seeded stratified hold-out. The search only
ever sees ``train`` and ``val``.

Example:
    >>> splits = load_splits(space.dataset)  # doctest: +SKIP
    >>> images, labels = next(iter_batches(splits.train, 64, shuffle=True))  # doctest: +SKIP
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import torch
import torch.nn.functional as F

from evosnn.core.errors import DataError
from evosnn.core.space import DatasetSpec
from evosnn.data.digits_events import digits_events
from evosnn.data.events import load_event_splits
from evosnn.data.splitting import digits, hold_out, resize, stratified
from supernet.batches import Split, Splits, augment, iter_batches, normalize

__all__ = [
    "FOLDER_DATASETS",
    "Split",
    "Splits",
    "augment",
    "check_data_root",
    "iter_batches",
    "load_splits",
    "normalize",
]

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


# ---------------------------------------------------------------------------------------- loading
#: The data sets read from a folder (``--data`` or ``dataset.root``); the others are made in memory.
FOLDER_DATASETS = frozenset(
    {"cifar10", "cifar100", "imagefolder", "dvs128-gesture", "cifar10-dvs", "nmnist"}
)


def load_splits(spec: DatasetSpec, *, root: str | Path | None = None) -> Splits:
    """Load the data set ``spec`` names; ``root`` overrides ``spec.root``.

    The split follows ``spec.split_seed`` only: a training seed never redraws it. Every split
    comes back non-empty (a training run divides by their sizes).

    Raises:
        DataError: the folder is missing or does not have the expected layout, ``root`` is given
            for a data set made in memory, or a split comes out empty.
    """
    check_data_root(spec, root)
    folder = Path(root) if root is not None else (Path(spec.root) if spec.root else None)
    splits = _load(spec, folder)
    _check_filled(splits, spec, folder if spec.name in FOLDER_DATASETS else None)
    return splits


def check_data_root(
    spec: DatasetSpec, root: str | Path | None, *, space: str | None = None
) -> None:
    """Refuse a data folder (``--data``, ``data_root``) for a data set that reads none.

    Such a folder would be silently ignored, so the user would not learn that their data is not
    what trains. Only ``spec`` is looked at (no file): a driver calls it before its Ray workers
    load the data. ``space`` names the search space in the message.

    Raises:
        DataError: ``root`` is given and ``spec`` names a data set made in memory.
    """
    if root is None or spec.name in FOLDER_DATASETS:
        return
    if space:
        what = (
            f"space {space!r} reads no data folder (its data set {spec.name!r} is made in memory)"
        )
    else:
        what = f"data set {spec.name!r} is made in memory and reads no data folder"
    raise DataError(f"--data {root}: {what}, so --data is not used there; leave it out")


def _load(spec: DatasetSpec, folder: Path | None) -> Splits:
    """The splits of ``spec``, read from ``folder`` where the data set reads one."""
    seed = spec.split_seed
    if spec.name == "digits-events":
        return digits_events(spec)
    if spec.name in ("dvs128-gesture", "cifar10-dvs", "nmnist"):
        return load_event_splits(spec, _need(folder, spec))
    if spec.name == "digit-pairs":
        return _with_stats(_digit_pairs(spec, seed))
    if spec.name == "digits":
        images, labels = digits()
        train_images, train_labels, test = hold_out(images, labels, spec.test_fraction, seed)
    elif spec.name == "synthetic":
        images, labels = _synthetic(spec, seed)
        train_images, train_labels, test = hold_out(images, labels, spec.test_fraction, seed)
    elif spec.name in ("cifar10", "cifar100"):
        train_images, train_labels, test_images, test_labels = _cifar(
            spec.name, _need(folder, spec)
        )
        test = Split(test_images, test_labels)
    else:
        base = _need(folder, spec)
        if (base / "train").is_dir() and (base / "test").is_dir():
            train_images, train_labels = _image_folder(base / "train", spec)
            test = Split(*_image_folder(base / "test", spec))
        else:
            images, labels = _image_folder(base, spec)
            train_images, train_labels, test = hold_out(images, labels, spec.test_fraction, seed)
    train_images = resize(train_images, spec.image_size)
    test = Split(resize(test.images, spec.image_size), test.labels)
    _check_shape(train_images, train_labels, spec)
    _check_shape(test.images, test.labels, spec)
    train_i, val_i = stratified(train_labels, spec.val_fraction, seed + 1)
    train = Split(train_images[train_i], train_labels[train_i])
    val = Split(train_images[val_i], train_labels[val_i])
    return _with_stats((train, val, test))


def _with_stats(splits: tuple[Split, Split, Split]) -> Splits:
    """The splits with the training split's per-channel mean and std."""
    train, val, test = splits
    x = train.images.float().div(255.0)
    mean = tuple(float(v) for v in x.mean(dim=(0, 2, 3)))
    std = tuple(max(float(v), 1e-3) for v in x.std(dim=(0, 2, 3)))
    return Splits(train=train, val=val, test=test, mean=mean, std=std)


def _need(folder: Path | None, spec: DatasetSpec) -> Path:
    if folder is None:
        raise DataError(f"data set {spec.name!r} needs a folder: give dataset.root or --data DIR")
    if folder.exists() and not folder.is_dir():
        raise DataError(
            f"data folder {folder} is a file, not a folder (--data or dataset.root names the "
            f"folder that holds data set {spec.name!r})"
        )
    if not folder.is_dir():
        raise DataError(f"data folder {folder} does not exist (data set {spec.name!r})")
    return folder


def _check_filled(splits: Splits, spec: DatasetSpec, folder: Path | None) -> None:
    """Refuse an empty split: training and validation divide by their sizes."""
    sizes = {"training": len(splits.train), "validation": len(splits.val), "test": len(splits.test)}
    empty = [name for name, n in sizes.items() if n == 0]
    if not empty:
        return
    where = f"data set {spec.name!r} in {folder}" if folder else f"data set {spec.name!r}"
    counts = ", ".join(f"{n} {name}" for name, n in sizes.items())
    raise DataError(
        f"{where}: the {' and '.join(empty)} split{'s are' if len(empty) > 1 else ' is'} empty "
        f"after loading ({counts}); give more data (a class lends an item to validation only "
        "when it has two) or raise dataset.val_fraction / test_fraction"
    )


def _check_shape(images: torch.Tensor, labels: torch.Tensor, spec: DatasetSpec) -> None:
    if images.shape[1] != spec.channels:
        raise DataError(
            f"data set {spec.name!r} has {images.shape[1]} channel(s), "
            f"the space says {spec.channels}"
        )
    if len(labels) and (int(labels.min()) < 0 or int(labels.max()) >= spec.num_classes):
        raise DataError(
            f"data set {spec.name!r} has labels outside 0..{spec.num_classes - 1} "
            f"(the space's num_classes)"
        )


def _digit_pairs(spec: DatasetSpec, seed: int) -> tuple[Split, Split, Split]:
    """Two digits side by side (each at a random height in its half), labelled with their sum.

    The source digits are split first (test, then validation, stratified and seeded as for
    ``digits``); each split's pairs are drawn from its own sources only, so no validation or test
    pair shares a digit image with a training pair. ``synthetic_size`` pairs are cut into the
    splits by the same fractions.
    """
    images, labels = digits()
    rest, test_src = stratified(labels, spec.test_fraction, seed)
    train_i, val_i = stratified(labels[rest], spec.val_fraction, seed + 1)
    sources = {"train": rest[train_i], "val": rest[val_i], "test": test_src}
    n_test = round(spec.synthetic_size * spec.test_fraction)
    n_val = round((spec.synthetic_size - n_test) * spec.val_fraction)
    counts = {"train": spec.synthetic_size - n_test - n_val, "val": n_val, "test": n_test}
    gen = torch.Generator().manual_seed(20_000 + seed)
    made = []
    for name in ("train", "val", "test"):
        pool, n = sources[name], counts[name]
        pick = pool[torch.randint(len(pool), (2, n), generator=gen)]
        rows = torch.randint(9, (2, n), generator=gen)
        canvas = torch.zeros(n, 1, 16, 16, dtype=torch.uint8)
        for i in range(n):
            for side in range(2):
                r = int(rows[side, i])
                canvas[i, 0, r : r + 8, 8 * side : 8 * side + 8] = images[pick[side, i], 0]
        made.append(Split(resize(canvas, spec.image_size), labels[pick[0]] + labels[pick[1]]))
    return made[0], made[1], made[2]


def _synthetic(spec: DatasetSpec, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-class smooth random prototypes plus pixel noise: learnable, and made in milliseconds."""
    gen = torch.Generator().manual_seed(10_000 + seed)
    size, c, k = spec.image_size, spec.channels, spec.num_classes
    coarse = torch.rand(k, c, 4, 4, generator=gen)
    protos = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.arange(spec.synthetic_size) % k
    noise = 0.25 * torch.randn(spec.synthetic_size, c, size, size, generator=gen)
    images = (protos[labels] + noise).clamp(0, 1).mul(255).round().to(torch.uint8)
    return images, labels


class _NumpyOnlyUnpickler(pickle.Unpickler):
    """Admits only what the CIFAR pickles hold: dicts, lists, bytes, str and numpy arrays."""

    _ALLOWED: ClassVar[frozenset[tuple[str, str]]] = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name}")


def _read_pickle(path: Path) -> dict[Any, Any]:
    if not path.is_file():
        raise DataError(f"expected the CIFAR file {path} (standard python-pickle release)")
    try:
        data = _NumpyOnlyUnpickler(io.BytesIO(path.read_bytes()), encoding="bytes").load()
    except Exception as exc:
        raise DataError(f"{path}: not a readable CIFAR pickle ({exc})") from exc
    if not isinstance(data, dict):
        raise DataError(f"{path}: not a CIFAR pickle (expected a dict)")
    return {k.decode() if isinstance(k, bytes) else k: v for k, v in data.items()}


def _cifar_arrays(path: Path, label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    data = _read_pickle(path)
    if "data" not in data or label_key not in data:
        raise DataError(f"{path}: missing 'data' or '{label_key}' (not a CIFAR batch)")
    pixels = np.asarray(data["data"])
    labels = np.asarray(data[label_key])
    if pixels.ndim != 2 or pixels.shape[1] != 3072 or len(labels) != len(pixels):
        raise DataError(f"{path}: expected N x 3072 pixels and N labels, got {pixels.shape}")
    images = torch.from_numpy(pixels.astype(np.uint8)).view(-1, 3, 32, 32)
    return images, torch.as_tensor(labels.astype(np.int64))


def _cifar(
    name: str, folder: Path
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    sub = "cifar-10-batches-py" if name == "cifar10" else "cifar-100-python"
    base = folder / sub if (folder / sub).is_dir() else folder
    if name == "cifar10":
        parts = [_cifar_arrays(base / f"data_batch_{i}", "labels") for i in range(1, 6)]
        train_x = torch.cat([p[0] for p in parts])
        train_y = torch.cat([p[1] for p in parts])
        test_x, test_y = _cifar_arrays(base / "test_batch", "labels")
    else:
        train_x, train_y = _cifar_arrays(base / "train", "fine_labels")
        test_x, test_y = _cifar_arrays(base / "test", "fine_labels")
    return train_x, train_y, test_x, test_y


def _image_folder(folder: Path, spec: DatasetSpec) -> tuple[torch.Tensor, torch.Tensor]:
    from PIL import Image, UnidentifiedImageError

    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DataError(
            f"image folder {folder} has no class sub-folders (expected {folder}/<class>/*.png)"
        )
    if len(classes) != spec.num_classes:
        raise DataError(
            f"image folder {folder} has {len(classes)} class folders, the space says "
            f"{spec.num_classes}"
        )
    mode = {1: "L", 3: "RGB"}.get(spec.channels)
    if mode is None:
        raise DataError(f"image folders support 1 or 3 channels, the space says {spec.channels}")
    images, labels = [], []
    for label, cls in enumerate(classes):
        files = sorted(p for p in (folder / cls).iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES)
        if not files:
            raise DataError(f"class folder {folder / cls} holds no images")
        for file in files:
            try:
                with Image.open(file) as opened:
                    img = opened.convert(mode).resize((spec.image_size, spec.image_size))
                    array = np.asarray(img, dtype=np.uint8)
            except (UnidentifiedImageError, OSError) as exc:
                raise DataError(f"{file}: not a readable image ({exc.__class__.__name__})") from exc
            images.append(array.reshape(spec.image_size, spec.image_size, spec.channels))
            labels.append(label)
    stacked = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return stacked, torch.tensor(labels, dtype=torch.int64)
