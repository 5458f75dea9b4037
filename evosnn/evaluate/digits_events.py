"""``digits-events``: an embedded event task in which the order of events decides the label.

Two of scikit-learn's digits, A then B, are shown one after the other at one place, and a DVS
watches: it emits ON events where intensity rises and OFF events where it falls, one event per
``CONTRAST`` step of change, each at a jittered time inside its transition (A appears in
``[0, 0.1)``, A turns into B in ``[0.45, 0.55)``, B disappears in ``[0.9, 1.0)`` of a one-second
clip), plus sparse background events. The label is A, the first digit.

Why order matters: per pixel the ON events total ``a + max(b - a, 0) = max(a, b)`` and the OFF
events ``max(a - b, 0) + b = max(a, b)`` too, so the time-collapsed recording is the same for
(A, B) and (B, A): a model that ignores the order of events sees only the unordered pair and can
be right at most half the time (and, identifying the pair from an overlay, usually far less). In
time, A's onset is a clean ON-only image and B's offset a clean OFF-only one.

The source digits are split first (test, then validation, stratified and seeded by
``split_seed``); each split's clips are drawn from its own digits only. ``synthetic_size`` clips
in all. The recordings are binned like the real event data sets (:func:`bin_events`).

Example:
    >>> events = digit_events(np.full((2, 2), 16), np.zeros((2, 2)), rng=np.random.default_rng(0))
    >>> int((events["p"] == 1).sum()), int((events["p"] == 0).sum()) >= 16
    (16, True)
"""

from __future__ import annotations

import numpy as np
import torch

from evosnn.core.errors import DataError
from evosnn.core.space import DatasetSpec
from evosnn.evaluate.events import EVENT_STATS, bin_events
from evosnn.evaluate.splitting import digits, resize, stratified
from supernet.batches import Split, Splits

__all__ = ["CONTRAST", "digit_events", "digits_events"]

#: Intensity change (digits' 0..16 scale) per emitted event.
CONTRAST = 4.0
#: (start, end) of the three transitions, in seconds: onset of A, A -> B, offset of B.
WINDOWS = ((0.0, 0.1), (0.45, 0.55), (0.9, 1.0))
#: Background events per pixel per clip (either polarity, uniform in time).
NOISE = 0.02
_EVENT = [("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)]


def digit_events(
    a: np.ndarray, b: np.ndarray, *, rng: np.random.Generator, noise: float = NOISE
) -> np.ndarray:
    """The events of digit image ``a`` (0..16 intensities, ``[H, W]``) turning into ``b``.

    ``noise``: background events per pixel (Poisson), either polarity, at uniform times.
    """
    # intensity in contrast steps: the events of a change are the steps it crosses
    levels = [np.floor(np.asarray(img, dtype=np.float64) / CONTRAST + 0.5) for img in (a, b)]
    blank = np.zeros_like(levels[0])
    chunks = []
    for (lo, hi), before, after in zip(WINDOWS, (blank, *levels), (*levels, blank), strict=True):
        delta = after - before
        counts = np.abs(delta).astype(np.int64)
        ys, xs = np.nonzero(counts)
        reps = counts[ys, xs]
        part = np.empty(int(reps.sum()), dtype=_EVENT)
        part["y"], part["x"] = np.repeat(ys, reps), np.repeat(xs, reps)
        part["p"] = np.repeat((delta[ys, xs] > 0).astype(np.int64), reps)
        part["t"] = (rng.uniform(lo, hi, len(part)) * 1e6).astype(np.int64)
        chunks.append(part)
    h, w = a.shape
    n_noise = rng.poisson(noise * h * w)
    background = np.empty(n_noise, dtype=_EVENT)
    background["x"], background["y"] = rng.integers(0, w, n_noise), rng.integers(0, h, n_noise)
    background["p"] = rng.integers(0, 2, n_noise)
    background["t"] = rng.uniform(0, 1, n_noise) * 1e6
    events = np.concatenate([*chunks, background])
    return events[np.argsort(events["t"], kind="stable")]


def digits_events(spec: DatasetSpec) -> Splits:
    """The ``digits-events`` splits of ``spec`` (frame banks of every T in ``spec.frames``)."""
    if spec.frames is None:
        raise DataError("dataset.frames: digits-events needs the frame counts to bin")
    images, labels = digits()
    # intensities on the digits' own 0..16 scale, at the space's image size
    pictures = resize(images, spec.image_size)[:, 0].double().mul(16.0 / 255.0).numpy()
    rest, test_src = stratified(labels, spec.test_fraction, spec.split_seed)
    train_i, val_i = stratified(labels[rest], spec.val_fraction, spec.split_seed + 1)
    sources = {"train": rest[train_i], "val": rest[val_i], "test": test_src}
    n_test = round(spec.synthetic_size * spec.test_fraction)
    n_val = round((spec.synthetic_size - n_test) * spec.val_fraction)
    counts = {"train": spec.synthetic_size - n_test - n_val, "val": n_val, "test": n_test}
    rng = np.random.default_rng(30_000 + spec.split_seed)
    banks, targets, split_of = [], [], []
    for name in ("train", "val", "test"):
        pool = sources[name].numpy()
        for _ in range(counts[name]):
            first, second = rng.choice(pool, 2)
            events = digit_events(pictures[first], pictures[second], rng=rng)
            banks.append(
                bin_events(
                    events,
                    sensor=spec.image_size,
                    size=spec.image_size,
                    frames=spec.frames,
                    binning=spec.binning,
                )
            )
            targets.append(int(labels[first]))
            split_of.append(name)
    frames = torch.from_numpy(np.stack(banks))
    target = torch.tensor(targets, dtype=torch.int64)
    parts = {name: torch.tensor([s == name for s in split_of]) for name in ("train", "val", "test")}
    mean, std = EVENT_STATS
    train, val, test = (Split(frames[parts[n]], target[parts[n]]) for n in ("train", "val", "test"))
    return Splits(train=train, val=val, test=test, mean=mean, std=std)
