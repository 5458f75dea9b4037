"""The rank check's typed records: a chosen subnet, a stand-alone job, a stand-alone run.

A check's folder holds them as JSON (``subnets.json``: the chosen subnets; ``results.json``: one
run per ``"<subnet>-<seed>"`` key), written with ``to_dict`` and read with ``from_dict``, whose
keys are those the check has always written (so old folders read, and a reference folder of an
older check serves). A :class:`StandaloneJob` is what a Ray worker is handed (picklable).

Example:
    >>> run = StandaloneRun.from_dict({"status": "diverged", "error": "loss became nan"})
    >>> run.ok, run.to_dict()
    (False, {'status': 'diverged', 'error': 'loss became nan'})
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

__all__ = ["ChosenSubnet", "RunStatus", "StandaloneJob", "StandaloneRun"]

#: How a stand-alone run ended: trained, its loss diverged, or it failed otherwise.
RunStatus = Literal["ok", "diverged", "failed"]


@dataclass(frozen=True)
class ChosenSubnet:
    """A subnet the check trains stand-alone, with what the search's evaluation said of it."""

    config: dict[str, Any]
    inherited: float
    energy_mj: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ChosenSubnet:
        return cls(dict(data["config"]), float(data["inherited"]), float(data["energy_mj"]))


@dataclass(frozen=True)
class StandaloneJob:
    """One stand-alone training of a chosen subnet with one seed (a worker's payload)."""

    subnet: int
    seed: int
    config: dict[str, Any]
    space: dict[str, Any]
    folder: str
    epochs: int
    batch_size: int
    lr: float
    threads: int
    data_root: str | None
    #: Where the run trains (``cpu``, ``cuda``, ``cuda:N``).
    device: str = "cpu"

    @property
    def key(self) -> str:
        """Its key in ``results.json``."""
        return f"{self.subnet}-{self.seed}"

    @property
    def name(self) -> str:
        """The stem of its files in the runs folder."""
        return f"subnet-{self.subnet:02d}-seed-{self.seed}"


@dataclass(frozen=True)
class StandaloneRun:
    """How a stand-alone job ended: its accuracies and curve, or its error."""

    status: RunStatus
    val_acc: float | None = None
    test_acc: float | None = None
    energy_mj: float | None = None
    val_history: list[float] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        """The stored form: the figures of a run that trained, the error of one that did not."""
        keys: tuple[str, ...] = ("status", "error")
        if self.ok:
            keys = ("status", "val_acc", "test_acc", "energy_mj", "val_history")
        return {key: getattr(self, key) for key in keys}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StandaloneRun:
        return cls(
            status=data["status"],
            val_acc=data.get("val_acc"),
            test_acc=data.get("test_acc"),
            energy_mj=data.get("energy_mj"),
            val_history=list(data.get("val_history", [])),
            error=data.get("error"),
        )
