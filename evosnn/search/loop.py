"""The search loop: the engine asks, an executor evaluates, the ledger records, the engine is told.

The loop owns the rules of :mod:`evosnn.search` (in-order telling with a window, every genome
once, resume by replay, the budget); its strategies are small injected objects with defaults:
:class:`~evosnn.search.dedup.Deduplication`, a :class:`~evosnn.search.filter.CandidateFilter`,
a :class:`~evosnn.search.failures.FailureHandler`, a :class:`StallGuard` and a
:class:`SearchObserver`. It imports no torch and no Ray: where genomes are evaluated is the
injected :class:`~evosnn.core.executor.Executor`'s business.

Example:
    >>> loop = SearchLoop(engine, ledger, InProcessExecutor(evaluate), budget=32, window=2)  # doctest: +SKIP
    >>> loop.run().completed  # doctest: +SKIP
    32
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, cast

from optuna.trial import TrialState
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import Evaluation
from evosnn.core.executor import Executor, Finished
from evosnn.core.genome import Genome
from evosnn.engines import Engine, Outcome
from evosnn.search.dedup import Deduplication, Equivalent, inert_genes
from evosnn.search.failures import FailureHandler
from evosnn.search.filter import CandidateFilter, ParamFilter
from evosnn.storage import study_schema as schema
from evosnn.storage.ledger import Ledger, LedgerRecord

__all__ = ["Asked", "LoopParts", "LoopStats", "SearchLoop", "SearchObserver", "StallGuard"]

log = logging.getLogger(__name__)


@dataclass
class Asked:
    """A genome the engine asked for, waiting for its outcome to be told."""

    genome: Genome
    key: Genome
    generation: int
    outcome: Outcome | None = None


@dataclass(frozen=True)
class LoopStats:
    """What a run of the loop did.

    Attributes:
        completed: completed evaluations in the study at the end.
        evaluated: evaluations completed by this run.
        reused: asks answered with a known outcome (from the ledger, or found earlier this run).
        told: outcomes told to the engine by this run.
        equivalent: asks answered, without evaluation, by an evaluated network they differ from
            only in genes its evaluation showed inert (each recorded as a trial ``equivalent_to``).
    """

    completed: int
    evaluated: int
    reused: int
    told: int
    equivalent: int = 0


class SearchObserver(Protocol):
    """Watches a search: where it starts, each finished evaluation, each generation's end."""

    def started(self, records: Sequence[LedgerRecord], completed: int) -> None:
        """The loop starts from the study's ``records``, ``completed`` of them complete."""
        ...

    def evaluated(
        self, number: int, generation: int, evaluation: Evaluation, outcome: Outcome
    ) -> None:
        """Trial ``number`` (asked in ``generation``) ended with ``evaluation``."""
        ...

    def generation_ended(self, generation: int, completed: int) -> None:
        """The engine moved past ``generation``; the study holds ``completed`` evaluations."""
        ...


class _Silent:
    """The default observer: watches nothing."""

    def started(self, records: Sequence[LedgerRecord], completed: int) -> None:
        return None

    def evaluated(
        self, number: int, generation: int, evaluation: Evaluation, outcome: Outcome
    ) -> None:
        return None

    def generation_ended(self, generation: int, completed: int) -> None:
        return None


class StallGuard:
    """Stops a search whose engine keeps proposing genomes that need no evaluation.

    Asks answered from known outcomes or rejected by a constraint are idle; more than ``limit``
    of them in a row (without one submitted evaluation between) raise EvosnnError.
    """

    def __init__(self, limit: int = 800) -> None:
        self.limit = limit
        self.idle_asks = 0

    def idle(self) -> None:
        """An ask that started no evaluation."""
        self.idle_asks += 1

    def busy(self) -> None:
        """An ask that started an evaluation."""
        self.idle_asks = 0

    def check(self) -> None:
        """Raise if the engine has stalled."""
        if self.idle_asks > self.limit:
            raise EvosnnError(
                "the engine keeps proposing genomes that are already evaluated or infeasible; "
                "the space may be exhausted or the constraints too tight"
            )


@dataclass(frozen=True)
class LoopParts:
    """The search loop's strategies; each left None takes its default.

    Attributes:
        dedup: known outcomes and genomes in flight (default: empty, filled from the ledger).
        candidate_filter: rejects genomes before evaluation (default: the space's parameter limits).
        failures: what the engine is told (default: for the ledger's space).
        stall: stops an engine that only proposes known genomes (default: 800 idle asks).
        observer: watches evaluations and generations (default: none).
    """

    dedup: Deduplication[Asked] | None = None
    candidate_filter: CandidateFilter | None = None
    failures: FailureHandler | None = None
    stall: StallGuard | None = None
    observer: SearchObserver | None = None


class SearchLoop:
    """Runs (or resumes) one search until the study holds ``budget`` completed evaluations.

    Args:
        engine: asks genomes, is told outcomes (fresh from its seed: resume replays it).
        ledger: the study (the driver holds its lock).
        executor: evaluates submitted genomes.
        budget: completed evaluations to reach; PRUNED and FAIL trials do not count, nor do
            trials answered as equivalent to an evaluated network (they cost no evaluation).
        window: most genomes asked but not yet told (ask #k follows tell #(k - window)).
        parts: the loop's strategies (:class:`LoopParts`; each left None takes its default).
        progress: show a progress bar (tqdm's, off when stderr is not a terminal).
        poll_s: how long one poll of the executor waits.
    """

    def __init__(
        self,
        engine: Engine,
        ledger: Ledger,
        executor: Executor,
        *,
        budget: int,
        window: int,
        parts: LoopParts | None = None,
        progress: bool = False,
        poll_s: float = 0.5,
    ) -> None:
        if window < 1:
            raise EvosnnError(f"window must be at least 1, got {window}")
        self.engine, self.ledger, self.executor = engine, ledger, executor
        self.codec = ledger.codec
        self.budget, self.window = budget, window
        parts = parts if parts is not None else LoopParts()
        self.dedup: Deduplication[Asked] = (
            parts.dedup if parts.dedup is not None else Deduplication()
        )
        self.candidate_filter = (
            parts.candidate_filter
            if parts.candidate_filter is not None
            else ParamFilter(self.codec)
        )
        self.failures = (
            parts.failures
            if parts.failures is not None
            else FailureHandler.for_space(self.codec.space)
        )
        self.stall = parts.stall if parts.stall is not None else StallGuard()
        self.observer: SearchObserver = parts.observer if parts.observer is not None else _Silent()
        self.progress, self.poll_s = progress, poll_s
        self._asked: deque[Asked] = deque()
        self._trials: dict[Genome, tuple[int, int]] = {}  # key -> (trial id, trial number)
        self._running = self._completed = self._evaluated = self._reused = self._told = 0
        self._equivalent = 0
        self._generation = engine.generation
        self._bar: Any = None

    # ------------------------------------------------------------------ public
    def run(self) -> LoopStats:
        """Replay what the ledger holds, then search until the budget is reached."""
        self._resume()
        self._bar = tqdm(
            total=self.budget,
            initial=min(self._completed, self.budget),
            disable=None if self.progress else True,
            unit="eval",
            desc="search",
        )
        try:
            with logging_redirect_tqdm():
                while True:
                    moved = True
                    while moved:  # ask and tell until nothing changes
                        before = (len(self._asked), self._told)
                        self._fill()
                        self._drain()
                        moved = (len(self._asked), self._told) != before
                    if self._running == 0:
                        break  # nothing in flight and nothing more to ask: the budget is reached
                    for done in self.executor.poll(self.poll_s):
                        self._finish(done)
        finally:
            self._bar.close()
        # the last, partial generation (if anything is new)
        self.observer.generation_ended(self.engine.generation, self._completed)
        self.ledger.fail_interrupted()  # a trial created twice by a retried commit stays RUNNING
        if self._equivalent:
            log.info(
                "%d asks answered as equivalent to an evaluated network (genes shown inert), "
                "not evaluated",
                self._equivalent,
            )
        return LoopStats(
            self._completed, self._evaluated, self._reused, self._told, self._equivalent
        )

    # ------------------------------------------------------------------ rules
    def _resume(self) -> None:
        """Resume is replay: interrupted trials fail, every recorded outcome is known."""
        self.ledger.fail_interrupted()
        records = self.ledger.records()
        equivalent = 0
        for record in records:
            outcome = self.failures.replay(record)
            if outcome is not None:
                key = self.codec.canonical(record.genome)
                self.dedup.remember(key, outcome)
                if record.attrs.equivalent_to is not None:
                    equivalent += record.state == TrialState.COMPLETE
                elif record.state == TrialState.COMPLETE and record.attrs.silent_paths:
                    evaluation = record.attrs.evaluation()
                    self._note_inert(key, record.number, evaluation)
        self._completed = self.ledger.count_complete() - equivalent
        if self._completed:
            log.info(
                "resuming study %r: %d completed evaluations of %d",
                self.ledger.study.study_name,
                self._completed,
                self.budget,
            )
        self.observer.started(records, self._completed)

    def _fill(self) -> None:
        """Ask until the window is full, the budget is covered or the engine waits."""
        while len(self._asked) < self.window and self._completed + self._running < self.budget:
            genome = self.engine.ask()
            if genome is None:
                return
            key = self.codec.canonical(genome)
            entry = Asked(genome, key, self.engine.generation)
            self._asked.append(entry)
            known = self.dedup.known(key)
            if known is not None:
                entry.outcome = known
                self._reused += 1
                self.stall.idle()
            elif self.dedup.in_flight(key):
                self.dedup.join(key, entry)
            elif (same := self.dedup.equivalent(key)) is not None:
                self._answer_equivalent(entry, same)
            else:
                self._submit(entry)
            self.stall.check()

    def _note_inert(self, key: Genome, number: int, evaluation: Evaluation) -> None:
        """Remember which genes ``evaluation`` (ok, of trial ``number``) showed inert."""
        if evaluation.ok and evaluation.silent_paths:
            positions = inert_genes(self.codec, key, evaluation.silent_paths)
            outcome = self.failures.outcome(evaluation)
            self.dedup.note_inert(positions, Equivalent(key, number, evaluation, outcome))

    def _answer_equivalent(self, entry: Asked, same: Equivalent) -> None:
        """Record ``entry`` as its own trial with ``same``'s evaluation, marked ``equivalent_to``."""
        meta = {schema.GENERATION: entry.generation, schema.ENGINE: self.engine.name}
        extra: dict[str, Any] = {schema.EQUIVALENT_TO: same.number}
        if same.evaluation.ok:
            extra |= {
                schema.VIOLATION: same.outcome.violation,
                schema.FEASIBLE: same.outcome.feasible,
            }
        trial_id = self.ledger.start(entry.genome, {**meta, **extra})
        self.ledger.finish(trial_id, same.evaluation, extra)
        entry.outcome = same.outcome
        self.dedup.remember(entry.key, same.outcome)
        self._equivalent += 1
        self.stall.idle()

    def _submit(self, entry: Asked) -> None:
        """Reject ``entry`` by a cheap constraint (a PRUNED trial) or start its evaluation."""
        meta = {schema.GENERATION: entry.generation, schema.ENGINE: self.engine.name}
        rejection = self.candidate_filter(entry.genome)
        if rejection is not None:
            self.ledger.record_infeasible(entry.genome, rejection.reason, rejection.violation, meta)
            entry.outcome = self.failures.rejected(rejection.violation)
            self.dedup.remember(entry.key, entry.outcome)
            self.stall.idle()
            return
        trial_id = self.ledger.start(entry.genome, meta)
        self._trials[entry.key] = (trial_id, self.ledger.trial_number(trial_id))
        self.dedup.start(entry.key, entry)
        self.executor.submit(entry.key, entry.genome)
        self._running += 1
        self.stall.busy()

    def _drain(self) -> None:
        """Tell outcomes in ask order; refill the window after each tell.

        Ask #k always follows tell #(k - window), so the engine sees the same sequence however
        results arrive.
        """
        while self._asked and self._asked[0].outcome is not None:
            entry = self._asked.popleft()
            assert entry.outcome is not None
            self.engine.tell(entry.genome, entry.outcome)
            self._told += 1
            log.debug("told %d: generation %d", self._told, entry.generation)
            if self.engine.generation != self._generation:
                self.observer.generation_ended(self._generation, self._completed)
                self._generation = self.engine.generation
            self._fill()

    def _finish(self, done: Finished) -> None:
        """Record a finished evaluation and hand its outcome to every ask waiting for it."""
        key = cast(Genome, done.key)  # submitted under its canonical genome
        evaluation = done.evaluation
        extra: dict[str, Any] = {schema.ATTEMPTS: done.attempts}
        if done.worker is not None:
            extra[schema.WORKER], extra[schema.WORKER_PID] = done.worker, done.worker_pid
        outcome = self.failures.outcome(evaluation)
        if evaluation.ok:
            extra[schema.VIOLATION], extra[schema.FEASIBLE] = outcome.violation, outcome.feasible
        trial_id, number = self._trials.pop(key)
        self.ledger.finish(trial_id, evaluation, extra)
        self._note_inert(key, number, evaluation)
        entries = self.dedup.resolve(key, outcome)
        for entry in entries:
            entry.outcome = outcome
        self._running -= 1
        if evaluation.ok:
            self._completed += 1
            self._evaluated += 1
            self._bar.update(1)
            self._bar.set_postfix(
                acc=f"{evaluation.accuracy:.3f}", mJ=f"{evaluation.energy_mj:.3g}"
            )
        self.observer.evaluated(number, entries[0].generation, evaluation, outcome)
