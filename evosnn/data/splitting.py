"""Seeded, stratified splits and the tensor helpers every data set's loader shares.

Example:
    >>> kept, held = stratified(torch.arange(10) % 2, 0.2, seed=0)
    >>> len(kept), len(held)
    (8, 2)
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from supernet.batches import Split

__all__ = ["digits", "hold_out", "resize", "stratified"]


def stratified(
    labels: torch.Tensor, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices (kept, held out): ``fraction`` of every class held out, seeded."""
    gen = torch.Generator().manual_seed(seed)
    kept, held = [], []
    for cls in torch.unique(labels).tolist():
        idx = torch.nonzero(labels == cls).flatten()
        idx = idx[torch.randperm(len(idx), generator=gen)]
        k = round(len(idx) * fraction)
        if len(idx) > 1:
            k = min(max(k, 1), len(idx) - 1)
        held.append(idx[:k])
        kept.append(idx[k:])
    return torch.cat(kept).sort().values, torch.cat(held).sort().values


def hold_out(
    images: torch.Tensor, labels: torch.Tensor, fraction: float, seed: int
) -> tuple[torch.Tensor, torch.Tensor, Split]:
    """The kept images and labels, and the held-out ``fraction`` of every class as a split."""
    kept, held = stratified(labels, fraction, seed)
    return images[kept], labels[kept], Split(images[held], labels[held])


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 ``[N, C, H, W]`` resized (bilinear) to ``size`` x ``size``."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    x = F.interpolate(images.float(), size=(size, size), mode="bilinear", align_corners=False)
    return x.round_().clamp_(0, 255).to(torch.uint8)


def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's bundled 8x8 digits as uint8 ``[1797, 1, 8, 8]`` (0..255) and labels."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    pixels = np.asarray(bunch.images, dtype=np.float32) * (255.0 / 16.0)
    images = torch.from_numpy(pixels).round().clamp(0, 255).to(torch.uint8).unsqueeze(1)
    return images, torch.as_tensor(bunch.target, dtype=torch.int64)
