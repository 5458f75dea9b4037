"""The rank-check summary as a typed record: what ``evosnn supernet rank-check`` concludes.

Written to ``rank_check.json`` and stored in a study (``evosnn:rank_check``) as plain JSON
(:meth:`RankCheckSummary.to_dict`); read back by the CLI, the report and the proxy benchmark with
:meth:`RankCheckSummary.from_dict`, which also reads every older schema:

* schema 1 (no ``schema`` key; e.g. ``benchmarks/results/rank_check_pairs/rank_check.json``)
  lacks the bias offset and tilt, which are computed from its per-bin biases as the check computes
  them, and the bias trend, which it never measured and stays None;
* schema 2 (this one) holds everything.

A schema newer than this code knows is refused with its number, never misread.

The statistics' own records (:class:`Agreement`, :class:`BinBias`, :class:`BiasTrend`) live here
too, so that the report (below the proxy check in the layers) reads them without importing it.

Example:
    >>> bins = [BinBias(1.0, 2.0, 2, -0.02), BinBias(3.0, 4.0, 2, 0.0)]
    >>> bias_tilt(bins)
    (-0.01, [-0.01, 0.01])
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from evosnn.core.errors import EvosnnError

__all__ = [
    "SCHEMA",
    "Agreement",
    "BiasTrend",
    "BinBias",
    "FailedSubnet",
    "RankCheckSummary",
    "SummaryPoint",
    "bias_tilt",
]

#: The summary's schema version (see the module docstring for what older ones lack).
SCHEMA = 2


@dataclass(frozen=True)
class Agreement:
    """How a ranking agrees with a reference over the same subnets (p-values two-sided)."""

    n: int
    kendall_tau: float
    kendall_p: float
    spearman_rho: float
    spearman_p: float
    #: Spearman correlation of the two with energy's (rank) effect removed from both (None when
    #: no energy was given, e.g. for the ranking by energy itself).
    partial_rho: float | None
    partial_p: float | None
    k: int
    #: Share of the reference's k best subnets that are among this ranking's k best.
    top_k_overlap: float


@dataclass(frozen=True)
class BinBias:
    """Proxy minus reference in one energy bin (equal-count bins, low energy first)."""

    energy_low: float
    energy_high: float
    n: int
    bias: float


@dataclass(frozen=True)
class BiasTrend:
    """The bias's trend in energy: ``proxy - reference`` regressed on log2 energy (least squares).

    A bin of few subnets mixes each subnet's own error (what ranking statistics measure) into its
    mean bias; the trend pools every subnet to estimate the part of the bias that grows or shrinks
    with energy, which is what tilts the search's trade-off.

    Attributes:
        slope: bias change per doubling of energy (accuracy units; + favours large subnets).
        tilt: the trend's value at each bin's mean log2 energy minus its subnet-weighted mean (the
            trend's share of :func:`bias_tilt`'s tilt), bins as the per-bin bias makes them.
        residual_sd: sd of the subnets' bias around the trend (their own errors, and the
            reference's noise).
    """

    slope: float
    tilt: list[float]
    residual_sd: float


def bias_tilt(bins: Sequence[BinBias]) -> tuple[float, list[float]]:
    """The common offset (the mean bias over all subnets) and each bin's bias minus it (the tilt).

    The search only compares subnets with each other, so an offset shared by all of them changes
    no comparison and leaves the Pareto ranking as it is; a tilt steepens or flattens the apparent
    accuracy-energy trade-off (a negative tilt in the low-energy bins pushes the search toward
    larger networks).
    """
    if not bins:
        raise EvosnnError("bias tilt: no energy bins")
    offset = sum(b.n * b.bias for b in bins) / sum(b.n for b in bins)
    return offset, [b.bias - offset for b in bins]


@dataclass(frozen=True)
class SummaryPoint:
    """One kept subnet: its energy, inherited accuracy and seed-mean stand-alone accuracy."""

    energy_mj: float
    inherited: float
    standalone: float


@dataclass(frozen=True)
class FailedSubnet:
    """A chosen subnet left out of the statistics: a seed of it failed (their errors)."""

    subnet: int
    errors: list[str]


@dataclass(frozen=True)
class RankCheckSummary:
    """The statistics of a rank check over the subnets whose every seed trained.

    Attributes:
        settings: the check's settings (``RankCheckSettings.to_dict()``).
        space: the supernet's search space (``SearchSpace.to_dict()``).
        subnets: how many subnets the statistics cover.
        ceiling_partial_rho, ceiling_partial_rho_sd: the stand-alone seeds' own partial
            correlation with each other (mean, sd over seed pairs): the most a proxy can show.
        partial_share_of_ceiling: the proxy's partial rho over the ceiling (None when undefined).
        bias_trend: None in schema-1 summaries (not measured then).
        plateau_gain_last_quarter: mean stand-alone gain over the last quarter of the epochs.
        reference: the finished check whose runs this one reused, if any.
    """

    settings: dict[str, Any]
    space: dict[str, Any]
    subnets: int
    failed: list[FailedSubnet]
    proxy: Agreement
    energy_only: Agreement
    ceiling_partial_rho: float
    ceiling_partial_rho_sd: float
    partial_share_of_ceiling: float | None
    bias_by_energy: list[BinBias]
    bias_offset: float
    bias_tilt: list[float]
    bias_trend: BiasTrend | None
    plateau_gain_last_quarter: float
    points: list[SummaryPoint] = field(default_factory=list)
    reference: str | None = None
    schema: int = SCHEMA

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready values (``reference`` only when there is one)."""
        data = asdict(self)
        if data["reference"] is None:
            del data["reference"]
        return data

    @classmethod
    def from_dict(
        cls, data: Mapping[str, Any], *, source: str = "rank-check summary"
    ) -> RankCheckSummary:
        """Read a stored summary of any known schema (see the module docstring).

        Raises:
            EvosnnError: a schema newer than this code, or a summary missing a field (named).
        """
        schema = int(data.get("schema", 1))
        if schema > SCHEMA:
            raise EvosnnError(
                f"{source}: schema {schema} is newer than this evosnn reads ({SCHEMA}); "
                f"upgrade evosnn"
            )
        try:
            bins = [BinBias(**b) for b in data["bias_by_energy"]]
            offset, tilt = bias_tilt(bins)
            trend = data.get("bias_trend")
            return cls(
                settings=dict(data["settings"]),
                space=dict(data["space"]),
                subnets=int(data["subnets"]),
                failed=[FailedSubnet(int(f["subnet"]), list(f["errors"])) for f in data["failed"]],
                proxy=Agreement(**data["proxy"]),
                energy_only=Agreement(**data["energy_only"]),
                ceiling_partial_rho=float(data["ceiling_partial_rho"]),
                ceiling_partial_rho_sd=float(data["ceiling_partial_rho_sd"]),
                partial_share_of_ceiling=data.get("partial_share_of_ceiling"),
                bias_by_energy=bins,
                bias_offset=float(data.get("bias_offset", offset)),
                bias_tilt=[float(t) for t in data.get("bias_tilt", tilt)],
                bias_trend=None if trend is None else BiasTrend(**trend),
                plateau_gain_last_quarter=float(data["plateau_gain_last_quarter"]),
                points=[SummaryPoint(**p) for p in data["points"]],
                reference=data.get("reference"),
            )
        except KeyError as exc:
            raise EvosnnError(f"{source}: the summary lacks {exc.args[0]!r}") from exc
        except TypeError as exc:
            raise EvosnnError(f"{source}: an unreadable summary ({exc})") from exc
