from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any

import pytest
import torch

from evosnn.core.errors import CheckpointError
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.evaluate.models import load_supernet
from evosnn.training.supernet_training import train_supernet_for as train_supernet
from supernet.batches import Splits
from supernet.checkpoint import file_sha256, load_checkpoint
from supernet.fit import TrainingDiverged, TrainingInterrupted
from supernet.recipe import TrainSettings
from tests.conftest import tiny_dict

SETTINGS = TrainSettings(epochs=2, batch_size=32, lr=3e-3, warmup_epochs=1, recal_batches=1)


@pytest.fixture(scope="module")
def splits() -> Splits:
    space = SearchSpace.from_dict(tiny_dict())
    return load_splits(space.dataset)


def interrupt_at(target: int) -> Any:
    def on_step(step: int, loss: float) -> None:
        if step == target:
            os.kill(os.getpid(), signal.SIGINT)

    return on_step


def test_checkpoint_contents_and_weights_only_load(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    result = train_supernet(tiny_space, splits, tmp_path, SETTINGS, progress=False)
    path = tmp_path / "supernet.pt"
    data = torch.load(path, weights_only=True)
    assert data["status"] == "complete" and data["epoch"] == 2
    assert data["step"] == result["step"] == 2 * (len(splits.train) // 32)
    assert SearchSpace.from_dict(data["space"]) == tiny_space
    assert data["train_config"]["lr"] == 3e-3
    assert {"optimizer", "scheduler", "model"} <= set(data)
    assert [m["epoch"] for m in data["metrics"]] == [1, 2]
    assert all(0 <= m["val_acc_largest"] <= 1 for m in data["metrics"])
    assert len(file_sha256(path)) == 64
    net, _ = load_supernet(path, tiny_space)
    assert not net.training


def test_ctrl_c_then_resume_equals_an_uninterrupted_run(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    straight = train_supernet(tiny_space, splits, tmp_path / "a", SETTINGS, progress=False)
    with pytest.raises(TrainingInterrupted, match="resumable"):
        train_supernet(
            tiny_space, splits, tmp_path / "b", SETTINGS, progress=False, on_step=interrupt_at(3)
        )
    partial = load_checkpoint(tmp_path / "b" / "supernet.pt")
    assert partial["status"] == "interrupted" and partial["step"] == 3
    resumed = train_supernet(
        tiny_space, splits, tmp_path / "b", SETTINGS, resume=True, progress=False
    )
    assert resumed["step"] == straight["step"]
    for name, tensor in straight["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    with pytest.raises(TrainingInterrupted):
        train_supernet(
            tiny_space, splits, tmp_path, SETTINGS, progress=False, on_step=interrupt_at(2)
        )
    path = tmp_path / "supernet.pt"
    data = torch.load(path, weights_only=True)
    data["model"]["head.weight"].fill_(float("nan"))
    torch.save(data, path)
    before = file_sha256(path)
    with pytest.raises(TrainingDiverged, match="loss became nan"):
        train_supernet(tiny_space, splits, tmp_path, SETTINGS, resume=True, progress=False)
    assert file_sha256(path) == before


def test_refuses_to_overwrite_or_resume_another_space(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    with pytest.raises(TrainingInterrupted):
        train_supernet(
            tiny_space, splits, tmp_path, SETTINGS, progress=False, on_step=interrupt_at(1)
        )
    before = file_sha256(tmp_path / "supernet.pt")
    with pytest.raises(CheckpointError, match="already exists"):
        train_supernet(tiny_space, splits, tmp_path, SETTINGS, progress=False)
    other = tiny_dict()
    other["choices"]["tau"] = [2.0]
    with pytest.raises(CheckpointError, match="another search space"):
        train_supernet(
            SearchSpace.from_dict(other), splits, tmp_path, SETTINGS, resume=True, progress=False
        )
    assert file_sha256(tmp_path / "supernet.pt") == before


class _Evil:
    def __reduce__(self) -> Any:
        return (os.system, ("echo pwned",))


def test_bad_checkpoints_are_refused(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    with pytest.raises(TrainingInterrupted):
        train_supernet(
            tiny_space, splits, tmp_path, SETTINGS, progress=False, on_step=interrupt_at(1)
        )
    good = tmp_path / "supernet.pt"
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(good.read_bytes()[:2000])
    with pytest.raises(CheckpointError, match=r"truncated\.pt"):
        load_checkpoint(truncated)
    evil = tmp_path / "evil.pt"
    torch.save({"format": "evosnn-supernet/1", "payload": _Evil()}, evil)
    with pytest.raises(CheckpointError, match="refused to load"):
        load_checkpoint(evil)
    with pytest.raises(CheckpointError, match="not found"):
        load_checkpoint(tmp_path / "missing.pt")
    other = tiny_dict()
    other["supernet"]["embed_dim"] = 64
    other["choices"]["embed_dim"] = [32, 64]
    with pytest.raises(CheckpointError, match="trained for another search space"):
        load_supernet(good, SearchSpace.from_dict(other))


@pytest.mark.slow
def test_sigkill_then_resume_equals_an_uninterrupted_run(tmp_path: Path) -> None:
    """`evosnn supernet train` killed with SIGKILL after its first checkpoint; --resume finishes
    with weights bit-identical to an uninterrupted run."""
    import subprocess
    import sys
    import time

    import yaml

    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(yaml.safe_dump(tiny_dict()))

    def command(out: Path, *extra: str) -> list[str]:
        return [
            sys.executable, "-m", "evosnn.cli", "supernet", "train", "--space", str(space_file),
            "--out", str(out), "--epochs", "4", "--batch-size", "16", "--threads", "1", *extra,
        ]  # fmt: skip

    killed = tmp_path / "killed"
    driver = subprocess.Popen(command(killed), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not (killed / "supernet.pt").exists():
        assert driver.poll() is None, "training finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    driver.kill()
    driver.wait()
    partial = load_checkpoint(killed / "supernet.pt")
    assert partial["status"] == "in-progress"
    subprocess.run(command(killed, "--resume"), check=True, capture_output=True, timeout=300)
    subprocess.run(command(tmp_path / "straight"), check=True, capture_output=True, timeout=300)
    resumed, straight = (
        load_checkpoint(folder / "supernet.pt") for folder in (killed, tmp_path / "straight")
    )
    assert resumed["status"] == straight["status"] == "complete"
    assert resumed["model"].keys() == straight["model"].keys()
    for name, tensor in straight["model"].items():
        assert torch.equal(resumed["model"][name], tensor), name


def test_distillation_teaches_the_sandwich_from_the_largest_subnet(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    """``distill`` draws the sandwich's subnets, its first one the largest at default neurons, and
    trains the others on that subnet's predictions: a different run than the plain sandwich, and
    a reproducible one."""
    import random

    from evosnn.core.config import SubnetConfig
    from evosnn.training.supernet_training import sampler_for

    sandwich, distill = sampler_for(tiny_space, "sandwich"), sampler_for(tiny_space, "distill")
    for step in range(5):
        plain, taught = sandwich(random.Random(step), step), distill(random.Random(step), step)
        assert taught[0] == SubnetConfig.largest(tiny_space)
        assert taught[1:] == plain[1:]
    runs = {
        name: train_supernet(
            tiny_space,
            splits,
            tmp_path / name,
            TrainSettings(**{**SETTINGS.to_dict(), "epochs": 1, "sampling": name.rstrip("2")}),
            progress=False,
        )
        for name in ("sandwich", "distill", "distill2")
    }
    losses = {name: [m["loss"] for m in run["metrics"]] for name, run in runs.items()}
    assert losses["distill"] == losses["distill2"]
    assert losses["distill"] != losses["sandwich"]
    assert runs["distill"]["train_config"]["sampling"] == "distill"


def test_smallest_sampling_trains_the_smallest_architecture_and_one_random_subnet(
    tmp_path: Path, tiny_space: SearchSpace, splits: Splits
) -> None:
    """``smallest``: every step the smallest architecture (with the step's random neuron genes)
    plus one random subnet, the bottom half of the sandwich; a training with it runs and records
    its rule."""
    import random

    from evosnn.core.config import SubnetConfig
    from evosnn.training.supernet_training import sampler_for

    smallest = sampler_for(tiny_space, "smallest")
    bottom = SubnetConfig.smallest(tiny_space)
    neurons = set()
    for step in range(20):
        configs = smallest(random.Random(step), step)
        assert len(configs) == 2
        small = configs[0]
        shape = (small.depth, small.embed_dim, small.mlp_ratio, small.num_heads)
        assert shape == (bottom.depth, bottom.embed_dim, bottom.mlp_ratio, bottom.num_heads)
        neurons.add((small.threshold, small.tau, small.time_steps))
    assert len(neurons) > 1  # the neuron genes are drawn, not the defaults
    run = train_supernet(
        tiny_space,
        splits,
        tmp_path / "smallest",
        TrainSettings(**{**SETTINGS.to_dict(), "epochs": 1, "sampling": "smallest"}),
        progress=False,
    )
    assert run["status"] == "complete"
    assert run["train_config"]["sampling"] == "smallest"
