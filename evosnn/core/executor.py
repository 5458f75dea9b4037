"""Executors: where genomes are evaluated, behind one small interface the search loop talks to.

The search loop submits genomes under a key and polls for the ones that finished; it never knows
whether they ran on Ray actors (:class:`workers.pool.RayExecutor`) or here, one after the other
(:class:`InProcessExecutor`, for tests and small runs without Ray). Either way a job ends as one
:class:`Finished` carrying an :class:`~evosnn.core.evaluation.Evaluation`: a job whose every attempt
raised comes back as ``Evaluation(status="failed", error=...)``, so failures are data, not
exceptions, and the search goes on.

What a worker runs is a *task* built by a picklable factory from the checkpoint's bytes
(:data:`TaskFactory`): the application supplies it (``evosnn.evaluate.worker_task``), so the Ray code in
``workers/`` needs no application module. This module is a core type: no torch, no Ray.

Example:
    >>> executor = InProcessExecutor(lambda genome: Evaluation(status="failed", error="no net"))
    >>> executor.submit("a", (0, 1))
    >>> [(f.key, f.evaluation.status, f.attempts) for f in executor.poll(timeout=0)]
    [('a', 'failed', 1)]
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Protocol

from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import Genome

__all__ = ["Executor", "Finished", "InProcessExecutor", "Task", "TaskFactory"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Finished:
    """A job's end.

    Attributes:
        key: the key it was submitted under.
        evaluation: what the evaluation produced; ``status="failed"`` with the reasons in ``error``
            when every attempt raised (or its worker died or hung each time).
        attempts: how many times it was started.
        worker: the index of the worker that produced ``evaluation`` (None: no worker answered).
        worker_pid: that worker's process id.
    """

    key: Hashable
    evaluation: Evaluation
    attempts: int
    worker: int | None = None
    worker_pid: int | None = None


class Executor(Protocol):
    """Evaluates submitted genomes; the search loop's only view of its workers."""

    @property
    def replaced(self) -> int:
        """How many workers were replaced after dying or hanging."""
        ...

    def submit(self, key: Hashable, genome: Genome) -> None:
        """Queue ``genome`` for evaluation; its result comes back from :meth:`poll` under ``key``."""
        ...

    def poll(self, timeout: float) -> list[Finished]:
        """Wait up to ``timeout`` seconds; return the jobs that ended since the last poll."""
        ...

    def shutdown(self) -> None:
        """Stop the workers (jobs still queued or running are dropped)."""
        ...


class Task(Protocol):
    """What runs on a worker: evaluates genomes of one space with one supernet."""

    def evaluate(self, genome: Genome) -> Evaluation:
        """Evaluate ``genome``; raising counts as a failed attempt."""
        ...


#: Builds a worker's task from the supernet checkpoint's bytes; must be picklable (it is shipped to
#: every Ray worker, the bytes once through Ray's object store).
TaskFactory = Callable[[bytes], Task]


class InProcessExecutor:
    """Runs an ``evaluate(genome) -> Evaluation`` callable in this process, job after job.

    Jobs run when polled, in submission order; ``timeout`` is not enforced (nothing can stop a
    running call). An attempt that raises is retried at once, up to ``max_attempts`` times; then the
    job ends as a failed Evaluation listing every attempt's error.

    Args:
        evaluate: evaluates one genome.
        max_attempts: attempts per job (at least 1).
        worker: the worker index reported with each result.
    """

    def __init__(
        self,
        evaluate: Callable[[Genome], Evaluation],
        *,
        max_attempts: int = 3,
        worker: int = 0,
    ) -> None:
        if max_attempts < 1:
            raise EvosnnError(f"max_attempts must be at least 1, got {max_attempts}")
        self._evaluate = evaluate
        self.max_attempts = max_attempts
        self.worker = worker
        self.replaced = 0
        self._queue: deque[tuple[Hashable, Genome]] = deque()

    def submit(self, key: Hashable, genome: Genome) -> None:
        """Queue ``genome``; it is evaluated by the next :meth:`poll`."""
        self._queue.append((key, tuple(genome)))

    def poll(self, timeout: float = 0.0) -> list[Finished]:
        """Evaluate every queued job now and return them, in submission order."""
        done: list[Finished] = []
        while self._queue:
            key, genome = self._queue.popleft()
            done.append(self._run(key, genome))
        return done

    def shutdown(self) -> None:
        """Drop the jobs not evaluated yet."""
        self._queue.clear()

    def _run(self, key: Hashable, genome: Genome) -> Finished:
        errors: list[str] = []
        for attempt in range(1, self.max_attempts + 1):
            try:
                evaluation = self._evaluate(genome)
            except Exception as exc:  # a failed attempt; KeyboardInterrupt and friends stop us
                reason = f"evaluation raised: {type(exc).__name__}: {exc}"[:300]
                errors.append(reason)
                if attempt < self.max_attempts:
                    log.warning(
                        "re-running genome %s (attempt %d failed: %s)",
                        list(genome),
                        attempt,
                        reason,
                    )
                continue
            return Finished(key, evaluation, attempt, self.worker, os.getpid())
        log.warning(
            "genome %s failed %d time(s); recorded as failed: %s",
            list(genome),
            self.max_attempts,
            errors[-1],
        )
        failed = Evaluation(status="failed", error="; ".join(errors))
        return Finished(key, failed, self.max_attempts)
