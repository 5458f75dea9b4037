"""The Ray executor survives worker faults: a killed worker process, a hung evaluation."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evosnn.core.evaluation import EvalSettings, Evaluation
from evosnn.core.executor import Finished
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.evaluate.worker_task import (
    EvaluationTask,
    EvaluationTaskFactory,
    energy_target,
    reference,
)
from tests.conftest import local_ray
from workers.pool import RayExecutor

SETTINGS = EvalSettings(recal_batches=1, recal_batch_size=16)


pytestmark = pytest.mark.ray


@pytest.fixture(scope="module", autouse=True)
def ray_instance() -> Iterator[None]:
    with local_ray():
        yield


def factory(space: SearchSpace) -> EvaluationTaskFactory:
    return EvaluationTaskFactory(space, SETTINGS, energy_target_mj=1e-4)


def wait_all(pool: RayExecutor[EvaluationTask], n: int, limit: float = 120) -> list[Finished]:
    done: list[Finished] = []
    deadline = time.monotonic() + limit
    while len(done) < n and time.monotonic() < deadline:
        done += pool.poll(timeout=0.2)
    return done


def test_a_killed_worker_is_replaced_and_its_genome_evaluated(
    tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    codec = GenomeCodec(tiny_space)
    genomes = [codec.sample(random.Random(i)) for i in range(6)]
    pool = RayExecutor(tiny_checkpoint.read_bytes(), factory(tiny_space), workers=1)
    try:
        for i, g in enumerate(genomes):
            pool.submit(i, g)
        os.kill(pool.actor_pid(0), signal.SIGKILL)  # mid-evaluation: the first job is running
        done = wait_all(pool, len(genomes))
        assert sorted(d.key for d in done) == list(range(6))  # type: ignore[type-var]
        assert all(isinstance(d.evaluation, Evaluation) and d.evaluation.ok for d in done)
        assert pool.replaced == 1
        assert max(d.attempts for d in done) == 2 and pool.actor_pid(0) != 0
        assert all(d.worker == 0 and d.worker_pid == pool.actor_pid(0) for d in done)
    finally:
        pool.shutdown()


@pytest.mark.slow
def test_a_hung_worker_is_replaced_after_the_timeout(
    tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    codec = GenomeCodec(tiny_space)
    pool = RayExecutor(tiny_checkpoint.read_bytes(), factory(tiny_space), workers=1, timeout_s=30.0)
    try:
        frozen = pool.actor_pid(0)
        os.kill(frozen, signal.SIGSTOP)  # the worker hangs: it will never answer
        pool.submit("hung", codec.sample(random.Random(0)))
        done = wait_all(pool, 1)
        assert len(done) == 1 and done[0].evaluation.ok
        assert done[0].attempts == 2 and pool.replaced == 1
        assert pool.actor_pid(0) != frozen
    finally:
        pool.shutdown()


def test_a_genome_that_keeps_failing_is_reported_failed(
    tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    pool = RayExecutor(tiny_checkpoint.read_bytes(), factory(tiny_space), workers=1, max_attempts=2)
    try:
        pool.submit("bad", (99,) * 11)  # not a genome of this space: every attempt raises
        done = wait_all(pool, 1)
        assert len(done) == 1 and done[0].evaluation.status == "failed"
        assert done[0].attempts == 2 and done[0].worker is None
        assert "index 99" in str(done[0].evaluation.error)
        # the worker still answers one-off questions: the energy target and the baseline
        assert pool.call(energy_target) == 1e-4
        assert pool.call(reference).ok
    finally:
        pool.shutdown()
