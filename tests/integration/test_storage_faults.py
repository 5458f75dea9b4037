"""Storage faults during a running search: PostgreSQL restarted; the dashboard reading SQLite."""

from __future__ import annotations

import glob
import shutil
import subprocess
import time
import uuid
from pathlib import Path

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.storage.ledger import open_storage
from tests.conftest import tiny_dict
from tests.integration.test_dashboard import dashboard, get
from tests.integration.test_search_e2e import search_command

pytestmark = [pytest.mark.slow, pytest.mark.ray]
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def long_search(space_file: Path, checkpoint: Path, url: str, study: str) -> list[str]:
    command = search_command(space_file, checkpoint, url)
    command[command.index("--study") + 1] = study
    command[command.index("--population") + 1] = "8"
    command[command.index("--generations") + 1] = "6"
    return command


def complete(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    try:
        trials = optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)
    except KeyError:
        return []
    return [t for t in trials if t.state == TrialState.COMPLETE]


def assert_finished_once(url: str, study: str, budget: int) -> None:
    """The budget of evaluated genomes, each once; trials answered as equivalent to one of them
    (its heads gene inert: issue 32) are recorded beside them and point at an evaluated trial."""
    codec = GenomeCodec(SearchSpace.from_dict(tiny_dict()))
    trials = complete(url, study)
    evaluated = [t for t in trials if "equivalent_to" not in t.user_attrs]
    keys = [codec.canonical(t.user_attrs["genome"]) for t in evaluated]
    assert len(keys) == budget and len(set(keys)) == budget
    numbers = {t.number for t in evaluated}
    for t in trials:
        if "equivalent_to" in t.user_attrs:
            assert t.user_attrs["equivalent_to"] in numbers
            assert codec.canonical(t.user_attrs["genome"]) not in keys


@pytest.fixture
def space_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_dict()))
    return path


@pytest.mark.postgres
def test_postgres_restart_during_a_search(space_file: Path, tiny_checkpoint: Path) -> None:
    if shutil.which("pg_ctlcluster") is None or not glob.glob("/etc/postgresql/*"):
        pytest.skip("needs the local PostgreSQL cluster (pg_ctlcluster)")
    version = Path(sorted(glob.glob("/etc/postgresql/*"))[0]).name
    study = f"restart-{uuid.uuid4().hex[:8]}"
    driver = subprocess.Popen(
        long_search(space_file, tiny_checkpoint, POSTGRES, study),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        while len(complete(POSTGRES, study)) < 4:
            assert driver.poll() is None, "the search ended before the restart"
            assert time.monotonic() < deadline
            time.sleep(0.1)
        restart = ["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"]
        subprocess.run(restart, check=True, capture_output=True, timeout=120)
        _, stderr = driver.communicate(timeout=300)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    assert_finished_once(POSTGRES, study, 48)


@pytest.mark.server
def test_dashboard_reads_sqlite_while_the_driver_writes(
    space_file: Path, tiny_checkpoint: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    open_storage(url)  # an empty study database: the dashboard serves only one that exists
    command = long_search(space_file, tiny_checkpoint, url, "s")
    reads = 0
    with dashboard(url) as base:  # serving before the driver starts, so it reads the whole run
        driver = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        try:
            deadline = time.monotonic() + 120
            while not complete(url, "s"):
                assert driver.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
            while driver.poll() is None:  # read the study as fast as the dashboard answers
                for summary in get(f"{base}/api/studies")["study_summaries"]:
                    get(f"{base}/api/studies/{summary['study_id']}")
                    reads += 1
            _, stderr = driver.communicate(timeout=300)
        finally:
            if driver.poll() is None:
                driver.kill()
    assert driver.returncode == 0, stderr[-3000:]
    assert reads >= 3
    assert_finished_once(url, "s", 48)
