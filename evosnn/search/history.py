"""The search's history in its study: hypervolume per generation, figures, one log line each."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from evosnn.core.evaluation import Evaluation
from evosnn.engines import Outcome
from evosnn.objectives.front import hypervolume
from evosnn.reporting.figures import (
    PREDICTOR_FIGURE_ID,
    Point,
    SearchView,
    predictor_figure,
    store_figures,
)
from evosnn.storage.ledger import Ledger, LedgerRecord
from evosnn.storage.study_schema import HYPERVOLUME_HISTORY

__all__ = ["GenerationRecorder"]

log = logging.getLogger(__name__)


class GenerationRecorder:
    """A :class:`~evosnn.search.loop.SearchObserver` that, after every generation with new
    evaluations, appends ``[completed, hypervolume]`` to the study attr ``hypervolume_history``,
    refreshes the dashboard's figures and logs one line.

    An engine that counts what it does (``stats()``: re-mutations, re-proposals, ...) has the counts
    recorded as the study attr ``engine_stats``; a predictor-assisted one (``diagnostics()``) has its
    per-generation predictor quality recorded as ``engine_diagnostics`` and drawn as a figure.

    Args:
        ledger: the study.
        ref_energy: the hypervolume reference's energy (its accuracy is 0).
        engine: the search's engine (optional; see above).
    """

    def __init__(self, ledger: Ledger, ref_energy: float, engine: object | None = None) -> None:
        self.ledger = ledger
        self.ref_energy = ref_energy
        self.engine = engine
        self.view = SearchView([], ref_energy)
        self._logged_at = -1

    def started(self, records: Sequence[LedgerRecord], completed: int) -> None:
        """The search (re)starts from ``records``, ``completed`` of them complete."""
        self.view = SearchView.from_records(records, self.ref_energy)
        self._logged_at = completed if completed else -1

    def evaluated(
        self, number: int, generation: int, evaluation: Evaluation, outcome: Outcome
    ) -> None:
        """Trial ``number`` finished; a feasible, ok one joins the view."""
        if evaluation.ok and outcome.feasible:
            self.view.points.append(
                Point(
                    evaluation.accuracy, evaluation.energy_mj, generation, evaluation.f_aeb, number
                )
            )

    def generation_ended(self, generation: int, completed: int) -> None:
        """Record and log ``generation`` (nothing when it was replayed from the ledger)."""
        if completed == self._logged_at:
            return
        self._logged_at = completed
        front = self.view.front()
        hv = hypervolume([(p.accuracy, p.energy_mj) for p in front], self.ref_energy)
        best = max((p.f_aeb for p in self.view.points), default=float("nan"))
        history = self.ledger.record().hypervolume_history
        self.ledger.set_attr(HYPERVOLUME_HISTORY, [*history, [completed, hv]])
        store_figures(self.ledger, self.view)
        self._record_engine()
        log.info(
            "generation %d: %d evaluated, %d Pareto points, hypervolume %.6g, best F_AEB %.4f",
            generation,
            completed,
            len(front),
            hv,
            best,
        )

    def _record_engine(self) -> None:
        stats = getattr(self.engine, "stats", None)
        if callable(stats):
            self.ledger.set_attr("engine_stats", stats())
        diagnostics = getattr(self.engine, "diagnostics", None)
        if callable(diagnostics):
            rows = diagnostics()
            self.ledger.set_attr("engine_diagnostics", rows)
            self.ledger.save_figure(PREDICTOR_FIGURE_ID, predictor_figure(rows))
            if rows and isinstance(rows[-1].get("accuracy_tau"), (int, float)):
                last = rows[-1]
                log.info(
                    "predictors: accuracy %s (Kendall tau %.2f), log-energy %s (tau %.2f)",
                    last.get("accuracy_model"),
                    last["accuracy_tau"],
                    last.get("energy_model"),
                    float(last.get("energy_tau") or float("nan")),
                )
