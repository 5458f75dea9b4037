"""Accuracy of a (sub)network on a split, with optional BatchNorm recalibration first.

Shared by supernet training (per-epoch validation) and the search's evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from supernet.batches import Split, iter_batches, normalize
from supernet.bn import recalibrate_bn

__all__ = ["count_correct", "preserved_bn", "recalibrate_on_split"]

Forward = Callable[[torch.Tensor], torch.Tensor]


def count_correct(
    forward: Forward,
    split: Split,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    *,
    batch_size: int = 256,
    device: torch.device | str = "cpu",
) -> tuple[int, int, bool]:
    """``(correct, total, finite)`` of ``forward``'s top-1 predictions on ``split``.

    ``finite`` is False if any logit was NaN or infinite (the caller decides what that means).
    """
    correct = torch.zeros((), dtype=torch.int64, device=device)
    finite = torch.ones((), dtype=torch.bool, device=device)
    with torch.inference_mode():
        for images, labels in iter_batches(split, batch_size):
            logits = forward(normalize(images.to(device), mean, std))
            finite &= torch.isfinite(logits).all()
            correct += (logits.argmax(1) == labels.to(device)).sum()
    return int(correct), len(split), bool(finite)


def recalibrate_on_split(
    model: nn.Module,
    forward: Forward,
    split: Split,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    *,
    batches: int,
    batch_size: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> int:
    """Re-estimate ``model``'s BN statistics on ``batches`` seeded batches of ``split``.

    The same seed gives the same batches, so results never depend on what ran before.
    """
    gen = torch.Generator().manual_seed(seed)
    source = iter_batches(split, batch_size, shuffle=True, generator=gen)

    def images() -> Iterator[torch.Tensor]:
        for i, (x, _) in enumerate(source):
            if i >= batches:
                return
            yield normalize(x.to(device), mean, std)

    return recalibrate_bn(model, images(), forward)


@contextmanager
def preserved_bn(model: nn.Module) -> Iterator[None]:
    """Restore every BN buffer of ``model`` on exit (validation must not disturb training)."""
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [{k: v.clone() for k, v in m.named_buffers()} for m in norms]
    was_training = model.training
    try:
        yield
    finally:
        with torch.no_grad():
            for m, buffers in zip(norms, saved, strict=True):
                for name, value in buffers.items():
                    getattr(m, name).copy_(value)
        model.train(was_training)
