"""Retrain an exported architecture stand-alone."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evosnn.core.validation import INIT, check_value
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
        SettingError: a training setting of the wrong type or out of its range, an unknown
            ``init``, or a device this machine does not have.
        OutputError: ``out`` is a file, lies under one, or cannot be written; or another
            process is writing this architecture's checkpoint there (``FolderInUse``, naming
            the process).
        ConfigError: not an exported architecture file.
        CheckpointError: unusable inherited weights, or a checkpoint in the way (``resume``).
        DataError: the space's data set is missing.
        TrainingDiverged: NaN loss (the last good checkpoint is kept).
    """
    from evosnn.core.outputs import check_out_dir
    from evosnn.evaluate.device import check_device
    from supernet.recipe import TrainSettings

    settings = replace(settings or TrainSettings(), **fields)
    settings = replace(settings, device=check_device(settings.device))
    check_value("init", init, INIT)
    exported = architecture if isinstance(architecture, Exported) else load_export(architecture)
    return retrain_exported(
        exported,
        check_out_dir(out if out is not None else exported.path.parent),
        settings,
        init=init,
        data_root=data_root,
        resume=resume,
        progress=progress,
    )
