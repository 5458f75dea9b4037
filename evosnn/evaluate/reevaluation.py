"""Re-evaluating a searched study's subnets for export: its supernet, its evaluation settings.

``evosnn export --supernet`` writes each chosen architecture's inherited, BN-recalibrated weights;
they come from an :class:`~evosnn.evaluate.evaluator.Evaluator` of the very supernet the study
searched, with the evaluation settings the study recorded, built here.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import fields
from pathlib import Path
from typing import Any

import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import CheckpointError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace
from evosnn.evaluate.evaluator import Evaluator

__all__ = ["recorded_settings", "standalone_weights", "study_evaluator"]


def recorded_settings(recorded: Mapping[str, Any], device: str = "cpu") -> EvalSettings:
    """A study's evaluation settings, on ``device``. Studies written before the split seed moved
    into the space also carry ``data_seed`` (never settable, always 0: the space's default
    ``split_seed``); it and any other key this version does not know are dropped.

    Examples:
        >>> recorded_settings({"batch_size": 64, "data_seed": 0, "device": "cuda"}).batch_size
        64
    """
    known = {f.name for f in fields(EvalSettings)}
    settings = {k: v for k, v in recorded.items() if k in known and k != "device"}
    return EvalSettings(**settings, device=device)


def study_evaluator(
    supernet: str | Path,
    space: SearchSpace,
    *,
    recorded: Mapping[str, Any],
    energy_target_mj: float | None,
    supernet_sha256: str | None,
    data_root: str | Path | None,
    device: str,
) -> Evaluator:
    """An evaluator of ``supernet`` with the study's ``recorded`` evaluation settings.

    Raises:
        CheckpointError: ``supernet`` is not the one the study searched (``supernet_sha256``).
    """
    evaluator = Evaluator(
        supernet,
        space,
        data_root=data_root,
        settings=recorded_settings(recorded, device),
        energy_target_mj=energy_target_mj,
    )
    if supernet_sha256 and evaluator.checkpoint_sha256 != supernet_sha256:
        raise CheckpointError(
            f"{supernet}: not the supernet this study searched (sha256 {evaluator.checkpoint_sha256[:12]}..., "
            f"the study used {supernet_sha256[:12]}...)"
        )
    return evaluator


def standalone_weights(evaluator: Evaluator, config: SubnetConfig) -> bytes:
    """The state dict of ``config``'s stand-alone network, as :func:`torch.save` writes it."""
    buffer = io.BytesIO()
    torch.save(evaluator.standalone(config).state_dict(), buffer)
    return buffer.getvalue()
