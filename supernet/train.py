"""One-shot supernet training (Auto-Spikformer's DSPS): every step trains a randomly sampled subnet
*with* randomly sampled neuron genes, so the shared weights serve every subnet and neuron setting.

Reproducibility and exact resume: every random draw of a step (data order, augmentation, subnet
sampling) is derived from ``(seed, step)``, so a run resumed from a checkpoint takes exactly the
steps an uninterrupted run would have taken.

Example:
    >>> result = train_supernet(space, splits, Path("runs/demo"), TrainSettings(epochs=2))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
import random
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from evosnn.config import SubnetConfig
from evosnn.data import Splits, augment, iter_batches, normalize
from evosnn.errors import CheckpointError, EvosnnError
from evosnn.genome import GenomeCodec
from evosnn.space import SearchSpace
from supernet.checkpoint import FORMAT, checkpoint_space, load_checkpoint, save_atomic
from supernet.model import SpikformerSupernet
from supernet.validate import count_correct, preserved_bn, recalibrate_on_split

__all__ = [
    "CHECKPOINT_NAME",
    "TrainSettings",
    "TrainingDiverged",
    "TrainingInterrupted",
    "train_supernet",
]

log = logging.getLogger(__name__)

CHECKPOINT_NAME = "supernet.pt"


class TrainingDiverged(EvosnnError):
    """The loss became NaN or infinite; the last good checkpoint was left as it was."""


class TrainingInterrupted(EvosnnError):
    """Ctrl-C: a resumable checkpoint was written."""


@dataclass(frozen=True)
class TrainSettings:
    """Supernet training recipe: AdamW, linear warm-up then cosine decay, label smoothing, clipping.

    The defaults train the digits-tiny supernet in about two minutes on 2 CPU cores.
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 0.01
    warmup_epochs: int = 2
    label_smoothing: float = 0.1
    grad_clip: float = 1.0
    #: "uniform": one random subnet per step (DSPS); "sandwich": the largest and the smallest
    #: architectures (with random neuron genes) plus one random subnet per step.
    sampling: Literal["uniform", "sandwich"] = "uniform"
    seed: int = 0
    device: str = "cpu"
    #: Mixed precision (float16 with loss scaling on CUDA, bfloat16 on CPU).
    amp: bool = False
    #: BN recalibration batches before the per-epoch validation of the largest/smallest subnets.
    recal_batches: int = 4

    def __post_init__(self) -> None:
        checks = {
            "epochs": self.epochs >= 1,
            "batch_size": self.batch_size >= 1,
            "lr": math.isfinite(self.lr) and self.lr > 0,
            "weight_decay": math.isfinite(self.weight_decay) and self.weight_decay >= 0,
            "warmup_epochs": self.warmup_epochs >= 0,
            "label_smoothing": 0 <= self.label_smoothing < 1,
            "grad_clip": math.isfinite(self.grad_clip) and self.grad_clip > 0,
            "sampling": self.sampling in ("uniform", "sandwich"),
            "recal_batches": self.recal_batches >= 0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise EvosnnError(f"invalid training setting {bad[0]}={getattr(self, bad[0])!r}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


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


def _subnets(codec: GenomeCodec, settings: TrainSettings, step: int) -> list[SubnetConfig]:
    rng = random.Random(settings.seed * 1_000_003 + step)
    if settings.sampling == "uniform":
        return [codec.sample_config(rng)]
    space = codec.space
    out = []
    for extreme in (SubnetConfig.largest(space), SubnetConfig.smallest(space)):
        d = extreme.depth  # fixed architecture, random neuron genes (DSPS)
        out.append(
            SubnetConfig(
                depth=d,
                embed_dim=extreme.embed_dim,
                mlp_ratio=extreme.mlp_ratio,
                num_heads=extreme.num_heads,
                threshold=tuple(rng.choice(space.choices.threshold) for _ in range(d)),
                tau=tuple(rng.choice(space.choices.tau) for _ in range(d)),
                time_steps=rng.choice(space.choices.time_steps),
            )
        )
    out.append(codec.sample_config(rng))
    return out


def lr_schedule(settings: TrainSettings, steps_per_epoch: int) -> Any:
    total = settings.epochs * steps_per_epoch
    warmup = settings.warmup_epochs * steps_per_epoch

    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(1, total - warmup)
        return 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


@contextmanager
def graceful_sigint() -> Iterator[dict[str, bool]]:
    """First Ctrl-C sets a flag checked between steps; a second one interrupts at once."""
    state = {"stop": False}
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if state["stop"]:
            raise KeyboardInterrupt
        state["stop"] = True
        log.warning("interrupt received: finishing this step and writing a resumable checkpoint")

    try:
        signal.signal(signal.SIGINT, handler)
    except ValueError:  # not the main thread: leave signals alone
        yield state
        return
    try:
        yield state
    finally:
        signal.signal(signal.SIGINT, previous)


def validate_extremes(
    net: SpikformerSupernet,
    space: SearchSpace,
    splits: Splits,
    *,
    recal_batches: int,
    batch_size: int,
    device: torch.device | str,
) -> dict[str, float]:
    """Validation accuracy of the largest and smallest subnets (default neurons, recalibrated BN).

    The supernet's own BN buffers are restored afterwards.
    """
    out = {}
    with preserved_bn(net):
        for label, config in (
            ("largest", SubnetConfig.largest(space)),
            ("smallest", SubnetConfig.smallest(space)),
        ):
            forward = lambda x, c=config: net(x, c)  # noqa: E731
            if recal_batches:
                recalibrate_on_split(
                    net,
                    forward,
                    splits.train,
                    splits.mean,
                    splits.std,
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


def train_supernet(
    space: SearchSpace,
    splits: Splits,
    out_dir: Path,
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
        settings = TrainSettings.from_dict({**state["train_config"], "device": settings.device})
        if state.get("status") == "complete":
            log.info("%s is already complete (%d epochs); nothing to do", path, state["epoch"])
            return state
    elif path.exists():
        raise CheckpointError(
            f"{path} already exists; pass --resume to continue it, or choose another --out"
        )

    device = torch.device(settings.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise EvosnnError("--device cuda requested but CUDA is not available on this machine")
    torch.manual_seed(settings.seed)
    net = SpikformerSupernet.from_space(space).to(device)
    optimizer = torch.optim.AdamW(
        net.parameters(), lr=settings.lr, weight_decay=settings.weight_decay
    )
    steps_per_epoch = max(1, len(splits.train) // settings.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(settings, steps_per_epoch))
    use_scaler = settings.amp and device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_scaler)
    amp_dtype = torch.float16 if device.type == "cuda" else torch.bfloat16
    metrics: list[dict[str, Any]] = []
    step = 0
    if state is not None:
        net.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        if state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        metrics = list(state["metrics"])
        step = int(state["step"])
        log.info("resuming %s at step %d (epoch %d)", path, step, step // steps_per_epoch)

    codec = GenomeCodec(space)
    shift, flip = augmentation_for(space)
    total_steps = settings.epochs * steps_per_epoch

    def checkpoint(status: str) -> dict[str, Any]:
        data = {
            "format": FORMAT,
            "status": status,
            "space": space.to_dict(),
            "train_config": settings.to_dict(),
            "epoch": step // steps_per_epoch,
            "step": step,
            "steps_per_epoch": steps_per_epoch,
            "model": net.state_dict(),
            "optimizer": optimizer.state_dict(),
            "scheduler": scheduler.state_dict(),
            "scaler": scaler.state_dict() if use_scaler else None,
            "metrics": metrics,
        }
        save_atomic(data, path)
        return data

    bar = tqdm(total=total_steps, initial=step, disable=not progress, unit="step", desc="supernet")
    result: dict[str, Any] | None = None
    with graceful_sigint() as sigint, logging_redirect_tqdm():
        while step < total_steps:
            epoch = step // steps_per_epoch
            net.train()
            order = torch.Generator().manual_seed(settings.seed * 7919 + epoch)
            batches = iter_batches(
                splits.train, settings.batch_size, shuffle=True, generator=order, drop_last=True
            )
            losses: list[float] = []
            started, seen = time.perf_counter(), 0
            for index, (images, labels) in enumerate(batches):
                if index < step - epoch * steps_per_epoch:
                    continue  # resumed mid-epoch: these batches were already trained on
                gen = torch.Generator().manual_seed(settings.seed * 1_000_003 + step)
                if shift or flip:
                    images = augment(images, shift=shift, flip=flip, generator=gen)
                x = normalize(images.to(device), splits.mean, splits.std)
                y = labels.to(device)
                optimizer.zero_grad(set_to_none=True)
                loss_sum = torch.zeros((), device=device)
                for config in _subnets(codec, settings, step):
                    with torch.autocast(device.type, dtype=amp_dtype, enabled=settings.amp):
                        loss = F.cross_entropy(
                            net(x, config), y, label_smoothing=settings.label_smoothing
                        )
                    scaler.scale(loss).backward()
                    loss_sum += loss.detach()
                value = float(loss_sum)
                if not math.isfinite(value):
                    bar.close()
                    raise TrainingDiverged(
                        f"loss became {value} at step {step} (epoch {epoch}); stopped without writing "
                        f"a checkpoint, {path} holds the last good state. Try a lower --lr."
                    )
                scaler.unscale_(optimizer)
                torch.nn.utils.clip_grad_norm_(net.parameters(), settings.grad_clip)
                scaler.step(optimizer)
                scaler.update()
                scheduler.step()
                step += 1
                losses.append(value)
                seen += len(y)
                if on_step is not None:
                    on_step(step, value)
                bar.update(1)
                bar.set_postfix(
                    loss=f"{value:.3f}",
                    lr=f"{scheduler.get_last_lr()[0]:.2e}",
                    img_s=f"{seen / (time.perf_counter() - started):.0f}",
                )
                if sigint["stop"]:
                    bar.close()
                    checkpoint("interrupted")
                    raise TrainingInterrupted(
                        f"interrupted at step {step}; resumable checkpoint written to {path} "
                        f"(continue with --resume)"
                    )
            record = {
                "epoch": epoch + 1,
                "step": step,
                "loss": sum(losses) / max(1, len(losses)),
                "lr": scheduler.get_last_lr()[0],
                **validate_extremes(
                    net,
                    space,
                    splits,
                    recal_batches=settings.recal_batches,
                    batch_size=settings.batch_size,
                    device=device,
                ),
            }
            metrics.append(record)
            log.info(
                "epoch %d/%d  loss %.4f  val acc largest %.2f%%  smallest %.2f%%",
                epoch + 1,
                settings.epochs,
                record["loss"],
                100 * record["val_acc_largest"],
                100 * record["val_acc_smallest"],
            )
            result = checkpoint("complete" if step >= total_steps else "in-progress")
    bar.close()
    assert result is not None or state is not None
    return result if result is not None else checkpoint("complete")
