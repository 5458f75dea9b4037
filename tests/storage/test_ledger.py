"""Ledger writes that a retry may repeat."""

from __future__ import annotations

import math
import uuid
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.storage.ledger import Ledger

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def test_a_repeated_finish_state_counts_as_done(tmp_path: Path, tiny_space: SearchSpace) -> None:
    """A retry after a commit that landed (but whose answer was lost) finds the trial finished in
    the intended state: done, not an error; a different state is still refused."""
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'l.db'}", "s", GenomeCodec(tiny_space))
    trial_id = ledger.start((0,) * 11, {"generation": 0})
    result = Evaluation(status="ok", accuracy=0.5, energy_mj=1e-4, f_aeb=0.5, sops=1.0, macs=1.0)
    ledger.finish(trial_id, result, {})
    ledger._set_state(trial_id, TrialState.COMPLETE, [0.5, 1e-4], "again")
    with pytest.raises(optuna.exceptions.UpdateFinishedTrialError):
        ledger._set_state(trial_id, TrialState.FAIL, None, "other")
    assert ledger.records()[0].state == TrialState.COMPLETE


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_records_read_infinite_and_nan_values_as_optuna_stores_them(
    backend: str, tmp_path: Path, tiny_space: SearchSpace
) -> None:
    """Optuna stores ±inf as NULL with value_type INF_POS/INF_NEG, and a NaN told to it makes the
    trial FAIL without values; records() reads what Optuna's own API reads."""
    url = f"sqlite:///{tmp_path / 'l.db'}" if backend == "sqlite" else POSTGRES
    name = f"inf-{uuid.uuid4().hex[:8]}"
    ledger = Ledger.open(url, name, GenomeCodec(tiny_space))
    study = optuna.load_study(study_name=name, storage=url)
    told = [[math.inf, -math.inf], [-math.inf, math.inf], [0.5, math.inf], [0.25, 1e-4]]
    for i, values in enumerate(told):
        trial = study.ask()
        trial.set_user_attr("genome", [i % 2] * 11)
        trial.set_user_attr("score", values[1])  # JSON as Optuna writes it: Infinity
        study.tell(trial, values)
    trial = study.ask()
    trial.set_user_attr("genome", [1] * 11)
    with pytest.warns(UserWarning, match="nan is not acceptable"):
        study.tell(trial, [math.nan, 1.0])
    records = ledger.records()
    assert [r.values for r in records[:4]] == [tuple(v) for v in told]
    assert [r.values for r in records[:4]] == [tuple(t.values) for t in study.trials[:4]]
    assert [r.user_attrs["score"] for r in records[:4]] == [v[1] for v in told]
    assert records[4].state == TrialState.FAIL and records[4].values is None
    assert ledger.count_complete() == 4
