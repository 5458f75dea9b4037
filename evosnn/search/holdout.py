"""The Pareto front re-scored on the held-out test split, once a search has reached its budget.

The search optimises validation accuracy; a front chosen on the same images flatters itself. So when
a search ends, every member of its Pareto front (and the largest-subnet baseline) is evaluated once
more, on the test split that no search step has touched, and the result is written onto its trial as
``test_accuracy`` with ``test_accuracy_ci95`` (the Wilson interval) and ``test_total`` (images).
Export still picks on validation only; the report shows both side by side. A resumed search only
scores front members that have no test figures yet.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import Genome
from evosnn.objectives.front import pareto_records
from evosnn.storage.ledger import Ledger
from evosnn.storage.study_schema import REFERENCE_LARGEST_TEST

if TYPE_CHECKING:
    from evosnn.evaluate.worker_task import EvaluationTask

__all__ = ["holdout_attrs", "rescore_front", "test_evaluation", "test_reference"]

log = logging.getLogger(__name__)

R = TypeVar("R")
OnOneWorker = Callable[[Callable[["EvaluationTask"], R]], R]


def test_evaluation(genome: Genome, task: EvaluationTask) -> Evaluation:
    """``genome`` scored on the test split (picklable with ``functools.partial`` for Ray)."""
    return task.evaluate(genome, split="test")


def test_reference(task: EvaluationTask) -> Evaluation:
    """The largest subnet at default neurons scored on the test split."""
    return task.reference(split="test")


def holdout_attrs(evaluation: Evaluation) -> dict[str, Any]:
    """The trial attrs that record a test-split evaluation."""
    if not evaluation.ok:
        return {"test_error": evaluation.error or evaluation.status}
    low, high = evaluation.accuracy_interval
    return {
        "test_accuracy": evaluation.accuracy,
        "test_accuracy_ci95": [low, high],
        "test_total": evaluation.total,
        "test_energy_mj": evaluation.energy_mj,
    }


def rescore_front(ledger: Ledger, on_one_worker: OnOneWorker[Any]) -> int:
    """Score the study's Pareto front (and the baseline) on the test split; returns how many."""
    todo = [r for r in pareto_records(ledger.records()) if not r.attrs.test_scored]
    if todo:
        log.info(
            "scoring the %d new Pareto architecture(s) on the test split (never seen by the search)",
            len(todo),
        )
    for record in todo:
        evaluation = on_one_worker(partial(test_evaluation, record.genome))
        ledger.annotate_trial(record.number, holdout_attrs(evaluation))
    if ledger.record().reference_largest_test is None:
        ledger.set_attr(REFERENCE_LARGEST_TEST, on_one_worker(test_reference).to_dict())
    return len(todo)
