"""``digits-events``: an embedded event task in which only the timing of events tells the label.

Two of scikit-learn's digits, A and B, and their negatives (``16 - A``, ``16 - B``) are flashed at
one place, and a DVS watches: it emits ON events where intensity rises and OFF events where it
falls, one per ``CONTRAST`` step of change, at jittered times around each flash's onset and
offset, plus sparse background events. The label is A. The schedule (:data:`FLASHES`, one-second
clip, read as T = 4 equal frames): A is switched on and off within frame 0; B is switched on in
frame 1 and off in frame 2, where ``16 - B`` replaces it and goes off again; ``16 - A`` is switched
on and off within frame 3. Frame by frame (ON, OFF): ``(A, A)``, ``(B, 0)``, ``(16 - B, 16)``,
``(16 - A, 16 - A)``: a single frame (the first) carries A unambiguously, and B never appears as
an ON/OFF coincidence, so a model that reads frames one at a time (no memory needed) can tell A
from B.

Why time matters: every pixel is lit, over the four flashes, to the same total (``A + B +
(16 - B) + (16 - A) = 32``) and each flash emits as many ON as OFF events, so the time-collapsed
recording (all events in one frame) is the same for every clip up to noise and quantisation: a
model that ignores when events happen stays at chance.

The source digits are split first (test, then validation, stratified and seeded by
``split_seed``); each split's clips are drawn from its own digits only. ``synthetic_size`` clips
in all. The recordings are binned like the real event data sets (:func:`bin_events`).

Example:
    >>> ones = np.full((2, 2), 16.0)
    >>> events = digit_events(ones, ones, rng=np.random.default_rng(0), noise=0.0)
    >>> int((events["p"] == 1).sum()), int((events["p"] == 0).sum())
    (32, 32)
"""

from __future__ import annotations

import numpy as np
import torch

from evosnn.core.errors import DataError
from evosnn.core.space import DatasetSpec
from evosnn.data.events import EVENT_STATS, bin_events
from evosnn.data.splitting import digits, resize, stratified
from supernet.batches import Split, Splits

__all__ = ["CONTRAST", "digit_events", "digits_events"]

#: Intensity change (digits' 0..16 scale) per emitted event.
CONTRAST = 4.0
#: Onset and offset (s) of the four flashes A, B, 16 - B, 16 - A, and the events' time jitter (s).
#: Binned into T = 4 equal frames: A is switched on and off inside frame 0, B on in frame 1 and
#: off in frame 2 (where its negative replaces it and goes off again), 16 - A on and off inside
#: frame 3; every onset and offset is at least 0.05 s from a frame boundary.
FLASHES = ((0.0, 0.15), (0.30, 0.55), (0.55, 0.66), (0.80, 0.98))
JITTER = 0.02
#: Background events per pixel per clip (either polarity, uniform in time).
NOISE = 0.02
_EVENT = [("x", np.int64), ("y", np.int64), ("t", np.int64), ("p", np.int64)]


def digit_events(
    a: np.ndarray, b: np.ndarray, *, rng: np.random.Generator, noise: float = NOISE
) -> np.ndarray:
    """The events of digit images ``a`` and ``b`` (0..16 intensities, ``[H, W]``) and their
    negatives flashed on the schedule :data:`FLASHES` (label: ``a``).

    ``noise``: background events per pixel (Poisson), either polarity, at uniform times.
    """
    # intensity in contrast steps: a flash's onset and offset each emit its level in events
    top = np.floor(16.0 / CONTRAST + 0.5)
    first, second = (np.floor(np.asarray(img, dtype=np.float64) / CONTRAST + 0.5) for img in (a, b))
    chunks = []
    for (onset, offset), level in zip(
        FLASHES, (first, second, top - second, top - first), strict=True
    ):
        counts = np.clip(level, 0, None).astype(np.int64)
        ys, xs = np.nonzero(counts)
        reps = counts[ys, xs]
        for when, polarity in ((onset, 1), (offset, 0)):
            part = np.empty(int(reps.sum()), dtype=_EVENT)
            part["y"], part["x"] = np.repeat(ys, reps), np.repeat(xs, reps)
            part["p"] = polarity
            part["t"] = (rng.uniform(when, when + JITTER, len(part)) * 1e6).astype(np.int64)
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
