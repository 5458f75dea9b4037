"""Train the weight-entangled supernet of a space."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from evosnn.api.spaces import as_space
from evosnn.core.space import SearchSpace

__all__ = ["TrainedSupernet", "train_supernet"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainedSupernet:
    """A trained supernet: its checkpoint and the per-epoch metrics (accuracies are fractions)."""

    checkpoint: Path
    metrics: list[dict[str, Any]] = field(default_factory=list)

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
    *,
    epochs: int | None = None,
    sampling: str | None = None,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
    device: str = "cpu",
    amp: bool = False,
    data_root: str | Path | None = None,
    resume: bool = False,
    workers: int = 0,
    threads: int = 0,
    gpus_per_worker: float = 0.0,
    max_failures: int = 2,
    ray_address: str | None = None,
    progress: bool = True,
    given: Mapping[str, Any] | None = None,
) -> TrainedSupernet:
    """Train the supernet of ``space`` and write ``out/supernet.pt``.

    ``epochs`` and ``sampling`` default to the space's ``training`` section. With ``workers`` > 0
    it trains data-parallel on that many Ray Train processes (``batch_size`` is the global batch);
    with 0 it trains in this process (``threads`` > 0 sets torch's thread count). An existing
    checkpoint is never overwritten: pass ``resume=True`` to continue it; a resume refuses the
    ``given`` settings (those chosen explicitly, e.g. typed flags) that differ from its own.

    Raises:
        SpaceError: no such space, or a field at fault.
        DataError: the data set's folder is missing or malformed.
        CheckpointError: nothing to resume, or a checkpoint of another space.
        TrainingDiverged: NaN loss (the last good checkpoint is kept).
    """
    from evosnn.core.outputs import check_out_dir
    from evosnn.training.supernet import train_supernet_parallel
    from supernet.recipe import TrainSettings
    from supernet.train import CHECKPOINT_NAME

    space = as_space(space)
    out = check_out_dir(Path(out))
    settings = TrainSettings(
        epochs=epochs or space.training.epochs,
        batch_size=batch_size,
        lr=lr,
        sampling=sampling or space.training.sampling,  # type: ignore[arg-type]
        seed=seed,
        device=device,
        amp=amp,
    )
    if workers:
        from workers.train import default_threads

        result = train_supernet_parallel(
            space,
            out,
            settings,
            workers=workers,
            threads=threads or default_threads(workers),
            data_root=data_root,
            gpus_per_worker=gpus_per_worker,
            resume=resume,
            given=given,
            max_failures=max_failures,
            ray_address=ray_address,
            progress=progress,
        )
    else:
        result = _train_here(
            space,
            out,
            settings,
            data_root=data_root,
            threads=threads,
            resume=resume,
            given=given,
            progress=progress,
        )
    return TrainedSupernet(out / CHECKPOINT_NAME, list(result.get("metrics") or []))


def _train_here(
    space: SearchSpace,
    out: Path,
    settings: Any,
    *,
    data_root: str | Path | None,
    threads: int,
    resume: bool,
    given: Mapping[str, Any] | None,
    progress: bool,
) -> dict[str, Any]:
    """Supernet training in this process: the run is opened (or refused) before the data loads."""
    import torch

    from evosnn.data.loading import load_splits
    from evosnn.training.supernet import open_supernet_run, train_supernet_for

    if threads:
        torch.set_num_threads(threads)
    open_supernet_run(space, out, settings, resume=resume, given=given)  # before the data
    splits = load_splits(space.dataset, root=data_root)  # fails before training
    log.info(
        "data %s: %d train / %d val / %d test images",
        space.dataset.name,
        len(splits.train),
        len(splits.val),
        len(splits.test),
    )
    return train_supernet_for(
        space, splits, out, settings, resume=resume, given=given, progress=progress
    )
