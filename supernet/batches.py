"""In-memory image batches: the split types, normalisation, augmentation and batch iteration.

Tensor-level utilities shared by training, validation and evaluation. Loading a data set from disk is
the application's business (``evosnn.data.loading``); this module only works on tensors already in memory.

Example:
    >>> split = Split(torch.zeros(10, 1, 8, 8, dtype=torch.uint8), torch.arange(10) % 2)
    >>> [len(y) for _, y in iter_batches(split, 4)]
    [4, 4, 2]
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = ["Split", "Splits", "augment", "iter_batches", "normalize"]


@dataclass(frozen=True)
class Split:
    """Images ``[N, C, H, W]`` as uint8 and labels ``[N]`` as int64."""

    images: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return int(self.labels.shape[0])


@dataclass(frozen=True)
class Splits:
    """The three splits plus the per-channel mean and std used to normalise them."""

    train: Split
    val: Split
    test: Split
    mean: tuple[float, ...]
    std: tuple[float, ...]


def normalize(
    images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]
) -> torch.Tensor:
    """uint8 ``[B, C, H, W]`` to float32, scaled to [0, 1] then standardised per channel."""
    x = images.float().div_(255.0)
    m = torch.tensor(mean, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    s = torch.tensor(std, dtype=x.dtype, device=x.device).view(1, -1, 1, 1)
    return x.sub_(m).div_(s)


def augment(
    images: torch.Tensor, *, shift: int, flip: bool, generator: torch.Generator
) -> torch.Tensor:
    """Random translation by up to ``shift`` pixels (zero padding) and optional horizontal flip.

    Digits get shifts only (a mirrored digit is another symbol); CIFAR gets the usual pad-4 crop and
    flip. Event frame banks ``[B, S, C, H, W]`` get one draw per recording, applied to all of its
    frames (spikingjelly's CIFAR10-DVS recipe: flips and small translations of the whole clip).
    One draw per image, from ``generator``, so training is reproducible.
    """
    shape = images.shape
    images = images.reshape(shape[0], -1, shape[-2], shape[-1])
    n, _, h, w = images.shape
    out = images
    if shift > 0:
        padded = F.pad(images, (shift, shift, shift, shift))
        dx = torch.randint(0, 2 * shift + 1, (n,), generator=generator).tolist()
        dy = torch.randint(0, 2 * shift + 1, (n,), generator=generator).tolist()
        crops = [
            padded[i, :, y : y + h, x : x + w] for i, (x, y) in enumerate(zip(dx, dy, strict=False))
        ]
        out = torch.stack(crops)
    if flip:
        mask = torch.rand(n, generator=generator) < 0.5
        out = torch.where(mask.view(-1, 1, 1, 1), out.flip(-1), out)
    return out.reshape(shape)


def iter_batches(
    split: Split,
    batch_size: int,
    *,
    shuffle: bool = False,
    generator: torch.Generator | None = None,
    drop_last: bool = False,
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(uint8 images, labels)`` batches; in-memory, so much cheaper than a DataLoader."""
    n = len(split)
    order = torch.randperm(n, generator=generator) if shuffle else torch.arange(n)
    stop = n - n % batch_size if drop_last else n
    for start in range(0, stop, batch_size):
        idx = order[start : start + batch_size]
        yield split.images[idx], split.labels[idx]
