from __future__ import annotations

import inspect
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from evosnn.core.errors import DataError
from evosnn.core.space import DatasetSpec, SearchSpace, load_space
from evosnn.data.loading import check_data_root, load_splits
from supernet.batches import augment, iter_batches, normalize
from tests.conftest import tiny_dict


def test_digits_splits_are_deterministic_disjoint_and_stratified() -> None:
    spec = DatasetSpec(name="digits", image_size=16, channels=1, num_classes=10)
    a = load_splits(spec)
    b = load_splits(spec)
    assert torch.equal(a.val.images, b.val.images) and torch.equal(a.test.labels, b.test.labels)
    assert len(a.train) + len(a.val) + len(a.test) == 1797
    assert a.train.images.shape[1:] == (1, 16, 16) and a.train.images.dtype == torch.uint8
    assert len(a.test) == pytest.approx(0.2 * 1797, abs=10)
    assert torch.bincount(a.val.labels, minlength=10).min() >= 20
    c = load_splits(spec.model_copy(update={"split_seed": 1}))
    assert not torch.equal(a.val.labels, c.val.labels) or not torch.equal(
        a.val.images, c.val.images
    )


PAIRS = DatasetSpec(
    name="digit-pairs",
    image_size=16,
    channels=1,
    num_classes=19,
    synthetic_size=1000,
    val_fraction=0.25,
)


def _digit_images(split: Any, spec: DatasetSpec) -> set[bytes]:
    """The digit images a split shows: whole images, or each half of a pair trimmed to its rows."""
    if spec.name == "digits":
        return {bytes(img.numpy()) for img in split.images}
    out = set()
    for img in split.images[:, 0]:
        for side in range(2):
            half = img[:, 8 * side : 8 * side + 8]
            rows = torch.nonzero(half.sum(dim=1)).flatten()
            out.add(bytes(half[int(rows[0]) : int(rows[-1]) + 1].numpy()))
    return out


def test_digit_pairs_are_deterministic_labelled_with_their_sum_and_sized_by_the_spec() -> None:
    a, b = load_splits(PAIRS), load_splits(PAIRS)
    assert torch.equal(a.train.images, b.train.images) and torch.equal(a.val.labels, b.val.labels)
    assert (len(a.train), len(a.val), len(a.test)) == (600, 200, 200)
    assert a.train.images.shape[1:] == (1, 16, 16) and a.train.images.dtype == torch.uint8
    assert int(a.train.labels.min()) >= 0 and int(a.train.labels.max()) <= 18
    assert len(torch.unique(a.train.labels)) >= 15  # sums spread over the 19 classes
    # The label is the sum of the two digits: an all-blank half would make it unreadable.
    halves = a.train.images[:, 0].view(-1, 16, 2, 8).sum(dim=(1, 3))
    assert bool((halves > 0).all())
    c = load_splits(PAIRS.model_copy(update={"split_seed": 1}))
    assert not torch.equal(a.val.images, c.val.images)
    with pytest.raises(ValueError, match="19 classes"):
        DatasetSpec(name="digit-pairs", image_size=16, channels=1, num_classes=10)


@pytest.mark.parametrize(
    "spec",
    [DatasetSpec(name="digits", image_size=16, channels=1, num_classes=10), PAIRS],
    ids=["digits", "digit-pairs"],
)
def test_no_training_seed_can_show_training_a_validation_or_test_image(spec: DatasetSpec) -> None:
    """The split is a function of the space alone, and its parts share no digit image.

    Every command (supernet training, the search's evaluator, export, retraining, rank-check)
    reads its data through ``load_splits(space.dataset)``, which takes no seed: whatever a
    command's ``--seed`` or torch's global generator, training sees the same images, and none of
    the validation or test images.
    """
    assert set(inspect.signature(load_splits).parameters) == {"spec", "root"}
    torch.manual_seed(1)
    a = load_splits(spec)
    torch.manual_seed(2)
    b = load_splits(spec)
    for part in ("train", "val", "test"):
        assert torch.equal(getattr(a, part).images, getattr(b, part).images)
    train, val, test = (_digit_images(getattr(a, part), spec) for part in ("train", "val", "test"))
    assert len(val) > 100 and len(test) > 100
    assert train.isdisjoint(val) and train.isdisjoint(test) and val.isdisjoint(test)


def test_batches_and_normalisation() -> None:
    spec = DatasetSpec(
        name="synthetic", image_size=8, channels=3, num_classes=4, synthetic_size=100
    )
    splits = load_splits(spec)
    batches = list(iter_batches(splits.train, 16))
    assert sum(len(y) for _, y in batches) == len(splits.train)
    x = normalize(splits.train.images, splits.mean, splits.std)
    assert x.dtype == torch.float32
    assert x.mean(dim=(0, 2, 3)).abs().max() < 1e-4
    gen = torch.Generator().manual_seed(0)
    out = augment(splits.train.images[:8], shift=2, flip=True, generator=gen)
    assert out.shape == (8, 3, 8, 8) and out.dtype == torch.uint8


def _write_cifar10(root: Path, n: int = 20) -> Path:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [*(f"data_batch_{i}" for i in range(1, 6)), "test_batch"]:
        batch = {
            b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            b"labels": [int(v) for v in rng.integers(0, 10, size=n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    return root


def test_cifar10_python_pickle_layout(tmp_path: Path) -> None:
    root = _write_cifar10(tmp_path)
    spec = DatasetSpec(name="cifar10", image_size=32, channels=3, num_classes=10, val_fraction=0.1)
    splits = load_splits(spec, root=root)
    assert len(splits.train) + len(splits.val) == 100
    assert len(splits.test) == 20
    assert splits.train.images.shape[1:] == (3, 32, 32)


def test_cifar100_layout(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, n in (("train", 300), ("test", 50)):
        batch = {
            b"data": rng.integers(0, 256, size=(n, 3072), dtype=np.uint8),
            b"fine_labels": [i % 100 for i in range(n)],
        }
        (folder / name).write_bytes(pickle.dumps(batch))
    spec = DatasetSpec(name="cifar100", image_size=32, channels=3, num_classes=100)
    splits = load_splits(spec, root=tmp_path)
    assert len(splits.test) == 50 and int(splits.train.labels.max()) <= 99


class _Evil:
    def __reduce__(self) -> Any:
        return (os.system, ("echo pwned",))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda root: (root / "cifar-10-batches-py" / "data_batch_3").unlink(), "data_batch_3"),
        (
            lambda root: (root / "cifar-10-batches-py" / "test_batch").write_bytes(b"\x80garbage"),
            "test_batch",
        ),
        (
            lambda root: (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(
                pickle.dumps({b"data": _Evil(), b"labels": []})
            ),
            "refusing to load",
        ),
        (
            lambda root: (root / "cifar-10-batches-py" / "data_batch_2").write_bytes(
                pickle.dumps({b"data": np.zeros((2, 10), np.uint8), b"labels": [0, 1]})
            ),
            "3072",
        ),
    ],
    ids=["missing file", "corrupt file", "pickled object", "wrong shape"],
)
def test_damaged_cifar_folder_is_a_clear_error(tmp_path: Path, damage: Any, message: str) -> None:
    root = _write_cifar10(tmp_path)
    damage(root)
    spec = DatasetSpec(name="cifar10", image_size=32, channels=3, num_classes=10)
    with pytest.raises(DataError, match=message):
        load_splits(spec, root=root)


def test_missing_folder(tmp_path: Path) -> None:
    spec = DatasetSpec(name="cifar10", image_size=32, channels=3, num_classes=10)
    with pytest.raises(DataError, match="does not exist"):
        load_splits(spec, root=tmp_path / "nope")
    with pytest.raises(DataError, match="needs a folder"):
        load_splits(spec)


def _write_image_folder(root: Path, classes: int = 3, per_class: int = 6) -> None:
    rng = np.random.default_rng(0)
    for c in range(classes):
        (root / f"class{c}").mkdir(parents=True)
        for i in range(per_class):
            pixels = rng.integers(0, 256, size=(10, 12, 3), dtype=np.uint8)
            Image.fromarray(pixels).save(root / f"class{c}" / f"{i}.png")


def test_image_folder(tmp_path: Path) -> None:
    _write_image_folder(tmp_path)
    spec = DatasetSpec(
        name="imagefolder", image_size=8, channels=3, num_classes=3, test_fraction=0.2
    )
    splits = load_splits(spec, root=tmp_path)
    assert len(splits.train) + len(splits.val) + len(splits.test) == 18
    assert splits.train.images.shape[1:] == (3, 8, 8)


def test_image_folder_errors(tmp_path: Path) -> None:
    _write_image_folder(tmp_path)
    spec = DatasetSpec(name="imagefolder", image_size=8, channels=3, num_classes=4)
    with pytest.raises(DataError, match="3 class folders, the space says 4"):
        load_splits(spec, root=tmp_path)
    (tmp_path / "class1" / "2.png").write_bytes(b"not a png")
    spec = DatasetSpec(name="imagefolder", image_size=8, channels=3, num_classes=3)
    with pytest.raises(DataError, match=r"2\.png: not a readable image"):
        load_splits(spec, root=tmp_path)


def test_a_data_path_naming_a_file_says_it_is_a_file(tmp_path: Path) -> None:
    spec = DatasetSpec(name="cifar10", image_size=32, channels=3, num_classes=10)
    file = tmp_path / "cifar-10-python.tar.gz"
    file.write_bytes(b"\x1f\x8b not unpacked")
    with pytest.raises(DataError) as caught:
        load_splits(spec, root=file)
    assert str(caught.value).startswith(f"data folder {file} is a file, not a folder")


@pytest.mark.parametrize("space", ["digits-tiny", "digit-pairs-tiny", "digits-events-tiny", "tiny"])
def test_a_data_folder_for_a_data_set_made_in_memory_is_refused(tmp_path: Path, space: str) -> None:
    """``--data`` with such a space used to be silently ignored: the user would train on other
    data than they believe."""
    tiny = SearchSpace.from_dict(tiny_dict())
    spec = (tiny if space == "tiny" else load_space(space)).dataset
    with pytest.raises(DataError) as caught:
        load_splits(spec, root=tmp_path)
    assert str(caught.value) == (
        f"--data {tmp_path}: data set {spec.name!r} is made in memory and reads no data folder, "
        "so --data is not used there; leave it out"
    )
    with pytest.raises(DataError, match=f"space 'demo' reads no data folder .*{spec.name}"):
        check_data_root(spec, tmp_path, space="demo")
    check_data_root(spec, None, space="demo")  # no folder given: nothing to refuse


@pytest.mark.ray  # each driver would start Ray were --data not refused first
def test_the_drivers_refuse_an_unused_data_folder_before_any_work(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    """Where the data is loaded in Ray workers, or after a run folder, study or export folder is
    written, the folder is refused first, in the driver, naming the space."""
    from evosnn.api import run_search, train_supernet
    from evosnn.proxy.check import RankCheckSettings, rank_check
    from evosnn.reporting.export import export_study, load_export
    from evosnn.training.tune import TuneSettings, tune_retrain
    from supernet.recipe import TrainSettings
    from tests.studies import searched_tiny_study

    space = SearchSpace.from_dict(tiny_dict(), source="tiny")
    data = tmp_path / "data"
    refused = "space 'tiny-synthetic' reads no data folder"
    with pytest.raises(DataError, match=refused):
        train_supernet(space, tmp_path / "run", data_root=data, workers=2)
    storage = f"sqlite:///{tmp_path / 'other.db'}"
    with pytest.raises(DataError, match=refused):
        run_search(space, tiny_checkpoint, storage=storage, data_root=str(data), workers=2)
    with pytest.raises(DataError, match=refused):
        rank_check(tiny_checkpoint, tmp_path / "check", RankCheckSettings(), data_root=data)
    url = searched_tiny_study(tmp_path, tiny_checkpoint)
    with pytest.raises(DataError, match=refused):
        export_study(url, "tiny", tmp_path / "refused", pick="knee", data_root=data)
    exported = load_export(export_study(url, "tiny", tmp_path / "export", pick="knee")[0])
    with pytest.raises(DataError, match=refused):
        tune_retrain(
            [exported], tmp_path / "tuned", TrainSettings(), TuneSettings(), data_root=data
        )
    for written in ("run", "other.db", "check", "refused", "tuned"):
        assert not (tmp_path / written).exists(), written


def test_an_empty_split_is_refused_for_every_kind_of_data_set(tmp_path: Path) -> None:
    """A split without items would divide by zero after an epoch of training."""
    pairs = PAIRS.model_copy(update={"synthetic_size": 20, "val_fraction": 0.01})
    with pytest.raises(DataError) as caught:
        load_splits(pairs)
    assert str(caught.value).startswith(
        "data set 'digit-pairs': the validation split is empty after loading "
        "(16 training, 0 validation, 4 test)"
    )
    _write_image_folder(tmp_path, per_class=1)
    spec = DatasetSpec(name="imagefolder", image_size=8, channels=3, num_classes=3)
    with pytest.raises(DataError) as caught:
        load_splits(spec, root=tmp_path)
    assert str(caught.value).startswith(
        f"data set 'imagefolder' in {tmp_path}: the validation and test splits are empty"
    )
