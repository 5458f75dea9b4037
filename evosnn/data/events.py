"""Event-camera data as frame banks: binning, caching and the train/validation/test splits.

A recording (events ``x, y, t, p``, read with tonic) is binned into T frames of two polarity
channels (:func:`bin_events`, spikingjelly's definitions), once for every T of ``dataset.frames``, into equal numbers of events
(``binning: count``) or equal spans of time (``binning: time``). The frames of all T are stored one
after the other, a *frame bank* ``[S, 2, H, W]`` with ``S = sum(frames)``, as uint8 event counts
(saturating at 255); the model picks the T frames of a subnet's time steps
(:func:`supernet.ops.select_frames`). ``image_size`` below the sensor's side downsamples by
summing the events of neighbouring pixels (coordinates scaled down before binning).

The splits' normalisation is the identity on counts (mean 0, std 1/255): the network reads event
counts, as Spikformer's event models do.

Splits: the data set's own train/test where it has one (N-MNIST, DVS128 Gesture); CIFAR10-DVS has
none, so the first ``1 - test_fraction`` of every class in file-name order is train and the rest
test (Spikformer's code: 9:1 via spikingjelly's ``split_to_train_test_set``); fixed by the space.
Validation is carved from train, stratified, by ``split_seed``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from evosnn.core.errors import DataError
from evosnn.core.space import DatasetSpec
from evosnn.data.event_files import Recording, find_recordings, read_events, sensor_side
from evosnn.data.frame_cache import cache_dir, load_frames, save_frames, source_manifest
from evosnn.data.splitting import stratified
from supernet.batches import Split, Splits

__all__ = ["EVENT_STATS", "bin_events", "event_splits", "load_event_splits"]

log = logging.getLogger(__name__)

#: Mean and std that make :func:`supernet.batches.normalize` hand the network raw event counts.
EVENT_STATS = ((0.0, 0.0), (1.0 / 255.0, 1.0 / 255.0))


def bin_events(
    events: np.ndarray, *, sensor: int, size: int, frames: list[int], binning: str
) -> np.ndarray:
    """A frame bank ``[sum(frames), 2, size, size]`` (uint8 counts) of one recording.

    The frames follow spikingjelly's ``integrate_events_by_fixed_frames_number`` (Spikformer's
    event recipe): ``count`` cuts the events (in time order) into T runs of ``N // T`` events, the
    last run taking the remainder; ``time`` cuts the span from the first to the last event into
    T equal intervals, the last one closed. Every event lands in exactly one frame of every T
    (tonic's own count binning drops the remainder, hence this function).

    Args:
        events: structured array with integer fields ``x, y, t, p`` (``p`` 0 or 1).
        sensor: the sensor's side in pixels; ``size`` must not exceed it.
        frames: the frame counts T to bin into, ascending.
        binning: ``count`` (equal numbers of events per frame) or ``time`` (equal time spans).
    """
    bank = np.zeros((sum(frames), 2, size, size), dtype=np.int64)
    n = len(events)
    if n:
        order = np.argsort(np.asarray(events["t"]), kind="stable")
        t = np.asarray(events["t"], dtype=np.int64)[order]
        x = np.clip(np.asarray(events["x"])[order], 0, sensor - 1) * size // sensor
        y = np.clip(np.asarray(events["y"])[order], 0, sensor - 1) * size // sensor
        p = (np.asarray(events["p"])[order] > 0).astype(np.int64)
        start = 0
        for steps in frames:
            if binning == "count":
                frame = np.minimum(np.arange(n) // max(n // steps, 1), steps - 1)
            else:
                span = max(int(t[-1] - t[0]), 1)
                frame = np.minimum((t - t[0]) * steps // span, steps - 1)
            np.add.at(bank, (start + frame, p, y, x), 1)
            start += steps
    return np.minimum(bank, 255).astype(np.uint8)


def event_splits(
    frames: torch.Tensor,
    labels: torch.Tensor,
    is_test: torch.Tensor,
    spec: DatasetSpec,
) -> Splits:
    """Train/validation/test splits of binned recordings; validation carved by ``split_seed``."""
    train_i = torch.nonzero(~is_test).flatten()
    test_i = torch.nonzero(is_test).flatten()
    kept, held = stratified(labels[train_i], spec.val_fraction, spec.split_seed + 1)
    mean, std = EVENT_STATS
    return Splits(
        train=Split(frames[train_i[kept]], labels[train_i[kept]]),
        val=Split(frames[train_i[held]], labels[train_i[held]]),
        test=Split(frames[test_i], labels[test_i]),
        mean=mean,
        std=std,
    )


def load_event_splits(spec: DatasetSpec, root: Path) -> Splits:
    """The splits of event data set ``spec.name`` read from ``root`` (binned once, then cached).

    Raises:
        DataError: the folder is missing, incomplete or holds unreadable recordings.
    """
    if spec.frames is None:
        raise DataError(
            f"dataset.frames: event data set {spec.name!r} needs the frame counts to bin"
        )
    root = root.resolve()
    side = sensor_side(spec.name)
    if spec.image_size > side:
        raise DataError(
            f"dataset.image_size {spec.image_size} is larger than the {spec.name} sensor ({side})"
        )
    recordings = find_recordings(spec.name, root)
    if spec.name == "cifar10-dvs":
        recordings = _per_class_test(recordings, spec.test_fraction)
    settings = {
        "dataset": spec.name,
        "image_size": spec.image_size,
        "frames": list(spec.frames),
        "binning": spec.binning,
        "test_fraction": spec.test_fraction if spec.name == "cifar10-dvs" else None,
    }
    manifest = source_manifest([r.path for r in recordings], root)
    folder = cache_dir(root)
    tensors = load_frames(folder, settings, manifest)
    if tensors is None:
        tensors = _bin_all(spec, recordings, side)
        save_frames(folder, settings, manifest, tensors)
    return event_splits(tensors["frames"], tensors["labels"], tensors["is_test"], spec)


def _per_class_test(recordings: list[Recording], fraction: float) -> list[Recording]:
    """The last ``fraction`` of every class (file-name order) becomes the test split."""
    out = []
    for label in sorted({r.label for r in recordings}):
        mine = [r for r in recordings if r.label == label]
        n_train = len(mine) - max(1, round(len(mine) * fraction)) if len(mine) > 1 else 1
        out += [
            Recording(r.path, r.label, "train" if i < n_train else "test")
            for i, r in enumerate(mine)
        ]
    return out


def _bin_all(spec: DatasetSpec, recordings: list[Recording], side: int) -> dict[str, torch.Tensor]:
    assert spec.frames is not None
    n = len(recordings)
    bank = torch.zeros(n, sum(spec.frames), 2, spec.image_size, spec.image_size, dtype=torch.uint8)
    stream = read_events(spec.name, recordings)
    for i, events in enumerate(tqdm(stream, total=n, desc=f"binning {spec.name}", leave=False)):
        bank[i] = torch.from_numpy(
            bin_events(
                events, sensor=side, size=spec.image_size, frames=spec.frames, binning=spec.binning
            )
        )
    labels = torch.tensor([r.label for r in recordings], dtype=torch.int64)
    if int(labels.max()) >= spec.num_classes:
        raise DataError(f"{spec.name}: labels outside 0..{spec.num_classes - 1} (num_classes)")
    is_test = torch.tensor([r.split == "test" for r in recordings])
    log.info("binned %d %s recordings into frames %s (%s)", n, spec.name, spec.frames, spec.binning)
    return {"frames": bank, "labels": labels, "is_test": is_test}
