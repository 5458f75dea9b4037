"""The Ray executor: evaluator actors that keep busy and survive worker faults.

Jobs are submitted with a key; :meth:`RayExecutor.poll` returns finished jobs as
:class:`~evosnn.core.executor.Finished` with their :class:`~evosnn.core.evaluation.Evaluation`. The
checkpoint's bytes are put in Ray's object store once and handed to every actor (a replacement
too) as a top-level argument, with the application's picklable task factory. A worker that dies
(its process killed, the node lost) or whose evaluation runs past ``timeout_s`` is killed and
replaced, and its genome re-dispatched; after ``max_attempts`` failures the job is returned as a
failed Evaluation with the reasons, and the search goes on.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import ray
from ray.exceptions import GetTimeoutError, RayActorError, RayError, RayTaskError

from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import Evaluation
from evosnn.core.executor import Finished, Task
from evosnn.core.genome import Genome
from workers.actor import EvaluatorActor

__all__ = ["RayExecutor"]

log = logging.getLogger(__name__)

T = TypeVar("T", bound=Task)
R = TypeVar("R")


@dataclass
class _Job:
    key: Hashable
    genome: Genome
    attempts: int = 0
    errors: list[str] = field(default_factory=list)


class RayExecutor(Generic[T]):
    """W evaluator actors behind the :class:`~evosnn.core.executor.Executor` interface.

    Args:
        checkpoint: the supernet checkpoint's bytes.
        factory: picklable; builds each worker's task from the bytes.
        workers: how many actors.
        cpus_per_worker, gpus_per_worker: Ray resources per actor (torch threads = CPUs).
        timeout_s: an evaluation running longer is abandoned and its worker replaced.
        max_attempts: attempts per job before it is returned as failed.
        start_timeout_s: how long workers may take to start (load the supernet and data).

    Raises:
        EvosnnError: workers that cannot start (their error, or too few free resources).
    """

    def __init__(
        self,
        checkpoint: bytes,
        factory: Callable[[bytes], T],
        *,
        workers: int,
        cpus_per_worker: float = 1.0,
        gpus_per_worker: float = 0.0,
        timeout_s: float = 600.0,
        max_attempts: int = 3,
        start_timeout_s: float = 300.0,
    ) -> None:
        if workers < 1:
            raise EvosnnError(f"workers must be at least 1, got {workers}")
        if max_attempts < 1:
            raise EvosnnError(f"max_attempts must be at least 1, got {max_attempts}")
        self._blob = ray.put(checkpoint)
        self._factory = factory
        self._options = {
            "num_cpus": cpus_per_worker,
            "num_gpus": gpus_per_worker,
            "max_concurrency": 1,
        }
        self._threads = max(1, int(cpus_per_worker))
        self.timeout_s, self.max_attempts = timeout_s, max_attempts
        self._actors: list[Any] = [self._spawn(i) for i in range(workers)]
        self.replaced = 0
        try:
            self.workers_info: list[dict[str, Any]] = ray.get(
                [a.ready.remote() for a in self._actors], timeout=start_timeout_s
            )
        except RayActorError as exc:
            self.shutdown()
            raise EvosnnError(f"an evaluator worker failed to start: {_cause(exc)}") from exc
        except GetTimeoutError as exc:
            self.shutdown()
            raise EvosnnError(
                f"evaluator workers did not start within {start_timeout_s:.0f}s "
                f"(not enough free CPUs/GPUs in the Ray cluster for {workers} worker(s)?)"
            ) from exc
        self._idle: deque[int] = deque(range(workers))
        self._queue: deque[_Job] = deque()
        self._running: dict[Any, tuple[_Job, int, float]] = {}  # ref -> (job, actor index, start)

    def _spawn(self, index: int) -> Any:
        actor = EvaluatorActor.options(**self._options)  # type: ignore[attr-defined]
        return actor.remote(self._blob, self._factory, self._threads, index)

    # ------------------------------------------------------------------ public
    @property
    def size(self) -> int:
        return len(self._actors)

    @property
    def outstanding(self) -> int:
        """Jobs queued or running."""
        return len(self._queue) + len(self._running)

    def call(self, fn: Callable[[T], R], *, timeout_s: float | None = None) -> R:
        """``fn(task)`` on worker 0, e.g. to measure the energy target once; ``fn`` must be
        picklable (a module-level function).

        Raises:
            EvosnnError: the call raised on the worker, the worker died, or it ran past
                ``timeout_s`` (default: the evaluation timeout).
        """
        limit = self.timeout_s if timeout_s is None else timeout_s
        try:
            return ray.get(self._actors[0].call.remote(fn), timeout=limit)
        except GetTimeoutError as exc:
            raise EvosnnError(f"worker 0 did not answer within {limit:.0f}s") from exc
        except RayError as exc:
            raise EvosnnError(f"worker 0 failed: {_cause(exc)}") from exc

    def actor_pid(self, index: int) -> int:
        return int(self.workers_info[index]["pid"])

    def submit(self, key: Hashable, genome: Genome) -> None:
        self._queue.append(_Job(key, tuple(genome)))
        self._dispatch()

    def poll(self, timeout: float = 1.0) -> list[Finished]:
        """Wait up to ``timeout`` seconds; return the jobs that ended (possibly none)."""
        done: list[Finished] = []
        refs = list(self._running)
        if refs:
            # Return as soon as any job ends (then take every other finished one too), so a freed
            # worker gets its next genome at once instead of waiting for the slowest.
            ready, _ = ray.wait(refs, num_returns=1, timeout=timeout, fetch_local=True)
            if ready:
                ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0, fetch_local=True)
            for ref in ready:
                job, index, _ = self._running.pop(ref)
                try:
                    evaluation = ray.get(ref)
                except RayActorError as exc:
                    self._replace(index, f"worker {index} died ({_cause(exc)})")
                    done += self._retry(job, f"worker died: {_cause(exc)}")
                    continue
                except RayTaskError as exc:
                    self._idle.append(index)
                    done += self._retry(job, f"evaluation raised: {_cause(exc)}")
                    continue
                except RayError as exc:
                    self._replace(index, f"worker {index} failed ({type(exc).__name__})")
                    done += self._retry(job, type(exc).__name__)
                    continue
                self._idle.append(index)
                done.append(
                    Finished(job.key, evaluation, job.attempts, index, self.actor_pid(index))
                )
        else:
            time.sleep(min(timeout, 0.05))
        now = time.monotonic()
        for ref, (job, index, started) in list(self._running.items()):
            if now - started > self.timeout_s:
                del self._running[ref]
                self._replace(
                    index, f"worker {index} exceeded the {self.timeout_s:.0f}s evaluation timeout"
                )
                done += self._retry(job, f"timed out after {self.timeout_s:.0f}s")
        self._dispatch()
        return done

    def shutdown(self) -> None:
        for actor in self._actors:
            ray.kill(actor)
        self._actors = []

    # ------------------------------------------------------------------ internals
    def _dispatch(self) -> None:
        while self._idle and self._queue:
            index, job = self._idle.popleft(), self._queue.popleft()
            job.attempts += 1
            ref = self._actors[index].evaluate.remote(job.genome)
            self._running[ref] = (job, index, time.monotonic())

    def _retry(self, job: _Job, reason: str) -> list[Finished]:
        job.errors.append(reason)
        if job.attempts >= self.max_attempts:
            log.warning(
                "genome %s failed %d time(s); recorded as failed: %s",
                list(job.genome),
                job.attempts,
                reason,
            )
            failed = Evaluation(status="failed", error="; ".join(job.errors))
            return [Finished(job.key, failed, job.attempts)]
        log.warning(
            "re-dispatching genome %s (attempt %d failed: %s)",
            list(job.genome),
            job.attempts,
            reason,
        )
        self._queue.appendleft(job)
        return []

    def _replace(self, index: int, why: str) -> None:
        log.warning("%s; starting a replacement", why)
        ray.kill(self._actors[index], no_restart=True)
        self._actors[index] = self._spawn(index)
        self.replaced += 1
        try:
            info = ray.get(self._actors[index].ready.remote(), timeout=300)
            self.workers_info[index] = info
        except RayError as exc:
            raise EvosnnError(f"could not start a replacement worker: {_cause(exc)}") from exc
        self._idle.append(index)


def _cause(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    last = [line for line in text if line.strip()][-1:] if text else []
    return last[0][:300] if last else type(exc).__name__
