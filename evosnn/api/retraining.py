"""Retrain an exported architecture stand-alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evosnn.reporting.export import Exported, load_export
from evosnn.training.retrain import RetrainResult, retrain_exported

if TYPE_CHECKING:
    from supernet.recipe import TrainSettings

__all__ = ["retrain"]


def retrain(
    architecture: str | Path | Exported,
    settings: TrainSettings | None = None,
    *,
    out: str | Path | None = None,
    init: str = "scratch",
    data_root: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    **fields: Any,
) -> RetrainResult:
    """Train an exported ``trial-NNNNN.yaml`` stand-alone on its space's data.

    It trains with ``settings`` (default :class:`~supernet.recipe.TrainSettings`) with any of its
    fields replaced by keyword: ``epochs``, ``batch_size``, ``lr``, ``seed``, ``device``, ...
    ``init`` is ``scratch`` (weights drawn from ``seed``) or ``inherited`` (the exported
    ``trial-NNNNN.pt``). The checkpoint ``trial-NNNNN.retrained.pt`` goes to ``out`` (default:
    beside the file); the result holds validation and test accuracy (0-1) and energy (mJ/image).

    Raises:
        ConfigError: not an exported architecture file.
        CheckpointError: unusable inherited weights, or a checkpoint in the way (``resume``).
        DataError: the space's data set is missing.
        TrainingDiverged: NaN loss (the last good checkpoint is kept).
    """
    from supernet.recipe import TrainSettings

    exported = architecture if isinstance(architecture, Exported) else load_export(architecture)
    settings = replace(settings or TrainSettings(), **fields)
    return retrain_exported(
        exported,
        out if out is not None else exported.path.parent,
        settings,
        init=init,
        data_root=data_root,
        resume=resume,
        progress=progress,
    )
