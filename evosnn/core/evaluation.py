"""Evaluation: what evaluating one candidate produced (plain data; no torch)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from evosnn.core.validation import (
    COUNT,
    DEFAULT_DEVICE,
    DEFAULT_SEED,
    NON_NEGATIVE,
    SEED,
    Device,
    Whole,
    check_fields,
    setting,
)

__all__ = ["EvalSettings", "Evaluation", "silent_paths", "wilson_interval"]

#: The two-sided 95 % normal quantile.
Z95 = 1.959963984540054

Status = Literal["ok", "failed", "infeasible"]


def wilson_interval(correct: int, total: int, *, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of an accuracy of ``correct`` out of ``total`` images (95 % by
    default): unlike the normal approximation it stays inside [0, 1] and is honest near 100 %.

    Example:
        >>> low, high = wilson_interval(210, 216)
        >>> round(low, 4), round(high, 4)
        (0.9407, 0.9872)
        >>> wilson_interval(0, 0)
        (0.0, 1.0)
    """
    if total <= 0:
        return 0.0, 1.0
    p = correct / total
    denominator = 1.0 + z * z / total
    centre = (p + z * z / (2 * total)) / denominator
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / denominator
    low = 0.0 if correct <= 0 else max(0.0, centre - half)
    high = 1.0 if correct >= total else min(1.0, centre + half)
    return low, high


def silent_paths(rates: dict[str, float]) -> list[str]:
    """The synaptic paths whose measured input was zero on every evaluated image, in order.

    Example:
        >>> silent_paths({"blocks.0.attn_qk": 0.1, "blocks.0.proj": 0.0})
        ['blocks.0.proj']
    """
    return [name for name, rate in rates.items() if rate == 0.0]


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
    #: The counting convention of ``energy_mj`` (the space's), and the figure under each convention.
    energy_convention: str = "spikformer"
    energy_mj_spikformer: float = float("nan")
    energy_mj_strict: float = float("nan")
    energy_mj_memory: float = float("nan")
    #: The same architecture as a quantised (ceil(log2(T+1)) bits) and a float ANN, same hardware
    #: profile; the uniform firing rate at which the spiking network breaks even with the QNN.
    energy_mj_qnn: float = float("nan")
    energy_mj_fp32: float = float("nan")
    break_even_rate: float = float("nan")
    f_aeb: float = float("nan")
    sops: float = float("nan")
    macs: float = float("nan")
    params: int = 0
    correct: int = 0
    total: int = 0
    firing_rates: dict[str, float] = field(default_factory=dict)
    #: Paths silent on every evaluated image (:func:`silent_paths`): e.g. ``blocks.0.proj``, the
    #: attention's output, silent means the block's attention branch never fired.
    silent_paths: list[str] = field(default_factory=list)
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

    @property
    def accuracy_interval(self) -> tuple[float, float]:
        """The 95 % Wilson interval of ``accuracy`` over its ``total`` evaluated images."""
        return wilson_interval(self.correct, self.total)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe: non-finite floats become None; an ok evaluation adds ``accuracy_ci95``
        (the Wilson interval, beside ``total``, the number of images it rests on)."""
        data = {
            k: (None if isinstance(v, float) and not math.isfinite(v) else v)
            for k, v in asdict(self).items()
        }
        if self.ok:
            data["accuracy_ci95"] = list(self.accuracy_interval)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Evaluation:
        """Inverse of :meth:`to_dict` (None becomes NaN; derived keys are ignored)."""
        known = {f.name for f in fields(cls)}
        values: dict[str, Any] = {
            k: (float("nan") if v is None and k != "error" else v)
            for k, v in data.items()
            if k in known
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
        stem_cache_mib: memory bound, in MiB, of the evaluator's stem cache (the patch splitter's
            outputs and BN statistics per embedding width and T, reused by every subnet that
            shares them; least recently used evicted first; 0 turns it off). Results are bit for
            bit the same either way, so a study does not record it (:meth:`recorded`).

    The data split is the space's (``dataset.split_seed``), the one the supernet was trained on.
    """

    recal_batches: int = setting(4, NON_NEGATIVE)
    recal_batch_size: int = setting(64, COUNT)
    batch_size: int = setting(256, COUNT)
    max_val_images: int | None = setting(None, Whole(1, optional=True))
    device: str = setting(DEFAULT_DEVICE, Device())
    seed: int = setting(DEFAULT_SEED, SEED)
    stem_cache_mib: int = setting(512, NON_NEGATIVE)

    def __post_init__(self) -> None:
        check_fields(self)

    def recorded(self) -> dict[str, Any]:
        """The settings that decide the results, as a study records them: all but where they run
        (``device``) and how much memory the stem cache may take (``stem_cache_mib``), so changing
        either never stops a study from resuming.

        Example:
            >>> sorted(EvalSettings().recorded())
            ['batch_size', 'max_val_images', 'recal_batch_size', 'recal_batches', 'seed']
        """
        return {k: v for k, v in asdict(self).items() if k not in ("device", "stem_cache_mib")}
