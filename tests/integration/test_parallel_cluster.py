"""`supernet train --workers`: a cluster with enough CPUs in all but no node that can hold a worker
is refused before anything starts (a real two-node local Ray cluster)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
import ray
from ray.cluster_utils import Cluster

from evosnn.core.errors import EvosnnError
from evosnn.core.resources import RayResources
from evosnn.core.space import SearchSpace
from evosnn.training.supernet_training import train_supernet_parallel
from supernet.recipe import TrainSettings
from tests.conftest import tiny_dict

pytestmark = [pytest.mark.slow, pytest.mark.ray]


@pytest.fixture
def two_nodes() -> Iterator[Cluster]:
    cluster = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "include_dashboard": False},
    )
    try:  # set-up inside: a failed add_node or init must not leave a head for later tests
        cluster.add_node(num_cpus=1)
        ray.init(address=cluster.address, logging_level=logging.WARNING, log_to_driver=False)
        yield cluster
    finally:
        ray.shutdown()
        cluster.shutdown()


def test_workers_no_node_can_hold_are_refused(two_nodes: Cluster, tmp_path: Path) -> None:
    space = SearchSpace.from_dict(tiny_dict())
    settings = TrainSettings(epochs=1, batch_size=16)
    with pytest.raises(EvosnnError, match=r"nodes hold only 0 worker\(s\) of 2 thread\(s\)"):
        train_supernet_parallel(space, tmp_path, settings, RayResources(workers=1, threads=2))
    assert not (tmp_path / "supernet.pt").exists()
