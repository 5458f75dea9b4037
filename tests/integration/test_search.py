"""The search driver against real Ray workers and real SQLite / PostgreSQL studies."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from evosnn.core.errors import StorageError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.search import SearchSettings, search_study
from evosnn.storage.ledger import Ledger
from tests.conftest import local_ray, tiny_dict

FAST_EVAL = EvalSettings(recal_batches=1, recal_batch_size=16)
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


pytestmark = pytest.mark.ray  # every test shares the module's Ray instance


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    with local_ray():
        yield


def settings(**overrides: Any) -> SearchSettings:
    base: dict[str, Any] = {
        "population": 4,
        "generations": 2,
        "workers": 2,
        "seed": 0,
        "eval": FAST_EVAL,
    }
    return SearchSettings(**{**base, **overrides})


def trials(url: str, study: str) -> list[optuna.trial.FrozenTrial]:
    return optuna.load_study(study_name=study, storage=url).get_trials(deepcopy=False)


def canonical_complete(url: str, study: str, space: SearchSpace) -> list[tuple[int, ...]]:
    codec = GenomeCodec(space)
    return [
        codec.canonical(t.user_attrs["genome"])
        for t in trials(url, study)
        if t.state == TrialState.COMPLETE
    ]


def test_every_evaluation_is_one_trial(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    summary = search_study(tiny_space, tiny_checkpoint, url, "s", settings(), progress=False)
    assert summary.completed == 8 and summary.evaluated_now == 8
    study = optuna.load_study(study_name="s", storage=url)
    assert study.metric_names == ["accuracy", "energy_mj"]
    assert [d.name for d in study.directions] == ["MAXIMIZE", "MINIMIZE"]
    complete = [t for t in study.trials if t.state == TrialState.COMPLETE]
    assert len(complete) == 8
    keys = canonical_complete(url, "s", tiny_space)
    assert len(set(keys)) == len(keys)
    trial = complete[0]
    assert trial.params["embed_dim"] in (16, 32) and trial.params["tau_0"] in (2.0, 4.0)
    for attr in (
        "f_aeb",
        "sops",
        "macs",
        "params",
        "firing_rates",
        "wall_time_s",
        "worker",
        "generation",
        "engine",
    ):
        assert attr in trial.user_attrs, attr
    assert trial.user_attrs["engine"] == "surrogate"  # the default
    attrs = study.user_attrs
    assert SearchSpace.from_dict(attrs["space"]) == tiny_space
    assert (
        len(attrs["supernet_sha256"]) == 64
        and attrs["seed"] == 0
        and attrs["engine"] == "surrogate"
    )
    assert attrs["energy_target_mj"] > 0
    assert Ledger.open(url, "s", GenomeCodec(tiny_space)).lock_holder() is None  # released
    assert summary.pareto and summary.hypervolume > 0
    largest = attrs["reference_largest"]
    assert largest["status"] == "ok" and largest["energy_mj"] == pytest.approx(
        attrs["energy_target_mj"]
    )
    # the front (and the baseline) re-scored on the held-out test split, with intervals
    front = {row.trial for row in summary.pareto}
    for t in complete:
        low, high = t.user_attrs["accuracy_ci95"]
        assert low <= t.values[0] <= high and t.user_attrs["total"] > 0
        if t.number in front:
            low, high = t.user_attrs["test_accuracy_ci95"]
            assert low <= t.user_attrs["test_accuracy"] <= high
            assert (
                t.user_attrs["test_total"] > 0
                and t.user_attrs["test_total"] != t.user_attrs["total"]
            )
        else:
            assert "test_accuracy" not in t.user_attrs  # the search never scores on test
    assert all(row.test_accuracy is not None for row in summary.pareto)
    assert attrs["engine_stats"]["proposed"] >= 8  # the engine's own counts, for people
    assert attrs["reference_largest_test"]["status"] == "ok"
    assert attrs["reference_largest_test"]["total"] != largest["total"]
    # the dashboard's figures: hypervolume curve and Pareto front by generation, ending where the
    # search ended
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

    storage = optuna.storages.RDBStorage(url)
    system_attrs = storage.get_study_system_attrs(storage.get_study_id_from_name("s"))
    figures = get_plotly_graph_objects(system_attrs)
    # the default engine (surrogate) also stores its predictors' quality
    assert set(figures) == {
        "evosnn-hypervolume",
        "evosnn-pareto",
        "evosnn-predictor",
        "evosnn-conventions",
    }
    hv = json.loads(figures["evosnn-hypervolume"])["data"][0]
    assert hv["x"][-1] == 8 and hv["y"][-1] == pytest.approx(summary.hypervolume)
    pareto = json.loads(figures["evosnn-pareto"])
    assert pareto["layout"]["sliders"][0]["steps"][-1]["label"] == "1"  # generations 0 and 1
    last_front = pareto["data"][2]  # evaluations, front after gen 0, front after gen 1, knee
    assert sorted(zip(last_front["y"], last_front["x"], strict=True)) == sorted(
        (r.accuracy, r.energy_mj) for r in summary.pareto
    )


@pytest.mark.slow  # over 10 s on 2 cores (2026-12-08, --durations)
def test_resume_extends_the_budget_without_evaluating_again(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    search_study(tiny_space, tiny_checkpoint, url, "s", settings(engine="deap"), progress=False)
    first = [t.user_attrs["genome"] for t in trials(url, "s")]
    again = search_study(
        tiny_space,
        tiny_checkpoint,
        url,
        "s",
        settings(engine="deap", generations=3),
        progress=False,
    )
    assert again.completed == 12 and again.evaluated_now == 4
    assert again.answered_from_ledger >= 8  # the replay answered the first 8 from the ledger
    keys = canonical_complete(url, "s", tiny_space)
    assert len(keys) == 12 and len(set(keys)) == 12
    assert [t.user_attrs["genome"] for t in trials(url, "s")][:8] == first


@pytest.mark.slow  # over 10 s on 2 cores (2026-12-08, --durations)
@pytest.mark.parametrize("engine", ["pymoo", "deap", "optuna", "random", "surrogate"])
def test_engines_are_reproducible(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path, engine: str
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    for name in ("a", "b"):
        search_study(
            tiny_space, tiny_checkpoint, url, name, settings(engine=engine), progress=False
        )
    genomes = {n: [t.user_attrs["genome"] for t in trials(url, n)] for n in ("a", "b")}
    assert genomes["a"] == genomes["b"]
    values = {n: [t.values for t in trials(url, n)] for n in ("a", "b")}
    assert values["a"] == values["b"]


def test_workers_0_evaluates_in_this_process_like_one_ray_worker(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    one = search_study(tiny_space, tiny_checkpoint, url, "ray", settings(workers=1), progress=False)
    here = search_study(
        tiny_space, tiny_checkpoint, url, "here", settings(workers=0), progress=False
    )
    assert here.completed == here.evaluated_now == one.completed == 8
    assert here.workers_replaced == 0 and here.pareto and here.hypervolume > 0
    recorded = {n: trials(url, n) for n in ("ray", "here")}
    assert all(t.user_attrs["worker_pid"] == os.getpid() for t in recorded["here"])
    assert all(t.user_attrs["worker_pid"] != os.getpid() for t in recorded["ray"])
    # the same window, so the same asks and tells: the same genomes, the same results
    assert [t.user_attrs["genome"] for t in recorded["here"]] == [
        t.user_attrs["genome"] for t in recorded["ray"]
    ]
    assert [t.values for t in recorded["here"]] == [t.values for t in recorded["ray"]]


def test_the_surrogate_engine_records_its_predictors(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    run = settings(engine="surrogate", workers=0, population=6, generations=3)
    summary = search_study(tiny_space, tiny_checkpoint, url, "sur", run, progress=False)
    assert summary.completed == 18
    attrs = optuna.load_study(study_name="sur", storage=url).user_attrs
    diagnostics = attrs["engine_diagnostics"]
    assert [d["generation"] for d in diagnostics] == list(range(len(diagnostics)))
    fitted = [d for d in diagnostics if isinstance(d.get("accuracy_tau"), float)]
    assert fitted and all(-1.0 <= d["accuracy_tau"] <= 1.0 for d in fitted)
    assert attrs["engine_stats"]["proposed"] >= 18
    from optuna_dashboard._custom_plot_data import get_plotly_graph_objects

    storage = optuna.storages.RDBStorage(url)
    system_attrs = storage.get_study_system_attrs(storage.get_study_id_from_name("sur"))
    assert "evosnn-predictor" in get_plotly_graph_objects(system_attrs)
    from evosnn.reporting.report import write_report

    page = write_report(url, "sur", tmp_path / "report").index.read_text()
    assert "<h2>Surrogate predictors</h2>" in page
    assert page.count("<tr><td>", page.index("Surrogate predictors")) >= len(fitted)


def test_settings_that_differ_are_refused(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    search_study(tiny_space, tiny_checkpoint, url, "s", settings(generations=1), progress=False)
    with pytest.raises(StorageError, match="different engine"):
        search_study(
            tiny_space, tiny_checkpoint, url, "s", settings(engine="random"), progress=False
        )


def test_a_second_driver_is_refused(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    ledger = Ledger.open(url, "s", GenomeCodec(tiny_space))
    ledger.acquire()  # another driver holds the study, its heartbeat running
    try:
        with pytest.raises(StorageError, match="being searched by another driver"):
            search_study(tiny_space, tiny_checkpoint, url, "s", settings(), progress=False)
    finally:
        ledger.release()
    assert not [t for t in trials(url, "s")]
    assert "workers" not in ledger.attrs() and "space" not in ledger.attrs()  # nothing was written


@pytest.mark.slow  # over 10 s on 2 cores (2026-12-08, --durations)
def test_cheap_constraints_prune_without_evaluating(tmp_path: Path, tiny_checkpoint: Path) -> None:
    data = tiny_dict()
    data["objectives"] = {"max_params_m": 0.0075}  # between the smallest and largest subnets
    space = SearchSpace.from_dict(data)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    search_study(space, tiny_checkpoint, url, "s", settings(engine="random"), progress=False)
    pruned = [t for t in trials(url, "s") if t.state == TrialState.PRUNED]
    complete = [t for t in trials(url, "s") if t.state == TrialState.COMPLETE]
    assert len(complete) == 8 and pruned
    assert all("max_params_m" in t.user_attrs["infeasible"] for t in pruned)
    assert all(t.user_attrs["params"] <= 7500 for t in complete)


@pytest.mark.postgres
def test_postgresql_storage(tiny_space: SearchSpace, tiny_checkpoint: Path) -> None:
    study = f"pg-{uuid.uuid4().hex[:8]}"
    summary = search_study(
        tiny_space, tiny_checkpoint, POSTGRES, study, settings(generations=1), progress=False
    )
    assert summary.completed == 4
    assert len(canonical_complete(POSTGRES, study, tiny_space)) == 4


def test_unreachable_database_fails_fast_without_the_password(tiny_space: SearchSpace) -> None:
    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = time.monotonic()
    with pytest.raises(StorageError) as info:
        Ledger.open(
            f"postgresql+psycopg://evosnn:s3cr3t-planted@127.0.0.1:{port}/x",
            "s",
            GenomeCodec(tiny_space),
        )
    assert time.monotonic() - started < 15
    assert "s3cr3t-planted" not in str(info.value) and "***" in str(info.value)


def evaluator_pids(busy: bool) -> list[int]:
    """PIDs of this machine's evaluator actors (Ray titles them ``ray::EvaluatorActor[.method]``)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if title.startswith("ray::EvaluatorActor") and (not busy or ".evaluate" in title):
            pids.append(int(entry.name))
    return pids


@pytest.mark.slow
@pytest.mark.parametrize("fault", ["killed", "hung"])
def test_worker_faults_during_a_search(
    tmp_path: Path, tiny_space: SearchSpace, tiny_checkpoint: Path, fault: str
) -> None:
    """An evaluator killed (SIGKILL) or frozen (SIGSTOP, past the timeout) mid-search: the search
    still completes its budget, with every genome recorded once."""
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    victims: list[int] = []

    def inject() -> None:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:  # read-only, so the driver alone creates the database
                with sqlite3.connect(f"file:{tmp_path / 'ledger.db'}?mode=ro", uri=True) as db:
                    started = db.execute("SELECT count(*) FROM trials").fetchone()[0]
            except sqlite3.Error:  # not created yet
                started = 0
            if started >= 3:
                pids = evaluator_pids(busy=True)
                if pids:
                    victims.append(pids[0])
                    os.kill(pids[0], signal.SIGKILL if fault == "killed" else signal.SIGSTOP)
                    return
            time.sleep(0.005)

    injector = threading.Thread(target=inject)
    injector.start()
    try:
        summary = search_study(
            tiny_space,
            tiny_checkpoint,
            url,
            "s",
            # only a frozen worker needs the timeout to be found; it is far above a normal
            # evaluation's time even on a starved machine (Ray runs its workers niced, so a busy
            # machine slows them most), so no healthy evaluation is ever timed out
            settings(generations=3, eval_timeout_s=60.0 if fault == "hung" else 600.0),
            progress=False,
        )
    finally:
        injector.join()
        for pid in victims:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    assert victims, "no evaluation was caught in flight"
    assert summary.completed == 12 and summary.workers_replaced >= 1
    recorded = trials(url, "s")
    keys = [
        GenomeCodec(tiny_space).canonical(t.user_attrs["genome"])
        for t in recorded
        if t.state == TrialState.COMPLETE
    ]
    assert len(keys) == len(set(keys)) == 12  # none missing, none twice
    assert not [t for t in recorded if t.state in (TrialState.RUNNING, TrialState.FAIL)]
    assert max(t.user_attrs["attempts"] for t in recorded) == 2  # the victim's genome, re-run
