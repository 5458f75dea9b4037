"""One-shot supernet training (Auto-Spikformer's DSPS): every step trains the subnets a sampler
draws, *with* their neuron genes, so the shared weights serve every subnet and neuron setting.

The library knows no search space: the caller passes a builder of the supernet, a sampler
``sample(rng, step)`` of the configs trained at a step, the probe configs validated after every
epoch, the augmentation, and metadata stored verbatim in the checkpoint. The loop itself is
:func:`supernet.fit.fit`: every random draw of a step comes from ``(seed, step)``, so a run resumed
from a checkpoint takes exactly the steps an uninterrupted run would have taken.

Example:
    >>> plan = SupernetPlan(build, sample, probes={"largest": big}, metadata={"space": {}})  # doctest: +SKIP
    >>> result = fit_supernet(plan, splits, Path("runs/demo/supernet.pt"), TrainSettings())  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import EvosnnError
from evosnn.core.outputs import refuse_existing
from supernet.batches import Splits
from supernet.checkpoint import CHECKPOINT_NAME, FORMAT, Status, save_atomic
from supernet.fit import (
    EpochEnd,
    FitHooks,
    FitOptions,
    FitState,
    Trainee,
    TrainingDiverged,
    TrainingInterrupted,
    fit,
    step_seed,
    steps_per_epoch,
)
from supernet.model import SpikformerSupernet
from supernet.parallel import DataParallel
from supernet.recipe import TrainSettings, make_optimizer, resumed_settings
from supernet.validate import count_correct, preserved_bn, recalibrate_on_split

__all__ = [
    "CHECKPOINT_NAME",
    "Sampler",
    "SupernetPlan",
    "TrainSettings",
    "TrainingDiverged",
    "TrainingInterrupted",
    "fit_supernet",
    "validate_probes",
]

log = logging.getLogger(__name__)

#: ``sample(rng, step) -> configs``: the subnets (with neuron genes) trained at optimizer step
#: ``step``, drawn only from ``rng`` (seeded from ``(seed, step)`` by the trainer). With
#: ``sampling="distill"`` the first is the teacher of the others.
Sampler = Callable[[random.Random, int], Sequence[SubnetConfig]]

#: Keys the trainer writes itself; metadata may not use them.
_RESERVED = frozenset(
    {"format", "status", "train_config", "epoch", "step", "steps_per_epoch", "model"}
    | {"optimizer", "scheduler", "scaler", "metrics"}
)


def validate_probes(
    net: SpikformerSupernet,
    probes: Mapping[str, SubnetConfig],
    splits: Splits,
    *,
    recal_batches: int,
    batch_size: int,
    device: torch.device | str,
) -> dict[str, float]:
    """``{"val_acc_<label>": accuracy}`` of every probe subnet (recalibrated BN, in order).

    The supernet's own BN buffers and training mode are restored afterwards.
    """
    out = {}
    with preserved_bn(net):
        for label, config in probes.items():
            forward = lambda x, c=config: net(x, c)  # noqa: E731
            if recal_batches:
                recalibrate_on_split(
                    net,
                    forward,
                    splits.train,
                    (splits.mean, splits.std),
                    batches=recal_batches,
                    batch_size=batch_size,
                    device=device,
                )
            net.eval()
            correct, total, _ = count_correct(
                forward, splits.val, splits.mean, splits.std, device=device
            )
            out[f"val_acc_{label}"] = correct / total
    return out


@dataclass(frozen=True)
class SupernetPlan:
    """What a supernet training trains, as the caller (which knows the space) decides it.

    Attributes:
        build: makes the untrained supernet; called after ``torch.manual_seed(settings.seed)``,
            so the initial weights follow the seed.
        sample: the configs each step trains (see :data:`Sampler`).
        probes: label -> config validated after every epoch (metrics key ``val_acc_<label>``).
        metadata: stored verbatim at the checkpoint's top level (evosnn stores
            ``{"space": ...}``).
    """

    build: Callable[[], SpikformerSupernet]
    sample: Sampler
    probes: Mapping[str, SubnetConfig]
    metadata: Mapping[str, Any]


def fit_supernet(
    plan: SupernetPlan,
    splits: Splits,
    path: str | Path,
    settings: TrainSettings,
    *,
    resume_from: Mapping[str, Any] | None = None,
    options: FitOptions | None = None,
    on_step: Callable[[int, float], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train a supernet and write its checkpoint to ``path``; return the final checkpoint.

    Args:
        plan: the supernet builder, the subnet sampler, the probes and the metadata.
        splits: the data (train for steps and BN recalibration, val for the probes).
        path: the checkpoint file, rewritten atomically after every epoch.
        settings: the recipe; ignored on resume except for ``device`` (the stored one is used).
        resume_from: a checkpoint read with ``load_checkpoint(path)`` to continue; the caller has
            checked it suits this run (same metadata). Without it, an existing ``path`` is never
            overwritten.
        options: augmentation, progress bar and data parallelism (:class:`FitOptions`; the
            device is the settings', the label ``supernet``). With ``options.parallel`` (see
            :mod:`supernet.parallel`), ``settings.batch_size`` stays the global batch; rank 0
            alone validates and writes ``path`` (the other ranks return an empty dict). Every
            rank must be given the same ``resume_from``.
        on_step: ``on_step(step, loss)`` after every optimizer step.
        on_epoch: called with every epoch's record after its checkpoint is written.

    Raises:
        TrainingDiverged: NaN/inf loss (the last good checkpoint is left untouched).
        TrainingInterrupted: Ctrl-C (a resumable checkpoint was written first).
        CheckpointError: ``path`` exists and nothing is resumed.
    """
    options = options if options is not None else FitOptions()
    parallel = options.parallel if options.parallel is not None else DataParallel()
    path = Path(path)
    clash = sorted(_RESERVED & set(plan.metadata))
    if clash:
        raise ValueError(f"metadata may not use the checkpoint's own keys {clash}")
    if resume_from is None and parallel.main:
        refuse_existing(path)
    if resume_from is not None:
        settings = resumed_settings(resume_from, settings)
        if _complete(resume_from, path):
            return dict(resume_from)
    run = _SupernetRun.start(plan, splits, path, settings)
    state = run.trainee.restore(resume_from, path) if resume_from is not None else FitState()
    if resume_from is not None:
        log.info("resuming %s at step %d (epoch %d)", path, state.step, state.step // run.per_epoch)
    hooks = FitHooks(run.step_loss, run.end_epoch, run.checkpoint, on_step, on_epoch)
    fit(
        run.trainee,
        splits,
        settings,
        hooks,
        checkpoint_path=path,
        state=state,
        options=replace(options, device=run.device, desc="supernet", parallel=parallel),
    )
    if not run.written and parallel.main:  # resumed a finished run that was not marked complete
        run.checkpoint("complete", state)
    return run.written


def _complete(checkpoint: Mapping[str, Any], path: Path) -> bool:
    """Whether a resumed run is already finished (logged, with how to train longer)."""
    if checkpoint.get("status") != "complete":
        return False
    log.info(
        "%s is already complete (%d epochs); nothing to do (to train longer, start a new run "
        "with a larger --epochs and another --out)",
        path,
        checkpoint["epoch"],
    )
    return True


@dataclass
class _SupernetRun:
    """One supernet training run: the trainee, and the hooks :func:`fit` calls."""

    net: SpikformerSupernet
    trainee: Trainee
    splits: Splits
    path: Path
    settings: TrainSettings
    plan: SupernetPlan
    device: torch.device
    per_epoch: int
    written: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def start(
        cls, plan: SupernetPlan, splits: Splits, path: Path, settings: TrainSettings
    ) -> _SupernetRun:
        """Build the supernet (initial weights from the seed), its optimizer and scaler."""
        device = torch.device(settings.device)
        if device.type == "cuda" and not torch.cuda.is_available():
            raise EvosnnError("--device cuda requested but CUDA is not available on this machine")
        per_epoch = steps_per_epoch(len(splits.train), settings.batch_size)
        torch.manual_seed(settings.seed)
        net = plan.build().to(device)
        optimizer, scheduler = make_optimizer(net.parameters(), settings, per_epoch)
        scaler = torch.amp.GradScaler("cuda", enabled=settings.amp and device.type == "cuda")
        trainee = Trainee(net, optimizer, scheduler, scaler)
        return cls(net, trainee, splits, path, settings, plan, device, per_epoch)

    def step_loss(self, x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        """Train the step's sampled subnets; the first teaches the others with ``distill``."""
        settings, device, scaler = self.settings, self.device, self.trainee.scaler
        assert scaler is not None
        amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
        loss_sum = torch.zeros((), device=device)
        teacher: torch.Tensor | None = None  # in-place distillation: the first subnet's softmax
        for config in self.plan.sample(random.Random(step_seed(settings.seed, step)), step):
            with torch.autocast(device.type, dtype=amp_dtype, enabled=settings.amp):
                logits = self.net(x, config)
                if teacher is None:
                    loss = F.cross_entropy(logits, y, label_smoothing=settings.label_smoothing)
                else:
                    loss = -(teacher * F.log_softmax(logits.float(), dim=1)).sum(dim=1).mean()
            if settings.sampling == "distill" and teacher is None:
                teacher = F.softmax(logits.detach().float(), dim=1)
            scaler.scale(loss).backward()
            loss_sum += loss.detach()
        return loss_sum

    def end_epoch(self, end: EpochEnd) -> dict[str, Any]:
        """The epoch's record: loss, learning rate and every probe's validation accuracy."""
        accuracies = validate_probes(
            self.net,
            self.plan.probes,
            self.splits,
            recal_batches=self.settings.recal_batches,
            batch_size=self.settings.batch_size,
            device=self.device,
        )
        return {"epoch": end.epoch, "step": end.step, "loss": end.loss, "lr": end.lr, **accuracies}

    def checkpoint(self, status: Status, now: FitState) -> None:
        """Write the checkpoint atomically (see :mod:`supernet.checkpoint`)."""
        data: dict[str, Any] = {
            "format": FORMAT,
            "status": status,
            **self.plan.metadata,
            "train_config": self.settings.to_dict(),
            "epoch": now.step // self.per_epoch,
            "step": now.step,
            "steps_per_epoch": self.per_epoch,
            **self.trainee.state_dicts(),
            "metrics": now.history,
        }
        save_atomic(data, self.path)
        self.written.clear()
        self.written.update(data)
