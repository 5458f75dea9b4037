"""Train the weight-entangled supernet of a space."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from dataclasses import fields as dataclass_fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evosnn.api.spaces import as_space
from evosnn.core.resources import RayResources
from evosnn.core.space import SearchSpace

if TYPE_CHECKING:
    from supernet.recipe import Resume, TrainSettings

__all__ = ["TrainedSupernet", "train_supernet"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedSupernet:
    """A trained supernet: its checkpoint and the per-epoch metrics (``epoch``, ``step``,
    ``loss``, ``lr``, ``val_acc_largest``, ``val_acc_smallest``, ...: numbers; accuracies are
    fractions)."""

    checkpoint: Path
    metrics: list[dict[str, float]] = field(default_factory=list)

    @classmethod
    def of(cls, checkpoint: Path, result: Mapping[str, Any]) -> TrainedSupernet:
        """The trained supernet at ``checkpoint``, from the training's final checkpoint data."""
        metrics = [
            {key: float(value) for key, value in record.items() if isinstance(value, int | float)}
            for record in result.get("metrics") or []
        ]
        return cls(checkpoint, metrics)

    @property
    def val_acc_largest(self) -> float:
        """Validation accuracy (0-1) of the largest subnet after the last epoch."""
        return float(self.metrics[-1].get("val_acc_largest", 0.0)) if self.metrics else 0.0

    @property
    def val_acc_smallest(self) -> float:
        """Validation accuracy (0-1) of the smallest subnet after the last epoch."""
        return float(self.metrics[-1].get("val_acc_smallest", 0.0)) if self.metrics else 0.0


def train_supernet(
    space: str | Path | SearchSpace,
    out: str | Path,
    settings: TrainSettings | None = None,
    *,
    resources: RayResources | None = None,
    data_root: str | Path | None = None,
    resume: bool = False,
    progress: bool = True,
    given: Mapping[str, Any] | None = None,
    **fields: Any,
) -> TrainedSupernet:
    """Train the supernet of ``space`` and write ``out/supernet.pt``.

    It trains with ``settings`` (default: :class:`~supernet.recipe.TrainSettings` with the
    ``epochs`` and ``sampling`` of the space's ``training`` section) on ``resources`` (default:
    this process), with any of their fields replaced by keyword: ``epochs``, ``sampling``,
    ``batch_size``, ``lr``, ``seed``, ``device``, ``amp``, ... (a training field given as None
    keeps its value) and ``workers``, ``threads``, ``gpus_per_worker``, ``max_failures``,
    ``ray_address`` (:class:`~evosnn.core.resources.RayResources`). With ``workers`` > 0 it
    trains data-parallel on that many Ray Train processes (``batch_size`` is the global batch);
    with 0 it trains in this process (``threads`` > 0 sets torch's thread count). An existing
    checkpoint is never overwritten: pass ``resume=True`` to continue it; a resume refuses the
    ``given`` settings (those chosen explicitly, e.g. typed flags) that differ from its own.

    Raises:
        SettingError: a setting of the wrong type or out of its range (the rules of
            ``evosnn supernet train``'s flags), or a device this machine does not have.
        OutputError: ``out`` is a file, lies under one, or cannot be written; or another process
            is writing it (``FolderInUse``, naming its pid, host, start and command).
        SpaceError: no such space, or a field at fault.
        DataError: the data set's folder is missing or malformed, or given for a space whose
            data set reads none.
        CheckpointError: nothing to resume, or a checkpoint of another space.
        TrainingDiverged: NaN loss (the last good checkpoint is kept).
    """
    from evosnn.core.outputs import check_out_dir
    from evosnn.core.run_lock import run_lock
    from evosnn.data.loading import check_data_root
    from evosnn.evaluate.device import check_device
    from evosnn.training.supernet_training import train_supernet_parallel
    from supernet.recipe import Resume
    from supernet.train import CHECKPOINT_NAME

    space = as_space(space)
    check_data_root(space.dataset, data_root, space=space.name)  # before the Ray workers
    out = check_out_dir(Path(out))
    settings, resources = _with_fields(space, settings, resources or RayResources(), fields)
    settings = replace(settings, device=check_device(settings.device))
    request = Resume(dict(given or {})) if resume else None
    with run_lock(out):  # one process writes the run folder (the driver, with workers)
        if resources.parallel:
            from workers.train import default_threads

            if not resources.threads:
                resources = replace(resources, threads=default_threads(resources.workers))
            result = train_supernet_parallel(
                space,
                out,
                settings,
                resources,
                data_root=data_root,
                resume=request,
                progress=progress,
            )
        else:
            result = _train_here(
                space,
                out,
                settings,
                data_root=data_root,
                threads=resources.threads,
                resume=request,
                progress=progress,
            )
    return TrainedSupernet.of(out / CHECKPOINT_NAME, result)


def _with_fields(
    space: SearchSpace,
    settings: TrainSettings | None,
    resources: RayResources,
    fields: Mapping[str, Any],
) -> tuple[TrainSettings, RayResources]:
    """``settings`` (default: the space's epochs and sampling) and ``resources`` with ``fields``
    replaced; a training field given as None keeps its value."""
    from supernet.recipe import TrainSettings

    if settings is None:
        settings = TrainSettings(epochs=space.training.epochs, sampling=space.training.sampling)
    train = {f.name for f in dataclass_fields(TrainSettings)}
    ray = {f.name for f in dataclass_fields(RayResources)}
    unknown = sorted(set(fields) - train - ray)
    if unknown:
        raise TypeError(f"train_supernet() got an unexpected keyword argument {unknown[0]!r}")
    settings = replace(
        settings, **{k: v for k, v in fields.items() if k in train and v is not None}
    )
    resources = replace(resources, **{k: v for k, v in fields.items() if k in ray})
    return settings, resources


def _train_here(
    space: SearchSpace,
    out: Path,
    settings: TrainSettings,
    *,
    data_root: str | Path | None,
    threads: int,
    resume: Resume | None,
    progress: bool,
) -> dict[str, Any]:
    """Supernet training in this process: the run is opened (or refused) before the data loads."""
    import torch

    from evosnn.data.loading import load_splits
    from evosnn.training.supernet_training import open_supernet_run, train_supernet_for

    if threads:
        torch.set_num_threads(threads)
    open_supernet_run(space, out, settings, resume=resume)  # before the data
    splits = load_splits(space.dataset, root=data_root)  # fails before training
    log.info(
        "data %s: %d train / %d val / %d test images",
        space.dataset.name,
        len(splits.train),
        len(splits.val),
        len(splits.test),
    )
    return train_supernet_for(space, splits, out, settings, resume=resume, progress=progress)
