"""One short end-to-end search on the embedded event task (digits-events, frame banks)."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace, load_space
from evosnn.data.loading import load_splits
from evosnn.search import SearchSettings, search_study
from evosnn.training.supernet_training import train_supernet_for
from supernet.recipe import TrainSettings

pytestmark = pytest.mark.slow
SPACE = Path(__file__).resolve().parents[2] / "search_spaces" / "digits-events-tiny.yaml"


def test_a_search_on_the_event_task_evaluates_every_candidate(tmp_path: Path) -> None:
    data = load_space(SPACE).to_dict()
    data["dataset"]["synthetic_size"] = 200
    data["supernet"]["embed_dim"] = 32
    data["choices"]["embed_dim"] = [16, 32]
    space = SearchSpace.from_dict(data)
    assert space.dataset.frames == [2, 4, 6]
    splits = load_splits(space.dataset)
    settings = TrainSettings(epochs=1, batch_size=32, warmup_epochs=1, recal_batches=1)
    train_supernet_for(space, splits, tmp_path, settings, progress=False)
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    search = SearchSettings(
        population=4,
        generations=2,
        workers=0,
        seed=0,
        eval=EvalSettings(recal_batches=1, recal_batch_size=16),
    )
    summary = search_study(space, tmp_path / "supernet.pt", url, "events", search, progress=False)
    assert summary.completed == 8
    done = [
        t
        for t in optuna.load_study(study_name="events", storage=url).get_trials()
        if t.state == TrialState.COMPLETE
    ]
    assert len(done) == 8
    assert {t.params["time_steps"] for t in done} <= {2, 4, 6}
    for t in done:
        accuracy, energy = t.values
        assert 0.0 <= accuracy <= 1.0 and energy > 0
