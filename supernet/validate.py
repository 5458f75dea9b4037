"""Accuracy of a (sub)network on a split, with optional BatchNorm recalibration first.

Shared by supernet training (per-epoch validation) and the search's evaluator.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

import torch
from torch import nn

from supernet.batches import Split, iter_batches, normalize
from supernet.bn import recalibrate_bn

__all__ = [
    "count_correct",
    "count_correct_on",
    "preserved_bn",
    "recal_images",
    "recalibrate_on_split",
    "val_batches",
]

Forward = Callable[[torch.Tensor], torch.Tensor]
In = TypeVar("In")


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
    batches = val_batches(split, mean, std, batch_size=batch_size, device=device)
    return count_correct_on(forward, batches, len(split), device=device)


def val_batches(
    split: Split,
    mean: tuple[float, ...],
    std: tuple[float, ...],
    *,
    batch_size: int,
    device: torch.device | str = "cpu",
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """``(normalised images, labels)`` of ``split`` on ``device``, in order."""
    for images, labels in iter_batches(split, batch_size):
        yield normalize(images.to(device), mean, std), labels.to(device)


def count_correct_on(
    forward: Callable[[In], torch.Tensor],
    batches: Iterable[tuple[In, torch.Tensor]],
    total: int,
    *,
    device: torch.device | str = "cpu",
) -> tuple[int, int, bool]:
    """:func:`count_correct` over ready ``(input, labels)`` batches (``total`` images in all): the
    inputs may be anything ``forward`` takes, e.g. a cached stem's tokens."""
    correct = torch.zeros((), dtype=torch.int64, device=device)
    finite = torch.ones((), dtype=torch.bool, device=device)
    with torch.inference_mode():
        for inputs, labels in batches:
            logits = forward(inputs)
            finite &= torch.isfinite(logits).all()
            correct += (logits.argmax(1) == labels).sum()
    return int(correct), total, bool(finite)


#: A split's per-channel mean and std (as :class:`~supernet.batches.Splits` holds them).
Norm = tuple[tuple[float, ...], tuple[float, ...]]


def recalibrate_on_split(
    model: nn.Module,
    forward: Forward,
    split: Split,
    norm: Norm,
    *,
    batches: int,
    batch_size: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> int:
    """Re-estimate ``model``'s BN statistics on ``batches`` seeded batches of ``split``,
    normalised with ``norm`` (mean, std).

    The same seed gives the same batches, so results never depend on what ran before.
    """
    images = recal_images(
        split, norm, batches=batches, batch_size=batch_size, seed=seed, device=device
    )
    return recalibrate_bn(model, images, forward)


def recal_images(
    split: Split,
    norm: Norm,
    *,
    batches: int,
    batch_size: int,
    seed: int = 0,
    device: torch.device | str = "cpu",
) -> Iterator[torch.Tensor]:
    """The normalised images of :func:`recalibrate_on_split`'s ``batches`` seeded batches."""
    gen = torch.Generator().manual_seed(seed)
    for i, (x, _) in enumerate(iter_batches(split, batch_size, shuffle=True, generator=gen)):
        if i >= batches:
            return
        yield normalize(x.to(device), *norm)


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
