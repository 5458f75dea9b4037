"""Shared fixtures: the shipped spaces and a tiny synthetic space for fast model tests."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, settings

from evosnn.core.space import SearchSpace, load_space

# Ray starts its workers at nice 15. On a machine kept busy at normal priority (another job, or
# the CPU hog the fault tests are proven under) those workers then get a few percent of a core
# and one suite run takes hours. The tests check behaviour, not scheduling priority, so the
# suite's Ray workers (and those of the CLI subprocesses, which inherit this environment)
# compete at the normal level. Set before any test starts Ray.
os.environ.setdefault("RAY_worker_niceness", "0")

# Property tests check results, not speed: on a busy 2-core machine a scheduler stall past
# Hypothesis's 200 ms deadline, or slow data generation, would fail them by timing luck.
settings.register_profile(
    "evosnn", deadline=None, suppress_health_check=[HealthCheck.too_slow], print_blob=True
)
settings.load_profile("evosnn")

ROOT = Path(__file__).resolve().parent.parent
SPACES = ROOT / "search_spaces"

TINY: dict[str, Any] = {
    "name": "tiny-synthetic",
    "dataset": {
        "name": "synthetic",
        "image_size": 8,
        "channels": 1,
        "num_classes": 4,
        "synthetic_size": 200,
    },
    "supernet": {"depth": 2, "embed_dim": 32, "mlp_ratio": 2.0, "num_heads": 4},
    "choices": {
        "depth": [1, 2],
        "embed_dim": [16, 32],
        "mlp_ratio": [1.0, 2.0],
        "num_heads": [2, 4],
        "time_steps": [1, 2],
        "threshold": [0.5, 1.0],
        "tau": [2.0, 4.0],
    },
    "neuron_defaults": {"threshold": 1.0, "tau": 2.0, "time_steps": 2},
}


@contextlib.contextmanager
def local_ray(num_cpus: int = 2) -> Iterator[None]:
    """A private local Ray instance for the block, shut down after it.

    ``address="local"`` starts a new instance even where the machine has a live ``ray start``
    head, another run's instance or a stale current-cluster file, which a bare ``ray.init()``
    would attach to (and then refuse ``num_cpus``).
    """
    import ray

    ray.init(
        address="local",
        num_cpus=num_cpus,
        include_dashboard=False,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    try:
        yield
    finally:
        ray.shutdown()


def tiny_dict() -> dict[str, Any]:
    """A fresh, mutable copy of the tiny space's mapping."""
    return copy.deepcopy(TINY)


@pytest.fixture
def tiny_space() -> SearchSpace:
    return SearchSpace.from_dict(tiny_dict(), source="tiny")


@pytest.fixture
def digits_space() -> SearchSpace:
    return load_space(SPACES / "digits-tiny.yaml")


@pytest.fixture
def cifar_space() -> SearchSpace:
    return load_space(SPACES / "cifar10-spikformer.yaml")


def write_space(tmp_path: Path, data: dict[str, Any], name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(scope="session")
def tiny_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A supernet of the tiny synthetic space, trained for two short epochs (a few seconds)."""
    from evosnn.data.loading import load_splits
    from evosnn.training.supernet_training import train_supernet_for
    from supernet.recipe import TrainSettings

    space = SearchSpace.from_dict(tiny_dict())
    out = tmp_path_factory.mktemp("tiny-run")
    settings = TrainSettings(epochs=2, batch_size=32, warmup_epochs=1, recal_batches=1)
    train_supernet_for(space, load_splits(space.dataset), out, settings, progress=False)
    return out / "supernet.pt"
