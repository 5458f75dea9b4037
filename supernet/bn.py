"""BatchNorm recalibration: re-estimate a subnet's running statistics on a few training batches.

Statistics inherited from the supernet were accumulated over many different subnets; a short
recalibration for the subnet at hand (a cumulative average over ``batches``) is the standard fix in
one-shot NAS. Every BN buffer is reset first, so the result depends only on the subnet and the
batches, never on which subnet ran before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch
from torch import nn

__all__ = ["recalibrate_bn"]


def recalibrate_bn(
    model: nn.Module, batches: Iterable[torch.Tensor], forward: Callable[[torch.Tensor], object]
) -> int:
    """Reset all BN statistics of ``model`` and re-estimate them by running ``forward`` on ``batches``.

    Returns the number of batches used. The model is left in evaluation mode; gradients are off.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    saved = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average over the recalibration batches
    model.train()
    used = 0
    try:
        with torch.no_grad():
            for batch in batches:
                forward(batch)
                used += 1
    finally:
        for m, momentum in zip(norms, saved, strict=True):
            m.momentum = momentum
        model.eval()
    return used
