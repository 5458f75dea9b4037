"""The search: the engine asks, workers evaluate, the ledger records, the engine is told.

How a search stays correct and reproducible (the rules :class:`~evosnn.search.loop.SearchLoop`
implements and ``tests/search`` checks):

* **In-order telling.** Results are told to the engine in the order its genomes were asked, with at
  most ``window = 2 x workers`` genomes asked but not yet told (2 for ``workers`` 0, which
  evaluates in the driver's process), and ask #k is made right after tell #(k - window). The engine
  therefore sees the same sequence of asks and tells for a fixed seed and worker count, however the
  workers' timings fall (a slow evaluation can hold back up to ``window`` later ones; with
  evaluations of similar cost the workers stay busy).
* **Every genome once.** A genome whose canonical form is already in the ledger (or in flight) is
  never evaluated again; its recorded outcome is told instead. Nor is one that differs from an
  evaluated genome only in genes that evaluation showed inert (a block whose q, k or v never fired
  has no attention, so its heads gene cannot matter): it is recorded as its own trial with the
  evaluated one's results and ``equivalent_to`` its number, and does not count toward the budget.
* **Resume is replay.** Re-running the same command re-creates the engine from its seed and replays
  it; every genome already in the ledger is answered from the ledger, so the engine's population is
  rebuilt exactly without any evaluation, and the search continues where it stopped. Trials left
  RUNNING by a dead driver are marked FAIL first and their genomes evaluated again when reached.
* **Budget.** The search stops when the study holds ``population x generations`` completed
  evaluations; infeasible (PRUNED) and failed (FAIL) genomes do not count.
* **Failures.** A genome rejected by a cheap constraint is a PRUNED trial, never evaluated; an
  evaluation that failed (after its attempts) is a FAIL trial, told as a dominated, infeasible
  point; an engine that only proposes known genomes is stopped with an error.

Modules: :mod:`~evosnn.search.settings` (settings, summary types), :mod:`~evosnn.search.loop`,
its strategies :mod:`~evosnn.search.dedup`, :mod:`~evosnn.search.filter`,
:mod:`~evosnn.search.failures`, :mod:`~evosnn.search.history` (hypervolume, figures, log lines),
:mod:`~evosnn.search.summary` and :mod:`~evosnn.search.driver` (``search_study``).
"""

from __future__ import annotations

from evosnn.search.dedup import Deduplication
from evosnn.search.driver import search_study
from evosnn.search.failures import FailureHandler
from evosnn.search.filter import CandidateFilter, ParamFilter, Rejection
from evosnn.search.history import GenerationRecorder
from evosnn.search.loop import LoopParts, LoopStats, SearchLoop, SearchObserver, StallGuard
from evosnn.search.settings import ParetoRow, SearchSettings, SearchSummary

__all__ = [
    "CandidateFilter",
    "Deduplication",
    "FailureHandler",
    "GenerationRecorder",
    "LoopParts",
    "LoopStats",
    "ParamFilter",
    "ParetoRow",
    "Rejection",
    "SearchLoop",
    "SearchObserver",
    "SearchSettings",
    "SearchSummary",
    "StallGuard",
    "search_study",
]
