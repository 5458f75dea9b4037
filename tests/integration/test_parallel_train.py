"""`evosnn supernet train --workers N`: data-parallel supernet training on Ray Train.

Two real Ray Train workers (gloo) against one process that runs the same two halves of every
batch as micro-batches: equal weights after an uninterrupted run, after a worker was SIGKILLed
mid-run (the group restarts from the last checkpoint), and after checkpoints moved between
worker counts; a killed driver resumes with ``--resume``; bad input stops before training.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml

from evosnn.core.errors import CheckpointError, EvosnnError
from evosnn.core.resources import RayResources
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.training.supernet_training import train_supernet_for, train_supernet_parallel
from supernet.checkpoint import load_checkpoint
from supernet.recipe import TrainSettings
from tests.conftest import local_ray, tiny_dict

pytestmark = [pytest.mark.slow, pytest.mark.ray]

#: 8 steps per epoch on the tiny space; long enough that a kill after the first epoch lands mid-run.
SETTINGS = TrainSettings(
    epochs=10, batch_size=16
)  # the CLI's recipe at --epochs 10 --batch-size 16
TOTAL = SETTINGS.epochs * 8


@pytest.fixture(scope="module")
def space() -> SearchSpace:
    return SearchSpace.from_dict(tiny_dict())


@pytest.fixture(scope="module")
def reference(space: SearchSpace, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One process, each batch in two micro-batches: the weights two workers must train."""
    torch.set_num_threads(1)
    out = tmp_path_factory.mktemp("reference")
    return train_supernet_for(
        space, load_splits(space.dataset), out, SETTINGS, micro_batches=2, progress=False
    )


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    with local_ray():
        yield


def train_workers() -> list[int]:
    """Process ids of the Ray Train workers of this process's Ray instance (from /proc)."""

    def parent(pid: int) -> int:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])

    def ours(pid: int) -> bool:
        while pid > 1:
            pid = parent(pid)
            if pid == os.getpid():
                return True
        return False

    found = []
    for entry in Path("/proc").iterdir():
        try:
            if (
                entry.name.isdigit()
                and (entry / "cmdline").read_bytes().startswith(b"ray::RayTrainWorker")
                and ours(int(entry.name))
            ):
                found.append(int(entry.name))
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue  # exited while we looked
    return sorted(found)


def assert_same_weights(result: Mapping[str, Any], reference: Mapping[str, Any]) -> None:
    assert result["status"] == "complete" and result["step"] == reference["step"] == TOTAL
    for name, tensor in reference["model"].items():
        if "running_" in name or "num_batches" in name:
            continue  # BN running statistics are per rank (rank 0's are written)
        torch.testing.assert_close(result["model"][name], tensor, rtol=0, atol=1e-6, msg=name)


def parallel(space: SearchSpace, out: Path, max_failures: int = 2, **kwargs: Any) -> dict[str, Any]:
    resources = RayResources(workers=2, threads=1, max_failures=max_failures)
    return train_supernet_parallel(space, out, SETTINGS, resources, progress=False, **kwargs)


def test_two_workers_train_the_weights_of_one_process(
    space: SearchSpace, reference: dict[str, Any], tmp_path: Path
) -> None:
    result = parallel(space, tmp_path)
    assert_same_weights(result, reference)
    assert (
        load_checkpoint(tmp_path / "supernet.pt")["metrics"][-1]["val_acc_largest"]
        == (reference["metrics"][-1]["val_acc_largest"])
    )


def test_a_worker_killed_mid_run_restarts_the_group_from_the_last_checkpoint(
    space: SearchSpace, reference: dict[str, Any], tmp_path: Path
) -> None:
    outcome: dict[str, Any] = {}
    runner = threading.Thread(
        target=lambda: outcome.update(result=parallel(space, tmp_path, max_failures=1))
    )
    runner.start()
    checkpoint = tmp_path / "supernet.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists():  # the event: rank 0 wrote the first epoch's checkpoint
        assert runner.is_alive() and time.monotonic() < deadline, "no checkpoint was written"
        time.sleep(0.02)
    (first, *_) = killed = train_workers()
    os.kill(first, signal.SIGKILL)
    assert load_checkpoint(checkpoint)["status"] == "in-progress", "the run ended before the kill"
    runner.join(timeout=600)
    assert not runner.is_alive()
    assert_same_weights(outcome["result"], reference)
    assert len(killed) == 2 and not set(killed) & set(train_workers())  # a new group finished


def test_a_checkpoint_moves_between_worker_counts(
    space: SearchSpace, reference: dict[str, Any], tmp_path: Path
) -> None:
    """One process stopped after 12 steps, resumed by two workers: the reference's weights."""

    class Stop(Exception):
        pass

    def stop_at(step: int, loss: float) -> None:
        if step == 12:
            raise Stop

    with pytest.raises(Stop):
        train_supernet_for(
            space,
            load_splits(space.dataset),
            tmp_path,
            SETTINGS,
            micro_batches=2,
            progress=False,
            on_step=stop_at,
        )
    assert load_checkpoint(tmp_path / "supernet.pt")["step"] == 8  # the first epoch's checkpoint
    assert_same_weights(parallel(space, tmp_path, resume=True), reference)


def test_a_killed_driver_resumes_with_resume_in_one_process(
    space: SearchSpace, reference: dict[str, Any], tmp_path: Path
) -> None:
    """`supernet train --workers 2` SIGKILLed (driver and its Ray) after the first checkpoint;
    the checkpoint two workers wrote finishes in one process with micro-batches, and the command
    re-run with --resume finishes another copy of it."""
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(yaml.safe_dump(tiny_dict()))
    out = tmp_path / "run"
    command = [
        sys.executable, "-m", "evosnn.cli", "supernet", "train", "--space", str(space_file),
        "--out", str(out), "--epochs", str(SETTINGS.epochs), "--batch-size", "16",
        "--workers", "2", "--threads", "1",
    ]  # fmt: skip
    driver = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    deadline = time.monotonic() + 300
    while not (out / "supernet.pt").exists():
        assert driver.poll() is None, "the training ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.02)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    driver.wait()
    partial = load_checkpoint(out / "supernet.pt")
    assert partial["status"] == "in-progress" and partial["step"] < TOTAL
    copy = tmp_path / "copy"
    copy.mkdir()
    (copy / "supernet.pt").write_bytes((out / "supernet.pt").read_bytes())

    resumed = train_supernet_for(
        space,
        load_splits(space.dataset),
        copy,
        SETTINGS,
        resume=True,
        micro_batches=2,
        progress=False,
    )
    assert_same_weights(resumed, reference)
    done = subprocess.run([*command, "--resume"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert_same_weights(load_checkpoint(out / "supernet.pt"), reference)


def test_more_workers_than_the_cluster_has_is_refused_before_anything_starts(
    space: SearchSpace, tmp_path: Path
) -> None:
    with pytest.raises(EvosnnError, match=r"need 16 CPU\(s\).*the Ray cluster has 2"):
        train_supernet_parallel(space, tmp_path, SETTINGS, RayResources(workers=16, threads=1))
    with pytest.raises(EvosnnError, match=r"need 2 GPU\(s\)"):
        train_supernet_parallel(
            space, tmp_path, SETTINGS, RayResources(workers=2, threads=1, gpus_per_worker=1.0)
        )
    with pytest.raises(EvosnnError, match="batch size 16 does not split evenly over 3 worker"):
        train_supernet_parallel(space, tmp_path, SETTINGS, RayResources(workers=3, threads=1))
    assert not (tmp_path / "supernet.pt").exists()
    (tmp_path / "supernet.pt").write_bytes(b"")
    with pytest.raises(CheckpointError, match="already exists; pass --resume"):
        train_supernet_parallel(space, tmp_path, SETTINGS, RayResources(workers=2, threads=1))


def test_a_data_folder_missing_on_a_worker_names_the_node_and_the_folder(tmp_path: Path) -> None:
    data = tiny_dict()
    data["dataset"] = {"name": "imagefolder", "image_size": 8, "channels": 1, "num_classes": 4}
    missing = tmp_path / "no-such-data"
    with pytest.raises(EvosnnError, match=rf"on node [\d.]+: data folder {missing} does not exist"):
        train_supernet_parallel(
            SearchSpace.from_dict(data),
            tmp_path / "run",
            SETTINGS,
            RayResources(workers=2, threads=1),
            data_root=missing,
            progress=False,
        )
    assert not (tmp_path / "run" / "supernet.pt").exists()
