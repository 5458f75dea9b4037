"""The training core on its own: a plain model, no search space, real torch and real signals."""

from __future__ import annotations

import os
import random
import signal
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import EvosnnError
from evosnn.core.geometry import Geometry
from supernet.batches import Split, Splits
from supernet.checkpoint import load_checkpoint
from supernet.fit import (
    EpochEnd,
    FitHooks,
    FitOptions,
    FitState,
    Trainee,
    TrainingInterrupted,
    fit,
    steps_per_epoch,
)
from supernet.model import SpikformerSupernet
from supernet.recipe import TrainSettings, make_optimizer
from supernet.train import SupernetPlan, fit_supernet

SETTINGS = TrainSettings(epochs=3, batch_size=8, warmup_epochs=1, seed=3)


def data(n: int = 40) -> Split:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 2
    images = (torch.rand(n, 1, 4, 4, generator=gen) * 128 + labels.view(-1, 1, 1, 1) * 100).to(
        torch.uint8
    )
    return Split(images, labels)


def run(path: Path, state: dict[str, Any] | None = None, **hooks: Any) -> dict[str, Any]:
    """Train a linear classifier with fit; checkpoints are plain dicts saved with torch.save."""
    train = data()
    torch.manual_seed(SETTINGS.seed)
    linear = nn.Linear(16, 2)
    model = nn.Sequential(nn.Flatten(), linear)
    optimizer, scheduler = make_optimizer(
        model.parameters(), SETTINGS, steps_per_epoch(len(train), SETTINGS.batch_size)
    )
    progress = FitState()
    if state is not None:
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        progress = FitState(state["step"], list(state["history"]))

    def step_loss(x: torch.Tensor, y: torch.Tensor, step: int) -> torch.Tensor:
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        return loss.detach()

    def end_epoch(end: EpochEnd) -> dict[str, Any]:
        return {"epoch": end.epoch, "step": end.step, "bias": float(linear.bias.detach().sum())}

    def checkpoint(status: str, now: FitState) -> None:
        torch.save(
            {
                "status": status,
                "step": now.step,
                "history": now.history,
                "model": model.state_dict(),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(),
            },
            path,
        )

    fit(
        Trainee(model, optimizer, scheduler),
        Splits(train, train, train, (0.5,), (0.25,)),  # fit trains on .train only
        SETTINGS,
        FitHooks(step_loss, end_epoch, checkpoint, **hooks),
        checkpoint_path=path,
        state=progress,
        options=FitOptions(augmentation=(1, True), progress=False),
    )
    return dict(torch.load(path, weights_only=True))


def sigint_at(target: int) -> Any:
    def on_step(step: int, loss: float) -> None:
        if step == target:
            os.kill(os.getpid(), signal.SIGINT)

    return on_step


@pytest.mark.parametrize("stop", [2, 5, 10])  # mid-epoch, and after an epoch's last step
def test_interrupt_anywhere_then_resume_equals_a_straight_run(tmp_path: Path, stop: int) -> None:
    straight = run(tmp_path / "a.pt")
    assert [h["epoch"] for h in straight["history"]] == [1, 2, 3]
    with pytest.raises(TrainingInterrupted, match="resumable"):
        run(tmp_path / "b.pt", on_step=sigint_at(stop))
    partial = torch.load(tmp_path / "b.pt", weights_only=True)
    assert partial["status"] == "interrupted" and partial["step"] == stop
    assert len(partial["history"]) == (stop - 1) // 5  # the epoch of the last step is not over
    resumed = run(tmp_path / "b.pt", partial)
    assert resumed["status"] == "complete" and resumed["history"] == straight["history"]
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name


def test_inconsistent_state_and_oversized_batches_are_refused(tmp_path: Path) -> None:
    straight = run(tmp_path / "a.pt")
    with pytest.raises(EvosnnError, match="inconsistent training state"):
        run(tmp_path / "a.pt", {**straight, "history": []})
    with pytest.raises(EvosnnError, match="batch size 64 is larger than the 40 training images"):
        steps_per_epoch(40, 64)


def test_the_supernet_trainer_needs_no_search_space(tmp_path: Path) -> None:
    images = torch.randint(0, 256, (48, 1, 8, 8), dtype=torch.uint8)
    split = Split(images, torch.arange(48) % 4)
    splits = Splits(split, split, split, (0.5,), (0.25,))
    small = SubnetConfig(
        depth=1,
        embed_dim=16,
        mlp_ratio=(1.0,),
        num_heads=(2,),
        threshold=(1.0,),
        tau=(2.0,),
        time_steps=1,
    )
    drawn: list[int] = []

    def sample(rng: random.Random, step: int) -> list[SubnetConfig]:
        drawn.append(step)
        return [small]

    def build() -> SpikformerSupernet:
        return SpikformerSupernet(
            Geometry(image_size=8, in_channels=1, num_classes=4), depth=1, embed_dim=16,
            mlp_ratio=1.0, num_heads=2,
        )  # fmt: skip

    settings = TrainSettings(epochs=1, batch_size=16, warmup_epochs=0, recal_batches=1)
    path = tmp_path / "supernet.pt"
    with pytest.raises(ValueError, match="own keys"):
        fit_supernet(SupernetPlan(build, sample, {}, {"model": 1}), splits, path, settings)
    plan = SupernetPlan(build, sample, {"small": small}, {"space": {"anything": [1, 2]}})
    result = fit_supernet(plan, splits, path, settings, options=FitOptions(progress=False))
    assert drawn == [0, 1, 2]
    stored = load_checkpoint(path)
    assert stored["space"] == {"anything": [1, 2]} and stored["status"] == "complete"
    assert set(result["metrics"][0]) == {"epoch", "step", "loss", "lr", "val_acc_small"}
