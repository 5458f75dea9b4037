"""Whatever Ray state the machine is in, ``evosnn search`` and ``evosnn train --tune`` work.

Issue 34: without ``--ray-address`` a command joins the cluster ``RAY_ADDRESS`` names (and says so),
otherwise starts a private local instance, never attaching to a live ``ray start`` head or to the
current-cluster file a dead one left. Everything here is real: a ``ray start --head --block`` on
a loopback port (stopped by the test, in a ``finally``), a stale current-cluster file planted under
a private ``RAY_TMPDIR`` (Ray reads ``$RAY_TMPDIR/ray/ray_current_cluster``), and the CLI run as
subprocesses.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import ROOT, tiny_dict, write_space
from tests.studies import searched_tiny_study

pytestmark = [pytest.mark.slow, pytest.mark.ray]

RAY = Path(sys.executable).with_name("ray")
SEARCH = ["--workers", "1", "--population", "2", "--generations", "1"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _private_tmp() -> Path:
    """A short private RAY_TMPDIR (Ray's socket paths must stay under 108 characters)."""
    return Path(tempfile.mkdtemp(prefix="evr", dir="/tmp"))


def _cluster_file(tmpdir: Path) -> Path:
    return tmpdir / "ray" / "ray_current_cluster"


@pytest.fixture(scope="module")
def head() -> Iterator[tuple[str, Path]]:
    """A live ``ray start --head`` on a loopback port; yields (address, its RAY_TMPDIR)."""
    tmpdir, port = _private_tmp(), _free_port()
    env = {**os.environ, "RAY_TMPDIR": str(tmpdir)}
    env.pop("RAY_ADDRESS", None)
    process = subprocess.Popen(
        [
            str(RAY),
            "start",
            "--head",
            "--block",
            f"--port={port}",
            "--num-cpus=1",
            "--node-ip-address=127.0.0.1",
            "--include-dashboard=false",
            "--disable-usage-stats",
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own process group: stopped whole, nobody else's touched
    )
    try:
        deadline = time.monotonic() + 120
        while not _cluster_file(tmpdir).is_file():  # written once the head is up
            assert process.poll() is None, "ray start --head exited"
            assert time.monotonic() < deadline, "ray start --head did not come up"
            time.sleep(0.5)
        yield f"127.0.0.1:{port}", tmpdir
    finally:
        process.send_signal(signal.SIGTERM)  # --block: drains and stops the head's processes
        try:
            process.wait(timeout=60)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)  # anything of that group still left


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> Path:
    """An exported architecture of a tiny study (searched in this process, without Ray)."""
    from evosnn.reporting.export import export_study

    base = tmp_path_factory.mktemp("ray-state")
    url = searched_tiny_study(base, tiny_checkpoint, "t")
    return export_study(url, "t", base / "export", pick="knee")[0]


def _evosnn(args: list[str], tmpdir: Path, cwd: Path, **env: str) -> subprocess.Popen[str]:
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_TMPDIR": str(tmpdir), **env}
    if "RAY_ADDRESS" not in env:
        environment.pop("RAY_ADDRESS", None)
    return subprocess.Popen(
        [sys.executable, "-m", "evosnn.cli", *args],
        cwd=cwd,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(process: subprocess.Popen[str]) -> tuple[int, str]:
    out, err = process.communicate(timeout=600)
    return process.returncode, out + err


def _search(
    tmp_path: Path, checkpoint: Path, tmpdir: Path, name: str, **env: str
) -> subprocess.Popen[str]:
    space = write_space(tmp_path, tiny_dict(), f"{name}.yaml")
    return _evosnn(
        [
            "search",
            "--space",
            str(space),
            "--supernet",
            str(checkpoint),
            "--storage",
            f"sqlite:///{tmp_path / name}.db",
            "--study",
            name,
            *SEARCH,
        ],
        tmpdir,
        tmp_path,
        **env,
    )


def test_search_and_tune_beside_a_live_head(
    head: tuple[str, Path], tiny_checkpoint: Path, exported: Path, tmp_path: Path
) -> None:
    _, tmpdir = head
    assert _cluster_file(tmpdir).is_file()  # what ray.init() would have attached to
    status, output = _finish(_search(tmp_path, tiny_checkpoint, tmpdir, "beside"))
    assert status == 0, output[-3000:]
    assert "Pareto front" in output and "joining" not in output
    tune = _evosnn(
        ["train", str(exported), "--tune", "--epochs", "1", "--out", str(tmp_path / "tuned")],
        tmpdir,
        tmp_path,
    )
    status, output = _finish(tune)
    assert status == 0, output[-3000:]
    assert "best lr" in output


def _searched_on_ray(tmp_path: Path, name: str, driver: subprocess.Popen[str]) -> None:
    """The study ``name`` holds its 2 x 1 genomes, each evaluated on a Ray worker (a process
    other than the driver's)."""
    import optuna

    study = optuna.load_study(study_name=name, storage=f"sqlite:///{tmp_path / name}.db")
    done = study.get_trials(states=(optuna.trial.TrialState.COMPLETE,))
    assert len(done) == 2, [t.state for t in study.trials]
    assert all(t.user_attrs["worker_pid"] not in (None, driver.pid) for t in done)


def test_search_beside_a_stale_cluster_file(tiny_checkpoint: Path, tmp_path: Path) -> None:
    tmpdir = _private_tmp()
    _cluster_file(tmpdir).parent.mkdir(parents=True)
    _cluster_file(tmpdir).write_text(f"127.0.0.1:{_free_port()}")  # a head that died
    search = _search(tmp_path, tiny_checkpoint, tmpdir, "stale")
    status, output = _finish(search)
    assert status == 0, output[-3000:]
    assert "Pareto front" in output and "joining" not in output  # a private instance, not it
    _searched_on_ray(tmp_path, "stale", search)


def test_ray_address_joins_that_cluster_and_says_so(
    head: tuple[str, Path], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    address, _ = head
    elsewhere = _private_tmp()  # the driver finds the head only through RAY_ADDRESS
    search = _search(tmp_path, tiny_checkpoint, elsewhere, "joined", RAY_ADDRESS=address)
    status, output = _finish(search)
    assert status == 0, output[-3000:]
    assert f"joining the Ray cluster at {address} named by RAY_ADDRESS" in output


def test_a_failed_join_names_the_cluster_and_the_choice(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    dead = f"127.0.0.1:{_free_port()}"
    search = _search(tmp_path, tiny_checkpoint, _private_tmp(), "dead", RAY_ADDRESS=dead)
    status, output = _finish(search)
    last = output.strip().splitlines()[-1]
    assert status == 2, output[-3000:]
    assert last.startswith(f"evosnn: error: cannot join the Ray cluster at {dead} (RAY_ADDRESS)")
    assert "--ray-address local" in last and "Traceback" not in output


def test_two_searches_at_once_both_complete(tiny_checkpoint: Path, tmp_path: Path) -> None:
    tmpdir = _private_tmp()
    first = _search(tmp_path, tiny_checkpoint, tmpdir, "first")
    second = _search(tmp_path, tiny_checkpoint, tmpdir, "second")
    for name, process in (("first", first), ("second", second)):
        status, output = _finish(process)
        assert status == 0, output[-3000:]
        assert "Pareto front" in output and "joining" not in output
        _searched_on_ray(tmp_path, name, process)


@pytest.mark.parametrize(
    ("command", "env"),
    [
        ("search", {"RAY_ADDRESS": "auto"}),
        ("search --ray-address auto", {}),
        ("supernet train --workers 1 --ray-address auto", {}),
    ],
)
def test_auto_with_a_stale_cluster_file_is_refused_at_once(
    tiny_checkpoint: Path, tmp_path: Path, command: str, env: dict[str, str]
) -> None:
    """``auto`` resolves to the recorded address, which is probed like any ``host:port``: a
    dead one is one line at once, instead of "Failed to connect to GCS" for ever (issue 43)."""
    tmpdir = _private_tmp()
    dead = f"127.0.0.1:{_free_port()}"
    _cluster_file(tmpdir).parent.mkdir(parents=True)
    _cluster_file(tmpdir).write_text(dead)
    space = str(write_space(tmp_path, tiny_dict()))
    if command.startswith("search"):
        where = ["--space", space, "--supernet", str(tiny_checkpoint), *SEARCH]
        where += ["--storage", f"sqlite:///{tmp_path / 'a.db'}", "--study", "a"]
    else:
        where = ["--space", space, "--out", str(tmp_path / "r"), "--epochs", "1"]
    words = command.split()
    split = 1 if words[0] == "search" else 2
    process = _evosnn([*words[:split], *where, *words[split:]], tmpdir, tmp_path, **env)
    status, output = _finish(process)
    last = output.strip().splitlines()[-1]
    assert status == 2, output[-3000:]
    assert last.startswith("evosnn: error: cannot join the Ray cluster at auto"), last
    assert dead in last and "Traceback" not in output
    assert not (tmp_path / "r" / "supernet.pt").exists()
