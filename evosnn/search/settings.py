"""A search's settings and its summary (plain data)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from evosnn.core.errors import SettingError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.validation import (
    CPUS,
    DEFAULT_GPUS,
    DEFAULT_SEED,
    GPUS,
    SEED,
    WORKERS,
    Choice,
    Real,
    Whole,
    check_fields,
    setting,
)
from evosnn.engines import ENGINES

__all__ = ["ParetoRow", "SearchSettings", "SearchSummary"]


@dataclass(frozen=True)
class SearchSettings:
    """How a search runs (see ``evosnn search --help``).

    ``workers`` 0 evaluates in the driver's own process, one genome after the other, without Ray
    (``eval_timeout_s`` and the Ray resource options then do not apply); it asks and tells exactly
    as one Ray worker does (the same ``window``), so for a seed it proposes the same genomes.
    """

    engine: str = setting("surrogate", Choice(tuple(ENGINES)))
    population: int = setting(16, Whole(2, 100_000))
    generations: int = setting(6, Whole(1, 100_000))
    workers: int = setting(2, WORKERS)
    seed: int = setting(DEFAULT_SEED, SEED)
    ray_address: str | None = None
    cpus_per_worker: float = setting(1.0, CPUS)
    gpus_per_worker: float = setting(DEFAULT_GPUS, GPUS)
    eval_timeout_s: float = setting(600.0, Real(0.0, 1e9, low_open=True))
    max_attempts: int = setting(3, Whole(1, 100))
    data_root: str | None = None
    eval: EvalSettings = field(default_factory=EvalSettings)
    engine_options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.ray_address and not self.workers:
            raise SettingError(
                f"ray_address={self.ray_address!r} is for Ray workers; with workers=0 the "
                "evaluations run in this process (give workers >= 1, or no --ray-address)"
            )
        if not isinstance(self.eval, EvalSettings):
            raise SettingError(f"eval={self.eval!r}: must be an EvalSettings")
        if self.workers and self.gpus_per_worker > 1 and self.gpus_per_worker % 1:
            raise SettingError(
                f"gpus_per_worker={self.gpus_per_worker:g}: above 1 it must be a whole number"
            )

    @property
    def budget(self) -> int:
        """Completed evaluations the study holds when the search ends."""
        return self.population * self.generations

    @property
    def window(self) -> int:
        """Genomes asked but not yet told: twice the workers (twice one for ``workers`` 0)."""
        return 2 * max(1, self.workers)


@dataclass(frozen=True)
class ParetoRow:
    """One point of the final Pareto front (``accuracy`` on validation, ``test_accuracy`` on the
    held-out test split, None until it is scored)."""

    trial: int
    accuracy: float
    energy_mj: float
    f_aeb: float
    params: int
    summary: str
    test_accuracy: float | None = None


@dataclass(frozen=True)
class SearchSummary:
    """What a search (run or resumed) ended with.

    ``hypervolume`` is the area the feasible front dominates in the reference box, accuracy 0 to 1
    (a fraction) by energy 0 to ``hv_reference_mj`` (mJ per image, twice the study's energy
    target): its unit is accuracy x mJ. :attr:`hypervolume_share` divides it by the box's area, so
    1.0 would be a single subnet of 100 % accuracy at zero energy.
    """

    study: str
    storage: str
    completed: int
    evaluated_now: int
    answered_from_ledger: int
    hypervolume: float
    pareto: list[ParetoRow]
    elapsed_s: float
    workers_replaced: int
    hv_reference_mj: float = 0.0
    energy_target_mj: float | None = None

    @property
    def hypervolume_share(self) -> float | None:
        """The hypervolume as a share (0-1) of the reference box; None when the box is unknown."""
        if self.hv_reference_mj <= 0:
            return None
        return self.hypervolume / self.hv_reference_mj

    #: Trials answered as equivalent to an evaluated network (not in ``completed``, not evaluated).
    equivalent: int = 0
