from __future__ import annotations

import logging
import os
import random
import re
from pathlib import Path
from typing import TYPE_CHECKING, Literal, TypedDict

import numpy as np
import pytest
import torch

from evosnn.core.errors import DataError, SpaceError
from evosnn.core.space import DatasetSpec, SearchSpace, load_space
from evosnn.data.event_files import CIFAR10_CLASSES
from evosnn.data.events import bin_events
from evosnn.data.loading import load_splits
from supernet.batches import augment, normalize
from tests.evaluate.event_writers import stream, write_aedat2, write_gesture, write_nmnist

if TYPE_CHECKING:
    from typing_extensions import Unpack

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


@pytest.fixture(autouse=True)
def _cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVOSNN_FRAME_CACHE", str(tmp_path / "cache"))


class _Split(TypedDict, total=False):
    """The split shares a test may set; the others keep :class:`DatasetSpec`'s defaults."""

    val_fraction: float
    test_fraction: float


def spec(
    name: Literal["nmnist", "dvs128-gesture", "cifar10-dvs"], classes: int, **extra: Unpack[_Split]
) -> DatasetSpec:
    return DatasetSpec(
        name=name, image_size=16, channels=2, num_classes=classes, frames=[2, 4], **extra
    )


def make_nmnist(root: Path, per_class: int = 3) -> None:
    for sub, n in (("Train", per_class), ("Test", 1)):
        for digit in range(10):
            for i in range(n):
                write_nmnist(
                    root / "NMNIST" / sub / str(digit) / f"{i:05d}.bin", *stream(i + digit, 50, 34)
                )


def test_nmnist_keeps_its_own_test_split_and_bins_every_frame_count(tmp_path: Path) -> None:
    make_nmnist(tmp_path)
    splits = load_splits(spec("nmnist", 10, val_fraction=0.34), root=tmp_path)
    assert len(splits.test) == 10 and len(splits.train) + len(splits.val) == 30
    assert len(splits.val) == 10  # one of every class's three training recordings
    assert (
        splits.train.images.shape[1:] == (6, 2, 16, 16) and splits.train.images.dtype == torch.uint8
    )
    bank = splits.test.images.int()
    # every event lands in one frame of each binning: the T=2 and T=4 parts both hold all 50
    assert bank[:, :2].sum(dim=(1, 2, 3, 4)).tolist() == [50] * 10
    assert bank[:, 2:].sum(dim=(1, 2, 3, 4)).tolist() == [50] * 10
    assert sorted(splits.test.labels.tolist()) == list(range(10))
    # the network reads raw event counts
    assert torch.equal(normalize(splits.test.images, splits.mean, splits.std), bank.float())


def test_dvs_gesture_reads_labels_from_file_names(tmp_path: Path) -> None:
    base = tmp_path / "DVSGesture"
    for sub, users in (("ibmGestureTrain", (1, 2, 3)), ("ibmGestureTest", (24,))):
        for user in users:
            for label in range(11):
                x, y, t, p = stream(user * 100 + label, 40, 128)
                write_gesture(
                    base / sub / f"user{user:02d}_led" / f"{label}.npy", x, y, t // 1000, p
                )
    splits = load_splits(spec("dvs128-gesture", 11), root=tmp_path)
    assert len(splits.test) == 11 and len(splits.train) + len(splits.val) == 33
    assert sorted(splits.test.labels.tolist()) == list(range(11))
    assert splits.test.images[:, :2].int().sum(dim=(1, 2, 3, 4)).tolist() == [40] * 11


def test_cifar10_dvs_is_split_per_class_in_file_order_and_oriented_as_spikingjelly(
    tmp_path: Path,
) -> None:
    for label, cls in enumerate(CIFAR10_CLASSES):
        for i in range(10):
            n = 30 + label  # tells the recordings apart
            x, y, t, p = stream(label * 10 + i, n, 128)
            if i == 9:  # the last file of every class: one ON event at raw (x=8, y=24)
                x, y, t, p = np.array([8]), np.array([24]), np.array([5]), np.array([0])
            write_aedat2(tmp_path / cls / f"cifar10_{cls}_{i}.aedat", x, y, t, p)
    data = spec("cifar10-dvs", 10, test_fraction=0.1, val_fraction=0.12)
    splits = load_splits(data, root=tmp_path)
    assert len(splits.test) == 10 and len(splits.train) == 80 and len(splits.val) == 10
    one = splits.test.images[0].int()  # file 9 of class 0, binned at 16x16 from 128x128
    assert one.sum() == 2  # one event, in the T=2 part and in the T=4 part
    # spikingjelly's reading: x = 127 - y_raw, y = 127 - x_raw, p = 1 - p_raw (ON here)
    assert one[0, 1, (127 - 8) * 16 // 128, (127 - 24) * 16 // 128] == 1
    # file order, not a random draw: the train split never holds a one-event recording
    assert int(splits.train.images.int().sum(dim=(1, 2, 3, 4)).min()) > 2


def test_a_missing_or_incomplete_folder_is_one_error_naming_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="does not exist"):
        load_splits(spec("nmnist", 10), root=tmp_path / "nowhere")
    (tmp_path / "NMNIST" / "Train").mkdir(parents=True)
    with pytest.raises(DataError, match="missing folder\\(s\\) Test"):
        load_splits(spec("nmnist", 10), root=tmp_path)
    make_nmnist(tmp_path, per_class=1)
    for f in (tmp_path / "NMNIST" / "Test" / "7").iterdir():
        f.unlink()
    with pytest.raises(DataError, match=r"Test/7: missing or holds no \.bin"):
        load_splits(spec("nmnist", 10), root=tmp_path)
    (tmp_path / "airplane").mkdir()
    with pytest.raises(DataError, match=r"missing folder\(s\) automobile, bird, cat"):
        load_splits(spec("cifar10-dvs", 10), root=tmp_path)
    for cls in CIFAR10_CLASSES:
        if cls != "bird":
            write_aedat2(tmp_path / cls / "cifar10_0.aedat", *stream(0, 5, 128))
    (tmp_path / "bird").mkdir()
    with pytest.raises(DataError, match=r"bird: holds no \.aedat recordings"):
        load_splits(spec("cifar10-dvs", 10), root=tmp_path)
    with pytest.raises(DataError, match="ibmGestureTrain"):
        load_splits(spec("dvs128-gesture", 11), root=tmp_path)


def test_frames_are_cached_and_a_stale_cache_is_binned_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    make_nmnist(tmp_path, per_class=2)
    data = spec("nmnist", 10)
    caplog.set_level(logging.INFO, logger="evosnn.data")
    first = load_splits(data, root=tmp_path)
    assert "binned 30 nmnist recordings" in caplog.text
    assert len(list((tmp_path / "cache").glob("nmnist-*.pt"))) == 1
    caplog.clear()
    again = load_splits(data, root=tmp_path)
    assert "frames loaded from the cache" in caplog.text and "binned" not in caplog.text
    assert torch.equal(first.test.images, again.test.images)
    # another binning is another cache entry
    load_splits(data.model_copy(update={"binning": "time"}), root=tmp_path)
    assert len(list((tmp_path / "cache").glob("nmnist-*.pt"))) == 2
    # a recording changes: the cache is stale, and the new events are binned
    changed = tmp_path / "NMNIST" / "Test" / "0" / "00000.bin"
    write_nmnist(changed, *stream(99, 20, 34))
    os.utime(changed, ns=(1, 1))
    caplog.clear()
    fresh = load_splits(data, root=tmp_path)
    assert "stale" in caplog.text and "binned 30 nmnist recordings" in caplog.text
    assert fresh.test.images[0, :2].int().sum() == 20


def test_binning_by_event_count_and_by_time() -> None:
    events = np.zeros(4, dtype=[("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)])
    events["t"] = [0, 10, 20, 1000]
    events["x"] = [0, 1, 2, 3]
    events["p"] = [1, 1, 0, 0]
    by_count = bin_events(events, sensor=4, size=4, frames=[2], binning="count")
    by_time = bin_events(events, sensor=4, size=4, frames=[2], binning="time")
    assert by_count.reshape(2, -1).sum(1).tolist() == [2, 2]
    assert by_time.reshape(2, -1).sum(1).tolist() == [3, 1]
    assert by_count[0, 1, 0, 0] == 1 and by_count[1, 0, 0, 3] == 1  # [frame, polarity, y, x]
    down = bin_events(events, sensor=4, size=2, frames=[1], binning="count")
    assert down[0, 1, 0, 0] == 2  # x = 0 and 1 fall into one downsampled pixel


def test_digits_events_collapse_to_one_frame_for_every_clip_but_not_in_time() -> None:
    from evosnn.data.digits_events import digit_events

    rng = np.random.default_rng(0)
    a, b, c = (rng.integers(0, 17, (8, 8)) for _ in range(3))

    def bank(first: np.ndarray, second: np.ndarray) -> np.ndarray:
        ev = digit_events(first, second, rng=np.random.default_rng(1), noise=0.0)
        return bin_events(ev, sensor=8, size=8, frames=[1, 4], binning="time")

    ab, ba, cb = bank(a, b), bank(b, a), bank(c, b)
    # T=1, the time-collapsed recording: the same for every clip (8 events each way per pixel)
    assert np.array_equal(ab[0], ba[0]) and np.array_equal(ab[0], cb[0])
    assert np.all(ab[0] == 8)
    # T=4: the first frame alone shows the first digit (its level in contrast steps), ON and OFF;
    # the second digit only ever as ON events without OFF ones, or against a uniform OFF frame
    level, other = np.floor(a / 4.0 + 0.5), np.floor(b / 4.0 + 0.5)
    assert np.array_equal(ab[1, 1], level) and np.array_equal(ab[1, 0], level)
    assert np.array_equal(ab[2, 1], other) and not ab[2, 0].any()
    assert np.array_equal(ab[3, 1], 4 - other) and np.all(ab[3, 0] == 4)
    assert np.array_equal(ab[4, 1], 4 - level) and np.array_equal(ab[4, 0], 4 - level)
    assert not np.array_equal(ab[1], ba[1])
    space = load_space(SPACES / "digits-events-tiny.yaml")
    small = space.dataset.model_copy(update={"synthetic_size": 100})
    one, two = load_splits(small), load_splits(small)
    assert torch.equal(one.train.images, two.train.images)
    assert one.train.images.shape[1:] == (12, 2, 16, 16)
    assert len(one.train) + len(one.val) + len(one.test) == 100


def test_event_augmentation_moves_every_frame_of_a_clip_together() -> None:
    clip = torch.zeros(3, 5, 2, 8, 8, dtype=torch.uint8)
    clip[:, :, :, 4, 4] = 1
    out = augment(clip, shift=2, flip=True, generator=torch.Generator().manual_seed(0))
    assert out.shape == clip.shape
    for i in range(3):
        where = {
            tuple(torch.nonzero(out[i, f, c]).flatten().tolist())
            for f in range(5)
            for c in range(2)
        }
        assert len(where) == 1  # the same translation/flip for all frames and both polarities


def test_event_spaces_bin_their_time_steps_and_check_the_geometry() -> None:
    space = load_space(SPACES / "cifar10-dvs-spikformer.yaml")
    assert space.dataset.frames == [8, 12, 16] and space.dataset.event_input
    assert not load_space(SPACES / "digits-tiny.yaml").dataset.event_input
    data = space.to_dict()
    assert SearchSpace.from_dict(data).to_dict() == data
    old = load_space(SPACES / "digits-tiny.yaml").to_dict()
    assert "binning" not in old["dataset"] and "sps_pools" not in old["supernet"]
    wrong = {**data, "dataset": {**data["dataset"], "frames": [8, 16]}}
    with pytest.raises(SpaceError, match=r"choices.time_steps: \[12\] not among dataset.frames"):
        SearchSpace.from_dict(wrong)
    coarse = {**data, "dataset": {**data["dataset"], "image_size": 40}}
    with pytest.raises(SpaceError, match="divisible by 16"):
        SearchSpace.from_dict(coarse)
    with pytest.raises(SpaceError, match="only event data sets"):
        SearchSpace.from_dict({**old, "dataset": {**old["dataset"], "frames": [4]}})


def test_reading_events_never_imports_torchvision() -> None:
    import subprocess
    import sys

    code = (
        "import sys, evosnn.data.event_files as f, tonic.datasets, tonic.io;"
        "print('tonic.io' in sys.modules, sorted(m for m in sys.modules if 'torchvision' in m))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout) == (0, "True []\n"), done.stderr[-2000:]


def make_gesture(root: Path, users: tuple[int, ...] = (1, 2)) -> Path:
    """A DVS128 Gesture folder: every label once per training user, once for test user 24."""
    base = root / "DVSGesture"
    for sub, subjects in (("ibmGestureTrain", users), ("ibmGestureTest", (24,))):
        for user in subjects:
            for label in range(11):
                x, y, t, p = stream(user * 100 + label, 40, 128)
                write_gesture(
                    base / sub / f"user{user:02d}_led" / f"{label}.npy", x, y, t // 1000, p
                )
    return base / "ibmGestureTrain" / "user01_led" / "3.npy"


def make_cifar10_dvs(root: Path, per_class: int = 3) -> Path:
    """A CIFAR10-DVS folder of ``per_class`` recordings a class; returns one of bird's files."""
    for label, cls in enumerate(CIFAR10_CLASSES):
        for i in range(per_class):
            write_aedat2(root / cls / f"{cls}_{i}.aedat", *stream(label * 10 + i, 30, 128))
    return root / "bird" / "bird_0.aedat"


def test_a_recording_without_events_is_refused_naming_the_file(tmp_path: Path) -> None:
    """An empty recording would bin to blank frames (and, alone in its class, leave validation
    empty); each format says which file holds nothing."""
    aedat = make_cifar10_dvs(tmp_path / "c10")
    aedat.write_bytes(b"#!AER-DAT2.0\r\n# This is a raw AE data file\r\n")
    with pytest.raises(
        DataError, match=re.escape(f"{aedat}: holds only an AEDAT header, no events")
    ):
        load_splits(spec("cifar10-dvs", 10), root=tmp_path / "c10")
    gesture = make_gesture(tmp_path / "gesture")
    np.save(gesture, np.zeros((0, 4)))
    with pytest.raises(DataError, match=re.escape(f"{gesture}: holds no events")):
        load_splits(spec("dvs128-gesture", 11), root=tmp_path / "gesture")
    make_nmnist(tmp_path / "nmnist", per_class=1)
    empty = tmp_path / "nmnist" / "NMNIST" / "Train" / "4" / "00000.bin"
    empty.write_bytes(b"")
    with pytest.raises(DataError, match=re.escape(f"{empty}: empty file, no events")):
        load_splits(spec("nmnist", 10), root=tmp_path / "nmnist")


@pytest.mark.parametrize(
    ("name", "data", "says"),
    [
        ("random", random.Random(0).randbytes(512), "not an AEDAT recording"),
        ("empty", b"", "empty file, not an AEDAT 2 recording"),
        ("version 3", b"#!AER-DAT3.1\r\n" + bytes(16), "AEDAT version 3.1, expected 2.0"),
    ],
)
def test_a_damaged_aedat_file_is_one_error_naming_it(
    tmp_path: Path, name: str, data: bytes, says: str
) -> None:
    damaged = make_cifar10_dvs(tmp_path)
    damaged.write_bytes(data)
    with pytest.raises(DataError) as caught:
        load_splits(spec("cifar10-dvs", 10), root=tmp_path)
    assert str(caught.value).startswith(f"{damaged}: {says}"), name


@pytest.mark.parametrize("damage", ["random bytes", "empty", "object array", "one column"])
def test_a_damaged_gesture_array_is_one_error_naming_it_never_advising_pickle(
    tmp_path: Path, damage: str
) -> None:
    damaged = make_gesture(tmp_path)
    if damage == "random bytes":
        damaged.write_bytes(random.Random(0).randbytes(512))
        says = "not a readable NumPy array (no valid .npy header)"
    elif damage == "empty":
        damaged.write_bytes(b"")
        says = "not a readable NumPy array (empty file)"
    elif damage == "object array":
        np.save(damaged, np.array([{"x": 1}], dtype=object), allow_pickle=True)
        says = "a NumPy array of shape (1,) and dtype object, expected numbers of shape N x 4"
    else:
        np.save(damaged, np.arange(10.0))
        says = "a NumPy array of shape (10,) and dtype float64, expected numbers of shape N x 4"
    with pytest.raises(DataError) as caught:
        load_splits(spec("dvs128-gesture", 11), root=tmp_path)
    assert str(caught.value).startswith(f"{damaged}: {says}")
    assert "allow_pickle" not in str(caught.value)


def test_a_truncated_nmnist_file_is_named(tmp_path: Path) -> None:
    make_nmnist(tmp_path, per_class=1)
    cut = tmp_path / "NMNIST" / "Test" / "2" / "00000.bin"
    cut.write_bytes(cut.read_bytes()[:-2])
    with pytest.raises(
        DataError, match=re.escape(f"{cut}: 248 bytes, not a whole number of 5-byte")
    ):
        load_splits(spec("nmnist", 10), root=tmp_path)


def test_an_empty_split_is_refused_naming_it_and_the_folder(tmp_path: Path) -> None:
    """One recording a class leaves nothing to hold out: refused at loading, not a division by
    zero after the first training epoch."""
    make_gesture(tmp_path / "gesture", users=(1,))
    with pytest.raises(DataError) as caught:
        load_splits(spec("dvs128-gesture", 11), root=tmp_path / "gesture")
    assert str(caught.value).startswith(
        f"data set 'dvs128-gesture' in {tmp_path / 'gesture'}: the validation split is empty "
        "after loading (11 training, 0 validation, 11 test)"
    )
    make_cifar10_dvs(tmp_path / "c10", per_class=1)
    with pytest.raises(DataError, match="the validation and test splits are empty"):
        load_splits(spec("cifar10-dvs", 10), root=tmp_path / "c10")
