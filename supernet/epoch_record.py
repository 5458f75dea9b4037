"""One epoch's record as a log line: the one formatter of training progress.

An epoch record is the plain dict a training run keeps per finished epoch (loss, learning rate,
validation accuracies, timings). Accuracies (keys holding ``acc``) read as percentages, other
numbers with four significant digits; non-numbers and the keys in ``skip`` are left out.

Example:
    >>> describe({"epoch": 2, "loss": 1.23456, "val_acc_largest": 0.975}, skip=("epoch",))
    'loss 1.235  val_acc_largest 97.50%'
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

__all__ = ["describe"]


def describe(record: Mapping[str, Any], *, skip: Collection[str] = ()) -> str:
    """``loss 1.235  val_acc 97.50%  ...``: the record's float values, in order."""
    return "  ".join(
        f"{key} {100 * value:.2f}%" if "acc" in key else f"{key} {value:.4g}"
        for key, value in record.items()
        if isinstance(value, float) and key not in skip
    )
