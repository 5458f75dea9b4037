"""Ledger writes that a retry may repeat."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from evosnn.evaluation import Evaluation
from evosnn.genome import GenomeCodec
from evosnn.ledger import Ledger
from evosnn.space import SearchSpace


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
