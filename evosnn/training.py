"""Supernet training for a search space: the application's side of :mod:`supernet.train`.

``supernet.train`` takes plain values and callables; this module derives them from a
:class:`SearchSpace`: the supernet builder, the subnet sampler (``uniform`` or ``sandwich``), the
probes validated after each epoch (largest and smallest subnets), the data set's augmentation, and
the metadata stored in the checkpoint (the space itself). It also checks that a resumed checkpoint
was trained for the same space.

Example:
    >>> result = train_supernet_for(space, splits, Path("runs/demo"), TrainSettings(epochs=2))  # doctest: +SKIP
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evosnn.config import SubnetConfig
from evosnn.errors import CheckpointError
from evosnn.genome import GenomeCodec
from evosnn.models import build_supernet, checkpoint_space
from evosnn.space import SearchSpace
from supernet.batches import Splits
from supernet.checkpoint import load_checkpoint
from supernet.recipe import TrainSettings, resumed_settings
from supernet.train import CHECKPOINT_NAME, Sampler, train_supernet

__all__ = ["augmentation_for", "probes_for", "sampler_for", "train_supernet_for"]


def augmentation_for(space: SearchSpace) -> tuple[int, bool]:
    """(shift in pixels, horizontal flip) that fits the data set."""
    name, size = space.dataset.name, space.dataset.image_size
    if name in ("cifar10", "cifar100"):
        return size // 8, True  # the usual pad-4 random crop at 32x32, and flips
    if name == "digits":
        return max(1, size // 8), False  # small shifts; a mirrored digit is another symbol
    if name == "imagefolder":
        return max(1, size // 8), True
    return 0, False


def probes_for(space: SearchSpace) -> dict[str, SubnetConfig]:
    """The subnets validated after every epoch: largest and smallest, at default neurons."""
    return {"largest": SubnetConfig.largest(space), "smallest": SubnetConfig.smallest(space)}


def sampler_for(space: SearchSpace, sampling: str) -> Sampler:
    """The configs trained at each step.

    ``uniform``: one random subnet (DSPS). ``sandwich``: the largest and the smallest architectures
    with random neuron genes, then one random subnet. Every draw comes from the step's ``rng``.
    """
    codec = GenomeCodec(space)
    if sampling == "uniform":
        return lambda rng, step: [codec.sample_config(rng)]
    extremes = (SubnetConfig.largest(space), SubnetConfig.smallest(space))
    ch = space.choices

    def sandwich(rng: random.Random, step: int) -> list[SubnetConfig]:
        out = []
        for extreme in extremes:
            d = extreme.depth  # fixed architecture, random neuron genes (DSPS)
            out.append(
                SubnetConfig(
                    depth=d,
                    embed_dim=extreme.embed_dim,
                    mlp_ratio=extreme.mlp_ratio,
                    num_heads=extreme.num_heads,
                    threshold=tuple(rng.choice(ch.threshold) for _ in range(d)),
                    tau=tuple(rng.choice(ch.tau) for _ in range(d)),
                    time_steps=rng.choice(ch.time_steps),
                )
            )
        out.append(codec.sample_config(rng))
        return out

    return sandwich


def train_supernet_for(
    space: SearchSpace,
    splits: Splits,
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    resume: bool = False,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train the supernet of ``space`` and write ``out_dir/supernet.pt``; return the final checkpoint.

    With ``resume``, continue from ``out_dir/supernet.pt`` with its stored settings (``settings`` is
    ignored except for ``device``). Without it, an existing checkpoint is never overwritten.
    ``on_step(step, loss)`` is called after every optimizer step.

    Raises:
        TrainingDiverged: NaN/inf loss (the last good checkpoint is left untouched).
        TrainingInterrupted: Ctrl-C (a resumable checkpoint was written first).
        CheckpointError: resume from a missing checkpoint, or one trained for another space.
    """
    path = Path(out_dir) / CHECKPOINT_NAME
    state: dict[str, Any] | None = None
    if resume:
        state = load_checkpoint(path, map_location="cpu")
        stored = checkpoint_space(state, path)
        if stored.to_dict() != space.to_dict():
            raise CheckpointError(f"{path}: trained for another search space ({stored.name!r})")
        settings = resumed_settings(state, settings)
    shift, flip = augmentation_for(space)
    return train_supernet(
        lambda: build_supernet(space),
        splits,
        path,
        settings,
        sample=sampler_for(space, settings.sampling),
        probes=probes_for(space),
        metadata={"space": space.to_dict()},
        shift=shift,
        flip=flip,
        resume_from=state,
        progress=progress,
        on_step=on_step,
    )
