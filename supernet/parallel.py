"""Data-parallel training steps: each rank's part of the global batch and one all-reduce per step.

Every process (rank) of a data-parallel run draws the same batch order, augmentation and subnets
(all from ``(seed, step)``), trains on its own slice of the global batch, and after the backward
pass averages gradients and loss over the ranks with **one all-reduce of a flat buffer**. The
optimizer step is then the same on every rank, so the weights stay equal everywhere and equal
those of one process training on the whole global batch.

Why not ``DistributedDataParallel``: a supernet step trains a different slice of the shared
weights every time, which DDP's bucketed gradient hooks handle only with
``find_unused_parameters`` (a graph walk every step). Since every rank samples the same subnet,
the same parameters have gradients on every rank, and one explicit all-reduce of those is simpler
and cheaper.

**BatchNorm is per rank** (as with DDP's default): in training mode each rank normalises over its
own part of the batch. ``micro_batches`` reproduces that in one process: the batch is split into
parts that each get their own forward and backward pass (their BN statistics, as on separate
ranks) and the gradients are averaged. So ``DataParallel(world=1, micro_batches=2)`` trains the
same weights as two ranks, which is how the equivalence is tested. BN running statistics differ
between ranks (rank 0's are checkpointed); they do not matter for the search, which recalibrates
BN for every subnet it evaluates.

Example:
    >>> part = DataParallel(rank=1, world=2)
    >>> [y.tolist() for _, y in part.local_parts(torch.zeros(4, 1), torch.arange(4))]
    [[2, 3]]
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from evosnn.core.errors import EvosnnError

__all__ = ["DataParallel"]


@dataclass
class DataParallel:
    """Which part of each global batch this process trains on, and how gradients are averaged.

    Attributes:
        rank: this process's index in the group (0 writes checkpoints and validates).
        world: processes in the group; above 1, ``torch.distributed`` must be initialised.
        micro_batches: forward/backward passes per rank and step (gradient accumulation).
        comm_seconds: time spent in the gradient all-reduce so far, waiting for the other ranks
            included (for the communication share).
    """

    rank: int = 0
    world: int = 1
    micro_batches: int = 1
    comm_seconds: float = field(default=0.0, compare=False)

    def __post_init__(self) -> None:
        if self.world < 1 or not 0 <= self.rank < self.world or self.micro_batches < 1:
            raise EvosnnError(
                f"invalid data-parallel layout (rank {self.rank} of {self.world}, "
                f"{self.micro_batches} micro-batches)"
            )

    @property
    def main(self) -> bool:
        """Whether this is rank 0 (checkpoints, validation, progress)."""
        return self.rank == 0

    @property
    def parts(self) -> int:
        """How many parts each global batch is split into (ranks times micro-batches)."""
        return self.world * self.micro_batches

    def check_batch(self, batch_size: int) -> None:
        """Raise unless the global batch splits into equal parts (every rank the same work).

        Raises:
            EvosnnError: ``batch_size`` is not a multiple of :attr:`parts`.
        """
        if batch_size % self.parts:
            raise EvosnnError(
                f"batch size {batch_size} does not split evenly over {self.world} worker(s) x "
                f"{self.micro_batches} micro-batch(es); choose a --batch-size divisible by "
                f"{self.parts}"
            )

    def local_parts(
        self, images: torch.Tensor, labels: torch.Tensor
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """This rank's slice of a global batch, cut into its micro-batches."""
        size = len(labels) // self.parts
        first = self.rank * self.micro_batches
        return [
            (images[i * size : (i + 1) * size], labels[i * size : (i + 1) * size])
            for i in range(first, first + self.micro_batches)
        ]

    def backward(
        self,
        model: nn.Module,
        images: torch.Tensor,
        labels: torch.Tensor,
        run: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    ) -> torch.Tensor:
        """Run ``run(images, labels)`` (forward and backward, returns the loss) on each of this
        rank's micro-batches; leave their gradients summed; return the summed loss.

        Each micro-batch's gradients are computed on their own and then added in order, as the
        all-reduce adds the ranks' gradients, so one process with N micro-batches rounds like N
        ranks do (bit for bit with two, whatever the number of backward passes per step).
        """
        parts = self.local_parts(images, labels)
        if len(parts) == 1:
            return run(*parts[0]).detach().float()
        params = list(model.parameters())
        total: list[torch.Tensor | None] = [None] * len(params)
        loss_sum: torch.Tensor | None = None
        for x, y in parts:
            loss = run(x, y).detach().float()
            loss_sum = loss if loss_sum is None else loss_sum + loss
            for i, p in enumerate(params):
                if p.grad is not None:
                    before = total[i]
                    total[i] = p.grad if before is None else before + p.grad
                    p.grad = None
        for p, g in zip(params, total, strict=True):
            p.grad = g
        assert loss_sum is not None
        return loss_sum

    def average(self, model: nn.Module, loss_sum: torch.Tensor) -> float:
        """Average the summed gradients and loss over all parts; return the mean loss.

        ``loss_sum`` (float32) is the sum of this rank's micro-batch losses (see
        :meth:`backward`). One all-reduce sums gradients and loss over ranks, then everything
        is divided by :attr:`parts`. Every rank ends with the same gradients and loss.
        """
        grads = [p.grad for p in model.parameters() if p.grad is not None]
        if self.world > 1:
            import torch.distributed as dist

            flat = torch.cat([g.reshape(-1) for g in grads] + [loss_sum.reshape(1).float()])
            started = time.perf_counter()
            dist.all_reduce(flat)
            self.comm_seconds += time.perf_counter() - started
            flat.div_(self.parts)
            offset = 0
            for g in grads:
                g.copy_(flat[offset : offset + g.numel()].view_as(g))
                offset += g.numel()
            return float(flat[-1])
        if self.micro_batches > 1:
            for g in grads:
                g.div_(self.micro_batches)
        return float(loss_sum / self.micro_batches)

    def share(self, obj: Any) -> Any:
        """Rank 0's ``obj`` on every rank (e.g. the epoch's validation record)."""
        if self.world == 1:
            return obj
        import torch.distributed as dist

        box = [obj]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, obj: Any) -> list[Any]:
        """Every rank's ``obj``, in rank order, on every rank (e.g. to agree that all are ready)."""
        if self.world == 1:
            return [obj]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world
        dist.all_gather_object(out, obj)
        return out
