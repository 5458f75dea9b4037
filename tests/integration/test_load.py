"""Load: a 5,000-trial study on SQLite and on PostgreSQL. Resume, export, report and the
dashboard's API all work at that size (their timings are measured by benchmarks/bench_load.py)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import optuna
import pytest
from optuna.trial import TrialState

from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.reporting.export import export_study
from evosnn.reporting.report import write_report
from evosnn.search import SearchSettings, search_study
from evosnn.storage.ledger import Ledger
from tests.conftest import local_ray, tiny_dict
from tests.integration.test_dashboard import dashboard, get
from tests.seed import seed_study, synthetic_evaluation, trial_attrs

pytestmark = pytest.mark.slow
POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
TRIALS = 5000


def wide_space() -> SearchSpace:
    """The tiny space with more neuron choices: about 16,000 subnets, room for 5,000 distinct."""
    data: dict[str, Any] = tiny_dict()
    data["name"] = "tiny-wide"
    data["choices"]["threshold"] = [0.5, 0.75, 1.0, 1.25]
    data["choices"]["tau"] = [1.5, 2.0, 3.0, 4.0]
    return SearchSpace.from_dict(data)


@pytest.fixture(scope="module")
def wide_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from evosnn.data.loading import load_splits
    from evosnn.training.supernet_training import train_supernet_for
    from supernet.recipe import TrainSettings

    space = wide_space()
    out = tmp_path_factory.mktemp("wide-run")
    settings = TrainSettings(epochs=1, batch_size=32, warmup_epochs=0, recal_batches=1)
    train_supernet_for(space, load_splits(space.dataset), out, settings, progress=False)
    return out / "supernet.pt"


def test_seeded_trials_read_back_like_driver_written_ones(tmp_path: Path) -> None:
    import random

    space = wide_space()
    codec = GenomeCodec(space)
    (genome,) = seed_study(f"sqlite:///{tmp_path / 'a.db'}", "s", space, 1)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'b.db'}", "s", codec)
    evaluation = synthetic_evaluation(codec, genome, random.Random(0))
    trial_id = ledger.start(genome, {"generation": 0, "engine": "pymoo"})
    extra = trial_attrs(genome, evaluation, 0)
    ledger.finish(
        trial_id, evaluation, {k: extra[k] for k in ("attempts", "worker", "worker_pid",
                                                     "violation", "feasible")}
    )  # fmt: skip
    seeded, written = (
        optuna.load_study(study_name="s", storage=f"sqlite:///{tmp_path / name}").trials[0]
        for name in ("a.db", "b.db")
    )
    assert seeded.params == written.params and seeded.distributions == written.distributions
    assert seeded.state == written.state == TrialState.COMPLETE
    assert set(seeded.user_attrs) == set(written.user_attrs)


@pytest.mark.ray
@pytest.mark.server
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_five_thousand_trials(backend: str, wide_checkpoint: Path, tmp_path: Path) -> None:
    space = wide_space()
    study = f"load-{uuid.uuid4().hex[:8]}"
    url = f"sqlite:///{tmp_path / 'ledger.db'}" if backend == "sqlite" else POSTGRES
    genomes = seed_study(url, study, space, TRIALS)
    assert len(genomes) == TRIALS

    # resume: the budget is 8 more than the study holds, so the driver reads all 5,000 trials,
    # replays the engine from the ledger and evaluates exactly 8 new genomes
    with local_ray():
        settings = SearchSettings(
            population=8,
            generations=(TRIALS + 8) // 8,
            workers=2,
            eval=EvalSettings(recal_batches=1, recal_batch_size=16),
        )
        summary = search_study(space, wide_checkpoint, url, study, settings, progress=False)
    assert summary.completed == TRIALS + 8 and summary.evaluated_now == 8
    codec = GenomeCodec(space)
    records = Ledger.open(url, study, codec, create=False).records()
    keys = [codec.canonical(r.genome) for r in records if r.state == TrialState.COMPLETE]
    assert len(keys) == len(set(keys)) == TRIALS + 8

    written = export_study(url, study, tmp_path / "export", pick="pareto")
    assert written and all(p.suffix == ".yaml" for p in written)
    report = write_report(url, study, tmp_path / "report")
    assert report.evaluations == TRIALS + 8 and report.pareto_size == len(written)

    with dashboard(url) as base:
        studies = get(f"{base}/api/studies")["study_summaries"]
        (entry,) = [s for s in studies if s["study_name"] == study]
        detail = get(f"{base}/api/studies/{entry['study_id']}")
        assert len(detail["trials"]) == TRIALS + 8
        graphs = {g["id"]: json.loads(g["graph_object"]) for g in detail["plotly_graph_objects"]}
        assert graphs["evosnn-hypervolume"]["data"][0]["x"][-1] == len(keys)
