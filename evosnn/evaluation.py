"""Evaluation: what evaluating one candidate produced (plain data; no torch)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["EvalSettings", "Evaluation"]

Status = Literal["ok", "failed", "infeasible"]


@dataclass(frozen=True)
class Evaluation:
    """The result of evaluating one subnet with inherited weights.

    ``status`` is "ok" (all numbers valid), "infeasible" (rejected by a cheap constraint before any
    network ran; ``error`` says which) or "failed" (e.g. NaN logits; ``error`` says why). Only "ok"
    evaluations carry meaningful accuracy and energy; the others must never be told as values.
    """

    status: Status
    accuracy: float = float("nan")
    energy_mj: float = float("nan")
    f_aeb: float = float("nan")
    sops: float = float("nan")
    macs: float = float("nan")
    params: int = 0
    correct: int = 0
    total: int = 0
    firing_rates: dict[str, float] = field(default_factory=dict)
    wall_time_s: float = 0.0
    recal_s: float = 0.0
    forward_s: float = 0.0
    bookkeeping_s: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        if self.status == "ok":
            for name in ("accuracy", "energy_mj", "f_aeb", "sops", "macs"):
                if not math.isfinite(getattr(self, name)):
                    raise ValueError(f"an ok Evaluation needs a finite {name}")

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: non-finite floats become None."""
        data = asdict(self)
        return {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in data.items()
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict` (None becomes NaN)."""
        values: dict[str, Any] = {
            k: (float("nan") if v is None and k != "error" else v) for k, v in data.items()
        }
        return cls(**values)


@dataclass(frozen=True)
class EvalSettings:
    """How candidates are evaluated.

    Attributes:
        recal_batches: BN recalibration batches (0 turns recalibration off).
        recal_batch_size: images per recalibration batch.
        batch_size: images per validation batch.
        max_val_images: evaluate on the first N validation images only (None: all).
        device: torch device.
        seed: which training batches recalibrate BN (fixed, so results are reproducible).
        data_seed: the seed of the data split (must match supernet training's).
    """

    recal_batches: int = 4
    recal_batch_size: int = 64
    batch_size: int = 256
    max_val_images: int | None = None
    device: str = "cpu"
    seed: int = 0
    data_seed: int = 0
