"""The in-process executor: jobs run when polled, raising attempts are retried, then failed."""

from __future__ import annotations

import os

import pytest

from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import Evaluation
from evosnn.core.executor import Executor, Finished, InProcessExecutor
from evosnn.core.genome import Genome
from tests.search.fakes import DriverKilled

OK = Evaluation(status="ok", accuracy=0.5, energy_mj=1.0, f_aeb=0.5, sops=1.0, macs=1.0)


def test_jobs_run_when_polled_in_submission_order() -> None:
    seen: list[Genome] = []

    def evaluate(genome: Genome) -> Evaluation:
        seen.append(genome)
        return OK

    executor: Executor = InProcessExecutor(evaluate, worker=3)
    executor.submit("a", (0, 1))
    executor.submit("b", [1, 0])  # type: ignore[arg-type]  # any sequence of genes
    assert seen == []
    done = executor.poll(timeout=0.0)
    assert seen == [(0, 1), (1, 0)]
    assert done == [Finished("a", OK, 1, 3, os.getpid()), Finished("b", OK, 1, 3, os.getpid())]
    assert executor.poll(timeout=0.0) == [] and executor.replaced == 0


def test_a_raising_attempt_is_retried_then_the_job_fails() -> None:
    attempts: list[int] = []

    def flaky(genome: Genome) -> Evaluation:
        attempts.append(len(attempts))
        if len(attempts) < 3:
            raise RuntimeError(f"flake {len(attempts)}")
        return OK

    executor = InProcessExecutor(flaky, max_attempts=3)
    executor.submit("k", (0,))
    (done,) = executor.poll(timeout=0.0)
    assert done.evaluation is OK and done.attempts == 3

    def broken(genome: Genome) -> Evaluation:
        raise ValueError("index 99 out of range")

    executor = InProcessExecutor(broken, max_attempts=2)
    executor.submit("bad", (99,))
    (done,) = executor.poll(timeout=0.0)
    assert done.evaluation.status == "failed" and done.attempts == 2
    assert done.worker is None and done.worker_pid is None
    assert done.evaluation.error == (
        "evaluation raised: ValueError: index 99 out of range; "
        "evaluation raised: ValueError: index 99 out of range"
    )


def test_a_base_exception_is_not_a_failed_attempt() -> None:
    def killed(genome: Genome) -> Evaluation:
        raise DriverKilled

    executor = InProcessExecutor(killed)
    executor.submit("k", (0,))
    with pytest.raises(DriverKilled):
        executor.poll(timeout=0.0)


def test_shutdown_drops_queued_jobs_and_attempts_must_be_positive() -> None:
    executor = InProcessExecutor(lambda genome: OK)
    executor.submit("k", (0,))
    executor.shutdown()
    assert executor.poll(timeout=0.0) == []
    with pytest.raises(EvosnnError, match="max_attempts must be at least 1"):
        InProcessExecutor(lambda genome: OK, max_attempts=0)
