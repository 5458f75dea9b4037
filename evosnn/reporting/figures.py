"""Plotly figures of a search, stored in its study for optuna-dashboard to show.

optuna-dashboard draws the Pareto front of a multi-objective study but has no hypervolume history
and no notion of generations, so the search stores two figures of its own in the study (through
``optuna_dashboard.save_plotly_graph_object``; the dashboard lists them on the study's page):

``evosnn-hypervolume``
    hypervolume over completed evaluations (the reference point is in the study attr
    ``hv_reference``);
``evosnn-pareto``
    every feasible evaluation colored by generation, with a slider that shows the Pareto front as it
    stood after each generation, and the knee marked;
``evosnn-conventions``
    the same evaluations' Pareto front under Spikformer's counting and under the memory-aware
    energy, side by side (:mod:`evosnn.reporting.conventions`).

The driver refreshes both after every generation, so a running search is watched live. The same
:class:`SearchView` feeds ``evosnn report``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from evosnn.objectives.front import hypervolume_curve, knee_index, pareto_mask
from evosnn.reporting.conventions import FIGURE_ID as CONVENTIONS_FIGURE_ID
from evosnn.reporting.conventions import candidates, compare, conventions_figure

if TYPE_CHECKING:
    import plotly.graph_objects as go

    from evosnn.storage.ledger import Ledger, LedgerRecord

__all__ = [
    "FIGURE_IDS",
    "PREDICTOR_FIGURE_ID",
    "Point",
    "SearchView",
    "hypervolume_figure",
    "pareto_figure",
    "predictor_figure",
    "store_figures",
]

FIGURE_IDS = ("evosnn-hypervolume", "evosnn-pareto", CONVENTIONS_FIGURE_ID)


@dataclass(frozen=True)
class Point:
    """One completed, feasible evaluation."""

    accuracy: float
    energy_mj: float
    generation: int
    f_aeb: float
    trial: int | None = None


@dataclass(frozen=True)
class SearchView:
    """The shape of a search: its points in evaluation order, Pareto front, knee and HV curve."""

    points: list[Point]
    ref_energy: float

    @classmethod
    def from_records(cls, records: Sequence[LedgerRecord], ref_energy: float) -> SearchView:
        points = [
            Point(
                r.values[0],
                r.values[1],
                r.attrs.generation,
                r.attrs.f_aeb or 0.0,
                r.number,
            )
            for r in records
            if r.feasible and r.values is not None
        ]
        return cls(points, ref_energy)

    def front(self, points: Sequence[Point] | None = None) -> list[Point]:
        """The non-dominated points (of ``points``, default all), by increasing energy."""
        pts = self.points if points is None else list(points)
        mask = pareto_mask([(p.accuracy, p.energy_mj) for p in pts])
        return sorted((p for p, keep in zip(pts, mask, strict=True) if keep), key=_by_energy)

    def knee(self) -> Point | None:
        front = self.front()
        if not front:
            return None
        return front[
            knee_index([(p.accuracy, p.energy_mj) for p in front], [p.f_aeb for p in front])
        ]

    def generations(self) -> list[int]:
        return sorted({p.generation for p in self.points})

    def curve(self) -> list[tuple[int, float]]:
        return hypervolume_curve([(p.accuracy, p.energy_mj) for p in self.points], self.ref_energy)


def _by_energy(p: Point) -> tuple[float, float]:
    return (p.energy_mj, -p.accuracy)


def hypervolume_figure(view: SearchView) -> go.Figure:
    import plotly.graph_objects as go

    curve = view.curve()
    figure = go.Figure(
        go.Scatter(
            x=[n for n, _ in curve],
            y=[hv for _, hv in curve],
            mode="lines+markers",
            line={"shape": "hv"},
            name="hypervolume",
        )
    )
    figure.update_layout(
        title=f"Hypervolume over evaluations (reference: accuracy 0, {view.ref_energy:.4g} mJ)",
        xaxis_title="completed feasible evaluations",
        yaxis_title="hypervolume (accuracy x mJ)",
    )
    return figure


def pareto_figure(view: SearchView) -> go.Figure:
    """All points colored by generation; a slider steps through the front after each generation."""
    import plotly.graph_objects as go

    gens = view.generations()
    traces: list[Any] = [
        go.Scatter(
            x=[p.energy_mj for p in view.points],
            y=[p.accuracy for p in view.points],
            mode="markers",
            name="evaluations",
            text=[f"trial {p.trial}, generation {p.generation}" for p in view.points],
            marker={
                "color": [p.generation for p in view.points],
                "colorscale": "Viridis",
                "colorbar": {"title": {"text": "generation"}, "x": 1.02},
                "size": 7,
                "opacity": 0.75,
            },
        )
    ]
    front: list[Point] = []
    for g in gens:  # the running front: last generation's front plus this generation's points
        front = view.front(front + [p for p in view.points if p.generation == g])
        traces.append(
            go.Scatter(
                x=[p.energy_mj for p in front],
                y=[p.accuracy for p in front],
                mode="lines+markers",
                line={"shape": "hv", "color": "crimson"},
                name=f"front after generation {g}",
                visible=g == gens[-1],
            )
        )
    knee = view.knee()
    if knee is not None:
        traces.append(
            go.Scatter(
                x=[knee.energy_mj],
                y=[knee.accuracy],
                mode="markers",
                name=f"knee (trial {knee.trial})",
                marker={"symbol": "star", "size": 16, "color": "gold", "line": {"width": 1}},
            )
        )
    figure = go.Figure(traces)
    steps = []
    for i, g in enumerate(gens):
        visible = [True] + [j == i for j in range(len(gens))] + ([True] if knee else [])
        steps.append({"method": "restyle", "args": ["visible", visible], "label": str(g)})
    figure.update_layout(
        title="Pareto front by generation (accuracy up, energy down)",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.0, "x": 0.0},
        xaxis_title="energy per image (mJ)",
        yaxis_title="validation accuracy",
        sliders=[
            {"active": len(gens) - 1, "currentvalue": {"prefix": "generation "}, "steps": steps}
        ]
        if gens
        else [],
    )
    return figure


#: The figure of a predictor-assisted engine's held-out accuracy per generation.
PREDICTOR_FIGURE_ID = "evosnn-predictor"


def predictor_figure(diagnostics: Sequence[dict[str, Any]]) -> go.Figure:
    """The predictors' cross-validated Kendall tau (and the tau realised on each generation's
    evaluated picks) per generation, for accuracy and log-energy."""
    import plotly.graph_objects as go

    traces = []
    for key, name in (
        ("accuracy_tau", "accuracy, cross-validated"),
        ("realised_accuracy_tau", "accuracy, on the generation's evaluations"),
        ("energy_tau", "log-energy, cross-validated"),
        ("realised_energy_tau", "log-energy, on the generation's evaluations"),
    ):
        rows = [d for d in diagnostics if isinstance(d.get(key), (int, float))]
        traces.append(
            go.Scatter(
                x=[d["generation"] for d in rows],
                y=[d[key] for d in rows],
                mode="lines+markers",
                name=name,
                text=[
                    str(d.get(key.replace("realised_", "").replace("_tau", "_model"))) for d in rows
                ],
            )
        )
    figure = go.Figure(traces)
    figure.update_layout(
        title="Surrogate predictors: Kendall tau per generation",
        xaxis_title="generation",
        yaxis_title="Kendall tau",
        yaxis_range=[-1, 1],
    )
    return figure


def store_figures(ledger: Ledger, view: SearchView) -> None:
    """Save (overwrite) the search's figures in its study for optuna-dashboard."""
    ledger.save_figure(FIGURE_IDS[0], hypervolume_figure(view))
    ledger.save_figure(FIGURE_IDS[1], pareto_figure(view))
    cands = candidates(ledger.records(), ledger.codec)
    ledger.save_figure(CONVENTIONS_FIGURE_ID, conventions_figure(cands, compare(cands)))
