"""What the engine is told for an evaluation or a recorded trial, failures included.

Failures are never told as NaN (Optuna's ``tell`` raises on NaN and leaves the trial RUNNING): a
failed evaluation is told as :meth:`~evosnn.engines.Outcome.failed`, a clearly dominated,
infeasible point, and is not evaluated again on resume. A trial that was interrupted (its driver
died while it ran) has no outcome: its genome is evaluated again when the engine reaches it.
"""

from __future__ import annotations

from optuna.trial import TrialState

from evosnn.core.evaluation import Evaluation
from evosnn.core.space import SearchSpace
from evosnn.engines import FAILED_ENERGY, Outcome
from evosnn.storage.ledger import LedgerRecord

__all__ = ["FailureHandler"]


class FailureHandler:
    """Turns evaluations and recorded trials into outcomes.

    Args:
        max_energy_mj: the energy constraint (None: none); energy above it is a violation.

    Example:
        >>> FailureHandler(max_energy_mj=1.0).outcome(Evaluation(status="failed", error="NaN"))
        Outcome(accuracy=0.0, energy_mj=1000000.0, violation=1000000.0)
    """

    def __init__(self, *, max_energy_mj: float | None = None) -> None:
        self.max_energy_mj = max_energy_mj

    @classmethod
    def for_space(cls, space: SearchSpace) -> FailureHandler:
        """The handler for ``space``'s objectives."""
        return cls(max_energy_mj=space.objectives.max_energy_mj)

    def energy_violation(self, energy_mj: float) -> float:
        """How far ``energy_mj`` exceeds the energy constraint (0: within it)."""
        limit = self.max_energy_mj
        return max(0.0, energy_mj - limit) if limit is not None else 0.0

    def outcome(self, evaluation: Evaluation) -> Outcome:
        """What the engine is told for ``evaluation`` (failed and infeasible: a failed outcome)."""
        if evaluation.ok:
            return Outcome(
                evaluation.accuracy,
                evaluation.energy_mj,
                self.energy_violation(evaluation.energy_mj),
            )
        return Outcome.failed()

    def rejected(self, violation: float) -> Outcome:
        """What the engine is told for a genome rejected by a cheap constraint (never evaluated)."""
        return Outcome(0.0, FAILED_ENERGY, violation)

    def replay(self, record: LedgerRecord) -> Outcome | None:
        """What the engine was (or would have been) told for a recorded genome; None: evaluate it
        again (interrupted, or never finished)."""
        if record.state == TrialState.COMPLETE and record.values is not None:
            accuracy, energy = record.values
            return Outcome(accuracy, energy, self.energy_violation(energy))
        if record.state == TrialState.PRUNED:
            violation = record.attrs.violation
            return self.rejected(FAILED_ENERGY if violation is None else violation)
        if record.state == TrialState.FAIL and record.attrs.failure == "evaluation":
            return Outcome.failed()
        return None
