"""Data-parallel steps (supernet.parallel): batch parts, gradient averaging, and two gloo ranks
that sample the same subnets step by step and train the weights of one process."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from evosnn.core.errors import EvosnnError
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.training.supernet_training import augmentation_for, plan_for, sampler_for
from supernet.checkpoint import load_checkpoint
from supernet.fit import FitOptions
from supernet.parallel import DataParallel
from supernet.recipe import TrainSettings
from supernet.train import fit_supernet
from tests.conftest import tiny_dict

SETTINGS = TrainSettings(epochs=2, batch_size=16, warmup_epochs=1, recal_batches=1)


def test_the_parts_of_all_ranks_cover_the_batch_once_in_order() -> None:
    images, labels = torch.arange(12).view(12, 1), torch.arange(12)
    covered = []
    for rank in range(3):
        for x, y in DataParallel(rank=rank, world=3, micro_batches=2).local_parts(images, labels):
            assert torch.equal(x.view(-1), y) and len(y) == 2
            covered += y.tolist()
    assert covered == list(range(12))


def test_a_batch_that_does_not_split_evenly_is_refused() -> None:
    with pytest.raises(EvosnnError, match="batch size 16 does not split evenly over 3 worker"):
        DataParallel(world=3).check_batch(16)
    with pytest.raises(EvosnnError, match="invalid data-parallel layout"):
        DataParallel(rank=2, world=2)


def test_micro_batches_average_gradients_and_loss() -> None:
    model = torch.nn.Linear(3, 1)
    for p in model.parameters():
        p.grad = torch.full_like(p, 6.0)  # two micro-batches' gradients, summed by autograd
    loss = DataParallel(micro_batches=2).average(model, torch.tensor(3.0))
    assert loss == 1.5
    assert all(
        p.grad is not None and torch.equal(p.grad, torch.full_like(p, 3.0))
        for p in model.parameters()
    )


def _train(folder: Path, parallel: DataParallel) -> None:
    """Train the tiny supernet with the sandwich rule, recording every step's configs."""
    space = SearchSpace.from_dict(tiny_dict())
    base = sampler_for(space, "sandwich")
    seen: dict[int, list[str]] = {}

    def sample(rng: Any, step: int) -> Any:
        configs = base(rng, step)
        assert seen.setdefault(step, [repr(c) for c in configs]) == [repr(c) for c in configs]
        return configs

    plan = replace(plan_for(space, "sandwich"), sample=sample)
    options = FitOptions(augmentation=augmentation_for(space), progress=False, parallel=parallel)
    fit_supernet(
        plan, load_splits(space.dataset), folder / "supernet.pt", SETTINGS, options=options
    )
    (folder / f"configs-{parallel.rank}.json").write_text(json.dumps(seen))


def _rank(rank: int, world: int, folder: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group(
        "gloo", init_method=f"file://{folder}/store", rank=rank, world_size=world
    )
    try:
        _train(Path(folder) / "ranks", DataParallel(rank=rank, world=world))
        # both ranks leave together: a rank that tears gloo down while the other is still
        # validating or writing the checkpoint aborted at exit now and then (about 1 run in 12)
        dist.barrier()
    finally:
        dist.destroy_process_group()


@pytest.mark.slow
def test_two_gloo_ranks_sample_alike_and_train_the_weights_of_one_process(tmp_path: Path) -> None:
    """Two processes (gloo), each on half of every batch, against one process that runs the two
    halves as micro-batches: the same subnets at every step, and the same weights (bit for bit
    on this machine; the tolerance stated is 1e-6)."""
    (tmp_path / "ranks").mkdir()
    mp.spawn(_rank, args=(2, str(tmp_path)), nprocs=2, join=True)
    torch.set_num_threads(1)
    (tmp_path / "one").mkdir()
    _train(tmp_path / "one", DataParallel(micro_batches=2))

    rank0, rank1, one = (
        json.loads(f.read_text())
        for f in (
            tmp_path / "ranks" / "configs-0.json",
            tmp_path / "ranks" / "configs-1.json",
            tmp_path / "one" / "configs-0.json",
        )
    )
    assert rank0 == rank1 == one and len(one) == SETTINGS.epochs * (136 // 16)
    two, single = (
        load_checkpoint(f / "supernet.pt") for f in (tmp_path / "ranks", tmp_path / "one")
    )
    assert two["step"] == single["step"]
    for a, b in zip(
        two["metrics"], single["metrics"], strict=True
    ):  # the loss is summed in float32
        assert a == {**b, "loss": pytest.approx(b["loss"], rel=1e-6)}
    for name, tensor in single["model"].items():
        if "running_" in name or "num_batches" in name:
            continue  # BN running statistics are per rank (rank 0's are written)
        torch.testing.assert_close(two["model"][name], tensor, rtol=0, atol=1e-6, msg=name)
