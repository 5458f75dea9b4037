"""Retrain an exported architecture stand-alone."""

from __future__ import annotations

from pathlib import Path

from evosnn.reporting.export import Exported, load_export
from evosnn.training.retrain import RetrainResult, retrain_exported

__all__ = ["retrain"]


def retrain(
    architecture: str | Path | Exported,
    *,
    out: str | Path | None = None,
    epochs: int = 40,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    device: str = "cpu",
    init: str = "scratch",
    data_root: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
) -> RetrainResult:
    """Train an exported ``trial-NNNNN.yaml`` stand-alone on its space's data.

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
    settings = TrainSettings(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, device=device)
    return retrain_exported(
        exported,
        out if out is not None else exported.path.parent,
        settings,
        init=init,
        data_root=data_root,
        resume=resume,
        progress=progress,
    )
