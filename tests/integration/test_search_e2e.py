"""End-to-end searches through the CLI in separate processes: SIGKILL and resume; a Ray cluster."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from tests.conftest import tiny_dict

pytestmark = [pytest.mark.slow, pytest.mark.ray]
SEARCH_TIMEOUT = float(os.environ.get("EVOSNN_TEST_SEARCH_TIMEOUT", "240"))


def search_command(space: Path, checkpoint: Path, url: str, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "evosnn.cli",
        "search",
        "--space",
        str(space),
        "--supernet",
        str(checkpoint),
        "--storage",
        url,
        "--study",
        "s",
        "--population",
        "4",
        "--generations",
        "4",
        "--workers",
        "2",
        "--recal-batches",
        "1",
        *extra,
    ]


def complete_trials(url: str) -> list[optuna.trial.FrozenTrial]:
    try:
        study = optuna.load_study(study_name="s", storage=url)
    except KeyError:
        return []
    return [t for t in study.get_trials(deepcopy=False) if t.state == TrialState.COMPLETE]


def kill_when(
    command: list[str], ready: Callable[[str | None], bool], timeout: float = 120
) -> None:
    """Start the driver, SIGKILL it the moment ``ready`` holds, then its Ray processes too.

    ``ready`` sees every stderr line as it is printed (the driver runs with -v) and None on idle
    ticks, when it can look at the database instead.
    """
    driver = subprocess.Popen(
        [*command[:3], "-v", *command[3:]],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert driver.stderr is not None
    hit = threading.Event()

    def watch() -> None:
        assert driver.stderr is not None
        for line in driver.stderr:
            if not hit.is_set() and ready(line):
                os.kill(driver.pid, signal.SIGKILL)
                hit.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    deadline = time.monotonic() + timeout
    while not hit.is_set():
        assert driver.poll() is None, "the search finished before it could be killed"
        assert time.monotonic() < deadline, "the kill point never came"
        if ready(None):
            os.kill(driver.pid, signal.SIGKILL)
            hit.set()
        time.sleep(0.05)
    driver.wait()
    with contextlib.suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(driver.pid, signal.SIGKILL)  # its Ray processes share the session
    reader.join(timeout=10)


KILL_POINTS: dict[str, Callable[[str], Callable[[str | None], bool]]] = {
    # while the workers are being started and load the supernet: nothing evaluated yet
    "loading": lambda url: lambda line: line is not None and "each loads the supernet" in line,
    # mid-generation: 6 evaluations recorded (generations are 4 long)
    "mid-generation": lambda url: lambda line: line is None and len(complete_trials(url)) >= 6,
    # right after a tell: the engine has been told its 7th result
    "after-tell": lambda url: lambda line: line is not None and "told 7:" in line,
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_then_rerun_loses_nothing_and_repeats_nothing(
    tmp_path: Path, tiny_checkpoint: Path, point: str
) -> None:
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(yaml.safe_dump(tiny_dict()))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    command = search_command(space_file, tiny_checkpoint, url)
    kill_when(command, KILL_POINTS[point](url))
    done_before = {tuple(t.user_attrs["genome"]) for t in complete_trials(url)}
    assert len(done_before) < 16
    if point != "loading":
        assert len(done_before) >= 5
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    codec = GenomeCodec(SearchSpace.from_dict(tiny_dict()))
    study = optuna.load_study(study_name="s", storage=url)
    trials = study.get_trials(deepcopy=False)
    complete = [t for t in trials if t.state == TrialState.COMPLETE]
    keys = [codec.canonical(t.user_attrs["genome"]) for t in complete]
    assert len(complete) == 16 and len(set(keys)) == 16  # the budget, no genome twice
    assert done_before <= {tuple(t.user_attrs["genome"]) for t in complete}  # nothing lost
    assert not [t for t in trials if t.state == TrialState.RUNNING]
    interrupted = [t for t in trials if t.user_attrs.get("failure") == "interrupted"]
    assert all(t.state == TrialState.FAIL for t in interrupted)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_search_joins_a_ray_cluster(tmp_path: Path, tiny_checkpoint: Path) -> None:
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(yaml.safe_dump(tiny_dict()))
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    port = free_port()
    ray_bin = str(Path(sys.executable).parent / "ray")
    temp_dir = tempfile.mkdtemp(prefix="ray", dir="/tmp")  # short: Ray's socket paths are limited
    head = subprocess.Popen(
        [
            ray_bin,
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=2",
            "--include-dashboard=false",
            "--node-ip-address=127.0.0.1",
            f"--temp-dir={temp_dir}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        env = {**os.environ, "RAY_AUTH_MODE": "token"}
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # wait until the head accepts drivers
            status = [ray_bin, "status", f"--address=127.0.0.1:{port}"]
            if subprocess.run(status, capture_output=True, env=env, timeout=60).returncode == 0:
                break
            time.sleep(1)
        command = search_command(
            space_file, tiny_checkpoint, url, "--ray-address", f"127.0.0.1:{port}"
        )
        command[command.index("--generations") + 1] = "2"
        try:
            result = subprocess.run(command, capture_output=True, text=True, timeout=SEARCH_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            pytest.fail(f"the search did not finish: {str(exc.stderr or '')[-3000:]}")
        assert result.returncode == 0, result.stderr[-2000:]
        assert len(complete_trials(url)) == 8
        assert head.poll() is None  # the cluster outlives the search
    finally:
        os.killpg(head.pid, signal.SIGTERM)
        head.wait(timeout=60)
        shutil.rmtree(temp_dir, ignore_errors=True)
