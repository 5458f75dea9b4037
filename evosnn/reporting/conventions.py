"""One study's Pareto front under two energy conventions, and what changes between them.

Every trial records its energy under every convention (``energy_mj_spikformer``,
``energy_mj_strict``, ``energy_mj_memory``); a trial recorded before a convention existed has it
recomputed from its stored per-layer rates (nothing is re-evaluated). The same evaluated
architectures then give one front per convention: :func:`compare` says how many front members
the two share, and how the chosen time steps and widths move. ``evosnn report`` prints it and
draws both fronts side by side; the search stores the same figure in the study for
optuna-dashboard (``evosnn-conventions``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from statistics import mean
from typing import TYPE_CHECKING, Any

from evosnn.core.genome import GenomeCodec
from evosnn.objectives.energy import CONVENTIONS, EnergyModel
from evosnn.objectives.front import pareto_mask

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from evosnn.storage.ledger import LedgerRecord

__all__ = ["COMPARED", "Candidate", "Comparison", "candidates", "compare", "conventions_figure"]

#: The two conventions the report and the dashboard set side by side.
COMPARED = ("spikformer", "memory")
#: The dashboard figure's id.
FIGURE_ID = "evosnn-conventions"


@dataclass(frozen=True)
class Candidate:
    """One completed, feasible trial with its energy under every convention it has."""

    trial: int
    accuracy: float
    energy_mj: dict[str, float]
    time_steps: int
    embed_dim: int
    depth: int
    break_even_rate: float | None = None
    #: The equivalent quantised and float ANNs' energies (mJ), where recorded.
    qnn_mj: float | None = None
    fp32_mj: float | None = None


def _energies(record: LedgerRecord, codec: GenomeCodec) -> dict[str, float]:
    stored = {c: record.attrs.energy_mj(c) for c in CONVENTIONS}
    found: dict[str, float] = {c: v for c, v in stored.items() if v is not None}
    missing = [c for c in CONVENTIONS if c not in found]
    rates = record.attrs.firing_rates
    if missing and rates:
        model, geometry = EnergyModel.for_space(codec.space), codec.space.geometry
        config = codec.decode(record.genome)
        # rates recorded before an entry a convention needs existed: leave that convention out
        with contextlib.suppress(ValueError):
            found |= {
                c: model.with_convention(c).estimate(config, geometry, rates=rates).energy_mj
                for c in missing
            }
    return found


def candidates(records: Sequence[LedgerRecord], codec: GenomeCodec) -> list[Candidate]:
    """The completed, feasible trials of a study, with their energies by convention."""
    out = []
    for r in records:
        if not r.feasible or r.values is None:
            continue
        config = codec.decode(r.genome)
        out.append(
            Candidate(
                trial=r.number,
                accuracy=float(r.values[0]),
                energy_mj=_energies(r, codec),
                time_steps=config.time_steps,
                embed_dim=config.embed_dim,
                depth=config.depth,
                break_even_rate=r.attrs.break_even_rate,
                qnn_mj=r.attrs.energy_mj_qnn,
                fp32_mj=r.attrs.energy_mj_fp32,
            )
        )
    return out


@dataclass(frozen=True)
class Comparison:
    """The fronts of the same candidates under each of two conventions."""

    conventions: tuple[str, str]
    fronts: dict[str, list[Candidate]]
    compared: int

    @property
    def shared(self) -> set[int]:
        a, b = (self.fronts[c] for c in self.conventions)
        return {x.trial for x in a} & {x.trial for x in b}

    @property
    def union(self) -> set[int]:
        """The trials on either front."""
        a, b = (self.fronts[c] for c in self.conventions)
        return {x.trial for x in a} | {x.trial for x in b}

    @property
    def jaccard(self) -> float | None:
        """The share of the architectures on either front that are on both (None: no front)."""
        return len(self.shared) / len(self.union) if self.union else None

    def lines(self) -> list[str]:
        """Plain sentences: the fronts' sizes, the overlap, and where T and width moved."""
        out = [f"{self.compared} trials carry both energies."]
        for c in self.conventions:
            front = self.fronts[c]
            if not front:
                continue
            out.append(
                f"front under {c}: {len(front)} architectures; time steps "
                f"{_spread([x.time_steps for x in front])}; embed dim "
                f"{_spread([x.embed_dim for x in front])}; depth {_spread([x.depth for x in front])}"
            )
        if self.jaccard is not None:
            out.append(
                f"{len(self.shared)} of the {len(self.union)} architectures on either front are on "
                f"both (Jaccard {self.jaccard:.2f})."
            )
        return out


def _spread(values: list[int]) -> str:
    return f"mean {mean(values):.2f} (values {sorted(set(values))})"


def _by_energy(convention: str) -> Callable[[Candidate], tuple[float, float]]:
    def key(c: Candidate) -> tuple[float, float]:
        return (c.energy_mj[convention], -c.accuracy)

    return key


def compare(cands: Sequence[Candidate], conventions: tuple[str, str] = COMPARED) -> Comparison:
    """The Pareto fronts (accuracy up, energy down) of ``cands`` under each convention."""
    both = [c for c in cands if all(k in c.energy_mj for k in conventions)]
    fronts: dict[str, list[Candidate]] = {}
    for conv in conventions:
        mask = pareto_mask([(c.accuracy, c.energy_mj[conv]) for c in both])
        front = [c for c, keep in zip(both, mask, strict=True) if keep]
        fronts[conv] = sorted(front, key=_by_energy(conv))
    return Comparison(conventions, fronts, len(both))


def conventions_figure(cands: Sequence[Candidate], comparison: Comparison) -> go.Figure:
    """Two panels, one per convention: every candidate, its front, and the shared members."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    names = comparison.conventions
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=[f"energy: {c}" for c in names], shared_yaxes=True
    )
    shared = comparison.shared
    for col, conv in enumerate(names, start=1):
        pts = [c for c in cands if conv in c.energy_mj and all(k in c.energy_mj for k in names)]
        traces: list[Any] = [
            go.Scatter(
                x=[c.energy_mj[conv] for c in pts],
                y=[c.accuracy for c in pts],
                mode="markers",
                marker={"color": [c.time_steps for c in pts], "colorscale": "Viridis", "size": 6},
                text=[f"trial {c.trial}: T {c.time_steps}, D {c.embed_dim}" for c in pts],
                name="evaluations (color: T)",
                showlegend=col == 1,
            ),
            go.Scatter(
                x=[c.energy_mj[conv] for c in comparison.fronts[conv]],
                y=[c.accuracy for c in comparison.fronts[conv]],
                mode="lines+markers",
                line={"shape": "hv", "color": "crimson"},
                marker={
                    "symbol": [
                        "star" if c.trial in shared else "circle" for c in comparison.fronts[conv]
                    ],
                    "size": 10,
                },
                name="front (star: on both fronts)",
                showlegend=col == 1,
            ),
        ]
        for trace in traces:
            figure.add_trace(trace, row=1, col=col)
        figure.update_xaxes(title_text="energy per image (mJ)", type="log", row=1, col=col)
    figure.update_yaxes(title_text="validation accuracy", row=1, col=1)
    title = "One study's Pareto front under two energy conventions"
    if not comparison.compared:
        title += " (no trial carries both energies yet)"
    figure.update_layout(title=title)
    return figure
