"""`evosnn train --tune`: Ray Tune trials with ASHA, results on the source trials, driver SIGKILL."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import pytest

from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace
from evosnn.reporting.export import export_study
from evosnn.search import SearchSettings, search_study
from tests.conftest import local_ray, tiny_dict

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture(scope="module")
def exported(tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Path]:
    """A tiny finished search in SQLite and its knee exported with weights."""
    folder = tmp_path_factory.mktemp("tune-study")
    url = f"sqlite:///{folder / 'ledger.db'}"
    with local_ray():
        settings = SearchSettings(
            population=4, generations=1, workers=2, eval=EvalSettings(recal_batches=1)
        )
        search_study(
            SearchSpace.from_dict(tiny_dict()), tiny_checkpoint, url, "s", settings, progress=False
        )
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
    from evosnn.reporting.export import load_export

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


#: A driver like ``evosnn train --tune`` (same settings, same request, so the command resumes it),
#: whose trials run the real training but wait, after reporting their second epoch, until the
#: file GATE exists: a fault test then kills the driver or a trial at that point, whatever the
#: machine's load, instead of racing the run to its end. It records the result like the command.
PACED_DRIVER = """
import json, sys, time
from pathlib import Path
from evosnn.cli import build_parser
from evosnn.cli._args import given_values
from evosnn.reporting.export import load_export
from evosnn.training.retrain import record_in_study
from evosnn.training.tune import TuneSettings, train_one, tune_retrain
from supernet.train import TrainSettings

def paced(gate):
    def trainer(config, work, resume, report):
        def watched(metrics, path):
            report(metrics, path)
            while metrics["epoch"] >= 2 and not gate.exists():
                time.sleep(0.05)
        train_one(config, work, resume, watched)
    return trainer

gate, args = Path(sys.argv[1]), build_parser().parse_args(sys.argv[2:])
# the settings as the command builds them (flags left out take the settings' own defaults)
recipe = given_values(args, ("epochs", "batch_size", "lr"))
settings = TrainSettings(seed=args.seed, device=args.device, **recipe)
tune_settings = TuneSettings(
    lrs=tuple(args.lr_sweep or [settings.lr]), asha=args.asha,
    **given_values(args, ("grace_epochs", "max_failures", "cpus_per_trial", "gpus_per_trial")),
)
exports = [load_export(path) for path in args.architectures]
(tuned,) = tune_retrain(
    exports, args.out, settings, tune_settings, init=args.init, trainer=paced(gate)
)
record_in_study(exports[0].provenance["storage"], exports[0], tuned.best)
print(json.dumps({"lr": tuned.best.lr, "epochs": tuned.best.epochs, "trials": tuned.trials}))
"""


def paced_driver(gate: Path, command: list[str], **kwargs: Any) -> subprocess.Popen[str]:
    """``command`` (an ``evosnn train --tune`` command line) run by :data:`PACED_DRIVER`."""
    argv = command[command.index("train") :]
    return subprocess.Popen(
        [sys.executable, "-c", PACED_DRIVER, str(gate), *argv], text=True, **kwargs
    )


def wait_for(condition: Callable[[], bool], driver: subprocess.Popen[str], what: str) -> None:
    """Wait until ``condition()``; fail at once if the driver exits first."""
    deadline = time.monotonic() + 240
    while not condition():
        assert driver.poll() is None, f"the driver exited before {what}"
        assert time.monotonic() < deadline, f"no {what} in 240 s"
        time.sleep(0.1)


def test_tune_driver_sigkill_then_rerun_resumes(exported: tuple[str, Path], tmp_path: Path) -> None:
    url, knee = exported
    command = tune_command(knee, tmp_path, epochs=6)
    experiment = tmp_path / "tune" / "evosnn-train"

    def saved_second_checkpoint() -> bool:  # the driver's saved state knows an epoch-2 checkpoint
        return any(
            "checkpoint_000001" in p.read_text() for p in experiment.glob("experiment_state-*")
        )

    driver = paced_driver(
        tmp_path / "gate",  # never opened: the trials wait until the driver is killed
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        env={**os.environ, "TUNE_GLOBAL_CHECKPOINT_S": "1"},  # save the state every second
    )
    try:
        wait_for(saved_second_checkpoint, driver, "saved second-epoch checkpoint")
        os.kill(driver.pid, signal.SIGKILL)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait(timeout=60)
        with contextlib.suppress(ProcessLookupError):  # the group may be gone already
            os.killpg(driver.pid, signal.SIGKILL)  # the orphaned local Ray instance and its trials
    before = {p.parent.name for p in experiment.glob("*/checkpoint_*")}
    run = subprocess.run(command, capture_output=True, text=True, timeout=300)
    # both streams: Tune's own progress and the command's result lines go to stdout
    assert run.returncode == 0, f"stdout: {run.stdout[-3000:]}\nstderr: {run.stderr[-3000:]}"
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
    gate = tmp_path / "gate"
    driver = paced_driver(gate, command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    experiment = tmp_path / "tune" / "evosnn-train"
    try:  # the trial waits at the gate after its second epoch: kill it there, then open the gate
        wait_for(
            lambda: bool(any(experiment.glob("*/checkpoint_000001")) and trial_pids()),
            driver,
            "second-epoch checkpoint",
        )
        killed = trial_pids()
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        gate.touch()
        stdout, stderr = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    assert json.loads(stdout.splitlines()[-1]) == {"lr": 0.003, "epochs": 6, "trials": 1}
    assert list(experiment.glob("*/error.txt"))  # Tune saw the failure and retried the trial
    assert retrained(url, knee)["retrained_epochs"] == 6
