"""The bridge from a search space to supernet's models and checkpoints.

``supernet`` is a PyTorch library that knows no search space: it takes sizes, configs and plain
callables. This module builds its networks from a :class:`SearchSpace` (data geometry, supernet
maxima, default neuron settings) and reads back the space a checkpoint was trained for.

Example:
    >>> net = build_supernet(space)  # doctest: +SKIP
    >>> net, checkpoint = load_supernet("runs/demo/supernet.pt", space)  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import CheckpointError
from evosnn.core.space import SearchSpace
from supernet.checkpoint import SupernetCheckpoint, load_checkpoint, source_name
from supernet.lif import Surrogate
from supernet.model import SpikformerSupernet
from supernet.standalone import Spikformer

__all__ = ["build_standalone", "build_supernet", "checkpoint_space", "load_supernet"]


def build_supernet(space: SearchSpace, *, surrogate: Surrogate | None = None) -> SpikformerSupernet:
    """The supernet of ``space`` (its maxima, data geometry and default neuron settings)."""
    net = space.supernet
    return SpikformerSupernet(
        space.geometry,
        depth=net.depth,
        embed_dim=net.embed_dim,
        mlp_ratio=net.mlp_ratio,
        num_heads=net.num_heads,
        sps=(space.neuron_defaults.threshold, space.neuron_defaults.tau),
        surrogate=surrogate,
    )


def build_standalone(config: SubnetConfig, space: SearchSpace) -> Spikformer:
    """The stand-alone Spikformer of ``config`` on ``space``'s data (untrained)."""
    defaults = space.neuron_defaults
    return Spikformer(config, space.geometry, sps=(defaults.threshold, defaults.tau))


def checkpoint_space(data: SupernetCheckpoint, path: str | Path | bytes) -> SearchSpace:
    """The search space a supernet checkpoint was trained for (errors name ``path``)."""
    return SearchSpace.from_dict(data["space"], source=f"{source_name(path)} (stored space)")


def load_supernet(
    path: str | Path | bytes,
    space: SearchSpace | None = None,
    *,
    map_location: str | torch.device = "cpu",
) -> tuple[SpikformerSupernet, SupernetCheckpoint]:
    """A supernet in eval mode with the checkpoint's weights, and the checkpoint.

    If ``space`` is given, the checkpoint must have been trained for it (same weight shapes, and every
    choice of ``space`` sampled during training); otherwise CheckpointError says why not.
    """
    data = load_checkpoint(path, map_location=map_location)
    trained = checkpoint_space(data, path)
    name = source_name(path)
    if space is not None:
        why = space.incompatibility(trained)
        if why is not None:
            raise CheckpointError(f"{name}: trained for another search space: {why}")
    # Built from the trained space: the patch splitter's neurons use the settings it was trained with.
    net = build_supernet(trained)
    try:
        net.load_state_dict(data["model"])
    except RuntimeError as exc:
        raise CheckpointError(
            f"{name}: weights do not fit the supernet ({str(exc)[:200]})"
        ) from exc
    return net.to(map_location).eval(), data
