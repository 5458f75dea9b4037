"""Retraining an exported architecture: exact resume, the epoch callback, divergence, bad input."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import CheckpointError, EvosnnError
from evosnn.core.space import SearchSpace
from evosnn.evaluate.models import build_standalone
from evosnn.reporting.export import Exported
from evosnn.training.retrain import RETRAIN_FORMAT, retrain_exported
from supernet.checkpoint import file_sha256
from supernet.fit import TrainingDiverged, TrainingInterrupted
from supernet.recipe import TrainSettings
from tests.conftest import tiny_dict

SETTINGS = TrainSettings(epochs=3, batch_size=32, warmup_epochs=1)


def exported(folder: Path) -> Exported:
    """The largest subnet of the tiny space, as an exported architecture file would describe it."""
    space = SearchSpace.from_dict(tiny_dict())
    folder.mkdir(parents=True, exist_ok=True)
    return Exported(folder / "trial-00001.yaml", SubnetConfig.largest(space), space, {}, {})


def sigint_after_epoch(target: int) -> Any:
    """An on_epoch callback that presses Ctrl-C once epoch ``target`` is checkpointed."""

    def on_epoch(entry: dict[str, Any], path: Path) -> None:
        if entry["epoch"] == target:
            os.kill(os.getpid(), signal.SIGINT)

    return on_epoch


def test_ctrl_c_mid_epoch_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    arch = exported(tmp_path / "arch")
    seen: list[tuple[dict[str, Any], str]] = []

    def record(entry: dict[str, Any], path: Path) -> None:
        seen.append((dict(entry), torch.load(path, weights_only=True)["status"]))

    straight = retrain_exported(arch, tmp_path / "a", SETTINGS, progress=False, on_epoch=record)
    assert [e["epoch"] for e, _ in seen] == [1, 2, 3]
    assert [status for _, status in seen] == ["in-progress", "in-progress", "complete"]
    assert "test_acc" in seen[-1][0] and "energy_mj" in seen[-1][0]
    assert all("test_acc" not in e for e, _ in seen[:-1])
    with pytest.raises(TrainingInterrupted, match="resumable"):
        retrain_exported(
            arch, tmp_path / "b", SETTINGS, progress=False, on_epoch=sigint_after_epoch(1)
        )
    path = tmp_path / "b" / straight.checkpoint.name
    partial = torch.load(path, weights_only=True)
    per_epoch = partial["step"] - 1
    assert partial["status"] == "interrupted" and partial["format"] == RETRAIN_FORMAT
    assert len(partial["metrics"]) == 1 and per_epoch > 1  # one step into the second epoch
    resumed = retrain_exported(arch, tmp_path / "b", SETTINGS, resume=True, progress=False)
    a = torch.load(straight.checkpoint, weights_only=True)
    b = torch.load(resumed.checkpoint, weights_only=True)
    assert a["step"] == b["step"] == 3 * per_epoch
    assert a["model"].keys() == b["model"].keys()
    for name, tensor in a["model"].items():
        assert torch.equal(tensor, b["model"][name]), name
    assert (resumed.val_accuracy, resumed.test_accuracy, resumed.energy_mj) == (
        straight.val_accuracy,
        straight.test_accuracy,
        straight.energy_mj,
    )


def test_scratch_runs_follow_the_seed(tmp_path: Path) -> None:
    arch = exported(tmp_path / "arch")
    short = TrainSettings(epochs=1, batch_size=32, warmup_epochs=0)
    first = retrain_exported(arch, tmp_path / "a", short, progress=False)
    second = retrain_exported(arch, tmp_path / "b", short, progress=False)
    other = retrain_exported(
        arch, tmp_path / "c", TrainSettings.from_dict({**short.to_dict(), "seed": 1})
    )
    weights = [torch.load(r.checkpoint, weights_only=True)["model"] for r in (first, second, other)]
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])
    assert not all(torch.equal(weights[0][k], weights[2][k]) for k in weights[0])


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    arch = exported(tmp_path / "arch")
    with pytest.raises(TrainingInterrupted):
        retrain_exported(arch, tmp_path, SETTINGS, progress=False, on_epoch=sigint_after_epoch(1))
    path = tmp_path / f"{arch.path.stem}.retrained.pt"
    data = torch.load(path, weights_only=True)
    data["model"]["head.weight"].fill_(float("nan"))
    torch.save(data, path)
    before = file_sha256(path)
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        retrain_exported(arch, tmp_path, SETTINGS, resume=True, progress=False)
    assert file_sha256(path) == before


def test_inherited_weights_and_refusals(tmp_path: Path) -> None:
    arch = exported(tmp_path / "arch")
    short = TrainSettings(epochs=1, batch_size=32, warmup_epochs=0)
    with pytest.raises(CheckpointError, match="no inherited weights"):
        retrain_exported(arch, tmp_path / "x", short, init="inherited", progress=False)
    arch.weights_path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="unreadable or not this architecture's weights"):
        retrain_exported(arch, tmp_path / "x", short, init="inherited", progress=False)
    torch.manual_seed(7)
    torch.save(build_standalone(arch.config, arch.space).state_dict(), arch.weights_path)
    result = retrain_exported(arch, tmp_path / "x", short, init="inherited", progress=False)
    assert 0 <= result.test_accuracy <= 1 and result.energy_mj > 0
    with pytest.raises(CheckpointError, match="already exists"):
        retrain_exported(arch, tmp_path / "x", short, progress=False)
    with pytest.raises(CheckpointError, match="nothing to resume"):
        retrain_exported(arch, tmp_path / "y", short, resume=True, progress=False)
    with pytest.raises(EvosnnError, match="unknown --init"):
        retrain_exported(arch, tmp_path / "z", short, init="warm", progress=False)
    with pytest.raises(EvosnnError, match="larger than the"):
        retrain_exported(arch, tmp_path / "z", TrainSettings(batch_size=100_000), progress=False)
