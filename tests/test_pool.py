"""The Ray evaluator pool survives worker faults: a killed worker process, a hung evaluation."""

from __future__ import annotations

import os
import random
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray

from evosnn.genome import GenomeCodec
from evosnn.space import SearchSpace
from workers.pool import EvaluatorPool, Finished

SETTINGS = {"recal_batches": 1, "recal_batch_size": 16}


@pytest.fixture(scope="module", autouse=True)
def local_ray() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level="WARNING")
    yield
    ray.shutdown()


def wait_all(pool: EvaluatorPool, n: int, limit: float = 120) -> list[Finished]:
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
    pool = EvaluatorPool(
        tiny_checkpoint.read_bytes(),
        tiny_space.to_dict(),
        SETTINGS,
        workers=1,
        energy_target_mj=1e-4,
    )
    try:
        for i, g in enumerate(genomes):
            pool.submit(i, list(g))
        os.kill(pool.actor_pid(0), signal.SIGKILL)  # mid-evaluation: the first job is running
        done = wait_all(pool, len(genomes))
        assert sorted(d.key for d in done) == list(range(6))
        assert all(d.result is not None and d.result["status"] == "ok" for d in done)
        assert pool.replaced == 1
        assert max(d.attempts for d in done) == 2 and pool.actor_pid(0) != 0
    finally:
        pool.shutdown()


def test_a_hung_worker_is_replaced_after_the_timeout(
    tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    codec = GenomeCodec(tiny_space)
    pool = EvaluatorPool(
        tiny_checkpoint.read_bytes(),
        tiny_space.to_dict(),
        SETTINGS,
        workers=1,
        energy_target_mj=1e-4,
        timeout_s=5.0,
    )
    try:
        frozen = pool.actor_pid(0)
        os.kill(frozen, signal.SIGSTOP)  # the worker hangs: it will never answer
        pool.submit("hung", list(codec.sample(random.Random(0))))
        done = wait_all(pool, 1)
        assert len(done) == 1 and done[0].result is not None and done[0].result["status"] == "ok"
        assert done[0].attempts == 2 and pool.replaced == 1
        assert pool.actor_pid(0) != frozen
    finally:
        pool.shutdown()


def test_a_genome_that_keeps_failing_is_reported_failed(
    tiny_space: SearchSpace, tiny_checkpoint: Path
) -> None:
    pool = EvaluatorPool(
        tiny_checkpoint.read_bytes(),
        tiny_space.to_dict(),
        SETTINGS,
        workers=1,
        energy_target_mj=1e-4,
        max_attempts=2,
    )
    try:
        pool.submit("bad", [99] * 11)  # not a genome of this space: every attempt raises
        done = wait_all(pool, 1)
        assert len(done) == 1 and done[0].result is None and done[0].attempts == 2
        assert "index 99" in str(done[0].error)
    finally:
        pool.shutdown()
