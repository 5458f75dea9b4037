"""`evosnn train --tune`: Ray Tune trials with ASHA, results on the source trials, driver SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import optuna
import pytest
import ray

from evosnn.evaluation import EvalSettings
from evosnn.export import export_study
from evosnn.search import SearchSettings, run_search
from evosnn.space import SearchSpace
from tests.conftest import tiny_dict

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def exported(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A tiny finished search in SQLite and its knee exported with weights."""
    folder = tmp_path_factory.mktemp("tune-study")
    url = f"sqlite:///{folder / 'ledger.db'}"
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    try:
        settings = SearchSettings(
            population=4, generations=1, workers=2, eval=EvalSettings(recal_batches=1)
        )
        run_search(
            SearchSpace.from_dict(tiny_dict()), tiny_checkpoint, url, "s", settings, progress=False
        )
    finally:
        ray.shutdown()
    (knee,) = [
        p
        for p in export_study(url, "s", folder / "knee", pick="knee", supernet=tiny_checkpoint)
        if p.suffix == ".yaml"
    ]
    return url, knee


def tune_command(knee: Path, out: Path, epochs: int) -> list[str]:
    return [
        sys.executable, "-m", "evosnn.cli", "train", str(knee), "--tune", "--init", "inherited",
        "--lr-sweep", "1e-3", "3e-3", "--asha", "--grace-epochs", "1", "--epochs", str(epochs),
        "--batch-size", "32", "--out", str(out),
    ]  # fmt: skip


def retrained(url: str, knee: Path) -> dict[str, float]:
    from evosnn.export import load_export

    number = load_export(knee).provenance["trial"]
    trial = optuna.load_study(study_name="s", storage=url).trials[number]
    return {k: v for k, v in trial.user_attrs.items() if k.startswith("retrained_")}


def test_tune_retrains_and_records_on_the_trial(exported: tuple[str, Path], tmp_path: Path) -> None:
    url, knee = exported
    run = subprocess.run(
        tune_command(knee, tmp_path, epochs=3), capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stderr[-3000:]
    assert "best lr" in run.stdout and "recorded on trial" in run.stdout
    attrs = retrained(url, knee)
    assert attrs["retrained_lr"] in (1e-3, 3e-3) and attrs["retrained_epochs"] == 3
    assert 0 <= attrs["retrained_test_accuracy"] <= 1 and attrs["retrained_energy_mj"] > 0
    assert Path(str(attrs["retrained_checkpoint"])).is_file()
    # the same folder with other settings is refused, not overwritten
    other = subprocess.run(
        tune_command(knee, tmp_path, epochs=5), capture_output=True, text=True, timeout=300
    )
    assert other.returncode == 2 and "holds a Tune run of other" in other.stderr


def test_tune_driver_sigkill_then_rerun_resumes(exported: tuple[str, Path], tmp_path: Path) -> None:
    url, knee = exported
    command = tune_command(knee, tmp_path, epochs=6)
    driver = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    experiment = tmp_path / "tune" / "evosnn-train"
    deadline = time.monotonic() + 240
    try:  # kill the driver once a trial has reported its second epoch's checkpoint
        while not any(experiment.glob("*/checkpoint_000001")):
            assert driver.poll() is None, "the Tune run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint appeared"
            time.sleep(0.2)
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        driver.wait(timeout=60)
    os.killpg(driver.pid, signal.SIGKILL)  # the orphaned local Ray instance of the dead driver
    before = {p.parent.name for p in experiment.glob("*/checkpoint_*")}
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "resuming the Tune experiment" in run.stderr
    assert {p.parent.name for p in experiment.glob("*/checkpoint_*")} >= before  # same trials
    assert len({p.name for p in experiment.iterdir() if p.is_dir()}) == 2  # no new trials
    assert retrained(url, knee)["retrained_epochs"] == 6


def trial_pids() -> list[int]:
    """PIDs of running Tune trial processes (Ray titles them ``ray::ImplicitFunc...``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if title.startswith("ray::ImplicitFunc"):
                pids.append(int(entry.name))
    return pids


def test_a_killed_tune_trial_is_retried_from_its_checkpoint(
    exported: tuple[str, Path], tmp_path: Path
) -> None:
    url, knee = exported
    command = [*tune_command(knee, tmp_path, epochs=6), "--max-failures", "2"]
    command[command.index("--lr-sweep") + 1 : command.index("--lr-sweep") + 3] = ["3e-3"]
    driver = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    experiment = tmp_path / "tune" / "evosnn-train"
    killed = []
    deadline = time.monotonic() + 240
    try:
        while not killed:
            assert driver.poll() is None, "the run ended before a trial could be killed"
            assert time.monotonic() < deadline, "no trial reported a checkpoint"
            if any(experiment.glob("*/checkpoint_000001")) and trial_pids():
                killed = trial_pids()
                for pid in killed:
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
        stdout, stderr = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    assert "best lr 0.003" in stdout
    assert list(experiment.glob("*/error.txt"))  # Tune saw the failure and retried the trial
    assert retrained(url, knee)["retrained_epochs"] == 6
