"""``evosnn report``: a static HTML page with PNG figures that summarises one search.

The page (``DIR/index.html``) needs no server and no JavaScript, so it can be mailed, archived or
attached to a paper's supplement. It shows:

* ``pareto.png``: every feasible evaluation colored by generation, the Pareto front, the knee;
* ``hypervolume.png``: hypervolume over completed evaluations;
* ``firing_rates.png``: the per-layer input firing rates of the Pareto architectures that
  ``evosnn export --pick pareto`` writes (the knee and the front's two ends, drawn; all in the
  table), beside the largest subnet's;
* a table of the Pareto front (search-time and, where retrained, test accuracy), compared with the
  largest subnet at default neurons, which the search evaluates once as the baseline;
* ``conventions.png``: the same evaluations' front under Spikformer's counting and under the
  memory-aware energy side by side, with how many architectures the two fronts share and where
  the chosen time steps and widths move (:mod:`evosnn.reporting.conventions`), and each front
  member's equivalent-ANN energies and break-even firing rate.

Everything is read from the study; nothing is evaluated, so a report of a 5,000-trial study takes
seconds and works while the search is still running.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.rank_summary import RankCheckSummary
from evosnn.objectives.front import hypervolume
from evosnn.reporting.conventions import Candidate, Comparison, candidates, compare
from evosnn.reporting.equivalents import front_note, group_identical
from evosnn.reporting.figures import Point, SearchView
from evosnn.storage.ledger import Ledger, LedgerRecord, redact
from evosnn.storage.study_schema import StudyRecord

__all__ = ["REPORT_FILES", "Report", "write_report"]

log = logging.getLogger(__name__)

REPORT_FILES = (
    "index.html",
    "pareto.png",
    "hypervolume.png",
    "firing_rates.png",
    "conventions.png",
)


@dataclass(frozen=True)
class Report:
    """What :func:`write_report` wrote."""

    index: Path
    images: list[Path]
    pareto_size: int
    evaluations: int


def _pareto_png(view: SearchView, path: Path) -> None:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.5, 5), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    if view.points:
        dots = ax.scatter(
            [p.energy_mj for p in view.points],
            [p.accuracy for p in view.points],
            c=[p.generation for p in view.points],
            cmap="viridis",
            s=18,
            alpha=0.8,
            label="evaluations",
        )
        fig.colorbar(dots, ax=ax, label="generation")
        front = view.front()
        ax.step(
            [p.energy_mj for p in front],
            [p.accuracy for p in front],
            where="post",
            color="crimson",
            marker="o",
            markersize=4,
            label=f"Pareto front ({len(front)})",
        )
        knee = view.knee()
        if knee is not None:
            ax.scatter(
                [knee.energy_mj],
                [knee.accuracy],
                marker="*",
                s=260,
                color="gold",
                edgecolors="black",
                zorder=5,
                label=f"knee (trial {knee.trial})",
            )
        ax.legend(loc="lower right")
    ax.set_xlabel("energy per image (mJ)")
    ax.set_ylabel("validation accuracy")
    ax.set_title("Pareto front, evaluations colored by generation")
    ax.grid(alpha=0.3)
    fig.savefig(path)


def _hypervolume_png(view: SearchView, path: Path) -> None:
    from matplotlib.figure import Figure

    curve = view.curve()
    fig = Figure(figsize=(7.5, 4), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    ax.step([n for n, _ in curve], [hv for _, hv in curve], where="post", color="navy")
    ax.set_xlabel("completed feasible evaluations")
    ax.set_ylabel("hypervolume (accuracy x mJ)")
    ax.set_title(f"Hypervolume (reference: accuracy 0, {view.ref_energy:.4g} mJ)")
    ax.grid(alpha=0.3)
    fig.savefig(path)


def _firing_png(series: list[tuple[str, dict[str, float]]], path: Path) -> None:
    from matplotlib.figure import Figure

    layers: list[str] = []
    for _, rates in series:
        layers += [name for name in rates if name not in layers]
    fig = Figure(figsize=(max(7.5, 0.32 * len(layers) + 2), 4.8), dpi=110, layout="constrained")
    ax = fig.add_subplot()
    width = 0.8 / max(1, len(series))
    for i, (label, rates) in enumerate(series):
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(layers))]
        ax.bar(xs, [rates.get(name, 0.0) for name in layers], width=width, label=label)
    ax.set_xticks(range(len(layers)), layers, rotation=70, ha="right", fontsize=7)
    ax.set_ylabel("mean input rate per neuron and step")
    ax.set_title("Per-layer firing rates (input of each synaptic layer)")
    ax.grid(alpha=0.3, axis="y")
    if series:
        ax.legend(fontsize=8)
    fig.savefig(path)


def _pct(value: Any) -> str:
    return f"{100 * float(value):.2f}%" if isinstance(value, (int, float)) else "&ndash;"


def _with_interval(value: Any, interval: Any) -> str:
    """``97.22% [95.1, 98.4]``: an accuracy with its 95 % Wilson interval, if known."""
    if not isinstance(value, (int, float)):
        return "&ndash;"
    if isinstance(interval, (list, tuple)) and len(interval) == 2:
        low, high = (100 * float(v) for v in interval)
        return f"{_pct(value)} <small>[{low:.1f}, {high:.1f}]</small>"
    return _pct(value)


def _test_cell(test: Evaluation | None) -> str:
    """The largest subnet's test accuracy with its interval (a dash when not scored)."""
    if test is None:
        return _with_interval(None, None)
    return _with_interval(test.accuracy, list(test.accuracy_interval))


def _table(
    front: list[LedgerRecord],
    knee: Point | None,
    largest: Evaluation | None,
    largest_test: Evaluation | None,
    codec: GenomeCodec,
) -> str:
    base = largest if largest is not None and largest.ok else None
    base_energy = base.energy_mj if base is not None else None
    base_acc = base.accuracy if base is not None else None
    header = (
        "<tr><th>trial</th><th>val. accuracy [95% CI]</th><th>test accuracy [95% CI]</th>"
        "<th>&Delta; val vs largest</th><th>energy (mJ)</th>"
        "<th>energy vs largest</th><th>F_AEB</th><th>params</th><th>SOPs</th>"
        "<th>retrained test acc.</th><th>architecture</th></tr>"
    )
    rows = []
    for r, same in group_identical(front):
        acc, energy = r.values or (0.0, 0.0)
        a = r.attrs
        mark = " &#9733;" if knee is not None and knee.trial == r.number else ""
        rows.append(
            "<tr>"
            f"<td>{r.number}{mark}</td><td>{_with_interval(acc, a.accuracy_ci95)}</td>"
            f"<td>{_with_interval(a.test_accuracy, a.test_accuracy_ci95)}</td>"
            f"<td>{f'{100 * (acc - base_acc):+.2f} pt' if base_acc is not None else '&ndash;'}</td>"
            f"<td>{energy:.4g}</td>"
            f"<td>{f'{energy / base_energy:.2f}&times;' if base_energy else '&ndash;'}</td>"
            f"<td>{a.f_aeb or 0:.4f}</td><td>{a.params:,}</td>"
            f"<td>{a.sops or 0:.3g}</td>"
            f"<td>{_pct(a.retrained_test_accuracy)}</td>"
            f"<td class=arch>{html.escape(codec.describe(r.genome) + front_note(r, same))}</td></tr>"
        )
    if base is not None and base_acc is not None and base_energy:
        test = largest_test if largest_test is not None and largest_test.ok else None
        rows.append(
            "<tr class=base><td>largest</td>"
            f"<td>{_with_interval(base_acc, list(base.accuracy_interval))}</td>"
            f"<td>{_test_cell(test)}"
            f"</td><td>0</td><td>{base_energy:.4g}</td><td>1.00&times;</td>"
            f"<td>{base.f_aeb:.4f}</td>"
            f"<td>{base.params:,}</td>"
            f"<td>{base.sops:.3g}</td><td>&ndash;</td>"
            "<td class=arch>the largest subnet at default neurons</td></tr>"
        )
    return f"<table>{header}{''.join(rows)}</table>"


def _conventions_png(cands: list[Candidate], comparison: Comparison, path: Path) -> None:
    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    fig = Figure(figsize=(11, 4.6), dpi=110, layout="constrained")
    axes = fig.subplots(1, 2, sharey=True)
    for ax, conv in zip(axes, comparison.conventions, strict=True):
        pts = [c for c in cands if all(k in c.energy_mj for k in comparison.conventions)]
        if pts:
            dots = ax.scatter(
                [c.energy_mj[conv] for c in pts],
                [c.accuracy for c in pts],
                c=[c.time_steps for c in pts],
                cmap="viridis",
                s=16,
                alpha=0.8,
            )
            front = comparison.fronts[conv]
            ax.step(
                [c.energy_mj[conv] for c in front],
                [c.accuracy for c in front],
                where="post",
                color="crimson",
                marker="o",
                markersize=4,
                label=f"front ({len(front)})",
            )
            shared = [c for c in front if c.trial in comparison.shared]
            ax.scatter(
                [c.energy_mj[conv] for c in shared],
                [c.accuracy for c in shared],
                marker="*",
                s=140,
                color="gold",
                edgecolors="black",
                zorder=5,
                label=f"on both fronts ({len(shared)})",
            )
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels overlap on short ranges
            ax.legend(loc="lower right", fontsize=8)
            if conv == comparison.conventions[-1]:
                fig.colorbar(dots, ax=ax, label="time steps T")
        ax.set_xlabel(f"energy per image, {conv} (mJ)")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("validation accuracy")
    fig.suptitle("The same evaluations' Pareto front under two energy conventions")
    fig.savefig(path)


def _mj(value: Any) -> str:
    return f"{float(value):.4g}" if isinstance(value, (int, float)) else "&ndash;"


def _wins(c: Candidate) -> str:
    """Whether the spiking network's memory-aware energy is below its equivalent QNN's."""
    memory = c.energy_mj.get("memory")
    if memory is None or c.qnn_mj is None:
        return "&ndash;"
    return f"{'yes' if memory < c.qnn_mj else 'no'} ({memory / c.qnn_mj:.2f}&times;)"


def _conventions_section(comparison: Comparison, space_energy: Any) -> str:
    rows = []
    for conv in comparison.conventions:
        for c in comparison.fronts[conv]:
            be = c.break_even_rate
            rows.append(
                f"<tr><td>{html.escape(conv)}</td><td>{c.trial}"
                f"{' &#9733;' if c.trial in comparison.shared else ''}</td>"
                f"<td>{_pct(c.accuracy)}</td><td>{c.time_steps}</td><td>{c.embed_dim}</td>"
                f"<td>{c.depth}</td>"
                + "".join(f"<td>{_mj(c.energy_mj.get(k))}</td>" for k in comparison.conventions)
                + f"<td>{_mj(c.qnn_mj)}</td><td>{_mj(c.fp32_mj)}</td>"
                + f"<td>{_wins(c)}</td>"
                + f"<td>{_pct(be) if be is not None else '&ndash;'}</td></tr>"
            )
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in comparison.lines())
    heads = "".join(f"<th>{html.escape(k)} (mJ)</th>" for k in comparison.conventions)
    return (
        "<h2>Energy conventions side by side</h2>"
        f"<p>The memory-aware energy uses the hardware profile "
        f"<b>{html.escape(space_energy.profile)}</b>, the {html.escape(space_energy.dataflow)} "
        f"dataflow, {space_energy.weight_bits}-bit weights and {space_energy.potential_bits}-bit "
        "membrane potentials (docs/concepts/hardware-energy.md). &#9733; marks an architecture on "
        "both fronts. The break-even rate is the uniform firing rate at which the spiking "
        "network's memory-aware energy equals the equivalent quantised ANN's (QNN: activations of "
        "ceil(log2(T+1)) bits; both ANNs on the same profile and dataflow).</p>"
        f"<ul>{lines}</ul>"
        '<p><img src="conventions.png" alt="Pareto fronts under two energy conventions"></p>'
        "<table><tr><th>front under</th><th>trial</th><th>val. accuracy</th><th>T</th><th>D</th>"
        f"<th>depth</th>{heads}<th>QNN (mJ)</th><th>float ANN (mJ)</th><th>SNN beats QNN?</th>"
        f"<th>break-even rate</th></tr>{''.join(rows)}</table>"
    )


def _predictors(diagnostics: list[dict[str, Any]]) -> str:
    """The predictor-assisted engine's models and Kendall tau per generation (empty otherwise)."""
    rows = [d for d in diagnostics if d.get("accuracy_model") is not None]
    if not rows:
        return ""

    def tau(value: Any) -> str:
        return f"{float(value):.2f}" if isinstance(value, (int, float)) else "&ndash;"

    body = "".join(
        f"<tr><td>{int(d['generation'])}</td><td>{int(d.get('trained_on') or 0)}</td>"
        f"<td>{html.escape(str(d.get('accuracy_model')))}</td><td>{tau(d.get('accuracy_tau'))}</td>"
        f"<td>{tau(d.get('realised_accuracy_tau'))}</td>"
        f"<td>{html.escape(str(d.get('energy_model')))}</td><td>{tau(d.get('energy_tau'))}</td>"
        f"<td>{tau(d.get('realised_energy_tau'))}</td></tr>"
        for d in rows
    )
    return (
        "<h2>Surrogate predictors</h2><p>Kendall tau of the accuracy and log-energy predictors: "
        "cross-validated when the model kind was chosen, and realised on the generation's own "
        "evaluated picks.</p><table><tr><th>generation</th><th>trained on</th>"
        "<th>accuracy model</th><th>CV tau</th><th>realised tau</th><th>energy model</th>"
        f"<th>CV tau</th><th>realised tau</th></tr>{body}</table>"
    )


def _rank_check(summary: RankCheckSummary | None) -> str:
    """``evosnn supernet rank-check``'s result stored in the study (empty without one)."""
    if summary is None:
        return ""

    def num(value: float | None, digits: int = 2) -> str:
        return "&ndash;" if value is None else f"{float(value):.{digits}f}"

    def points(values: list[float]) -> str:
        return ", ".join(f"{100 * v:+.1f}" for v in values)

    rows = "".join(
        f"<tr><td>{name}</td><td>{num(a.kendall_tau)}</td><td>{num(a.spearman_rho)}</td>"
        f"<td>{num(a.partial_rho)}</td><td>{num(a.top_k_overlap)}</td></tr>"
        for name, a in (
            ("inherited accuracy (the proxy)", summary.proxy),
            ("energy alone", summary.energy_only),
        )
    )
    bins = ", ".join(
        f"{b.energy_low:.3g}&ndash;{b.energy_high:.3g} mJ: {100 * b.bias:+.1f}"
        for b in summary.bias_by_energy
    )
    bins += (
        f" (offset common to all subnets {100 * summary.bias_offset:+.1f}; "
        f"each bin's tilt from it: {points(summary.bias_tilt)})"
    )
    trend = summary.bias_trend
    if trend is not None:  # a bin of few subnets mixes their own errors into its tilt
        bins += (
            f"; trend in energy {100 * trend.slope:+.1f} points per doubling "
            f"(its tilt per bin: {points(trend.tilt)}; subnets around it: "
            f"sd {100 * trend.residual_sd:.1f})"
        )
    settings = summary.settings
    return (
        "<h2>Supernet rank check</h2><p>"
        f"{summary.subnets} subnets stratified over energy, each trained stand-alone for "
        f"{int(settings['epochs'])} epochs with {int(settings['seeds'])} seeds "
        "(<code>evosnn supernet rank-check</code>); agreement with the seed-mean stand-alone "
        f"validation accuracy. The stand-alone seeds agree among themselves at partial rho "
        f"{num(summary.ceiling_partial_rho)} (the ceiling); top-k is the top quarter.</p>"
        "<table><tr><th>ranking by</th><th>Kendall tau</th><th>Spearman rho</th>"
        f"<th>partial rho, energy removed</th><th>top-k overlap</th></tr>{rows}</table>"
        f"<p>Bias (inherited minus stand-alone, points) per energy bin: {bins}. Stand-alone "
        f"accuracy still rose {100 * summary.plateau_gain_last_quarter:+.2f} points "
        "over the last quarter of its epochs.</p>"
    )


_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; font-size: 0.9em; } td, th { padding: 4px 8px;
border-bottom: 1px solid #ddd; text-align: right; } td.arch { text-align: left; font-size: 0.85em; }
tr.base { background: #f3f3f3; } img { max-width: 100%; } dt { font-weight: 600; float: left;
width: 13em; } dd { margin-left: 13em; }
"""


def write_report(storage_url: str, study_name: str, out_dir: str | Path) -> Report:
    """Write ``index.html`` and the PNG figures of ``study_name`` into ``out_dir``."""
    ledger, study = Ledger.open_search(storage_url, study_name)
    codec = ledger.codec
    space = codec.space
    records = ledger.records()
    ref_energy = study.hv_reference_energy_mj
    view = SearchView.from_records(records, ref_energy)
    if not view.points:
        raise EvosnnError(f"study {study_name!r} has no completed feasible trial yet")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    front_points = view.front()
    by_number = {r.number: r for r in records}
    front = [by_number[p.trial] for p in front_points if p.trial is not None]
    knee = view.knee()
    largest = study.largest

    _figures(view, front, knee, largest, out)
    cands = candidates(records, codec)
    comparison = compare(cands)
    _conventions_png(cands, comparison, out / "conventions.png")
    hv = hypervolume([(p.accuracy, p.energy_mj) for p in front_points], ref_energy)
    facts_html = _facts(study_name, storage_url, space, study, records, hv)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>evosnn report: {html.escape(study_name)}</title><style>{_STYLE}</style></head>
<body>
<h1>evosnn search report: {html.escape(study_name)}</h1>
<dl>{facts_html}</dl>
<h2>Pareto front</h2>
<p><img src="pareto.png" alt="Pareto front colored by generation, knee marked"></p>
<h2>Hypervolume</h2>
<p><img src="hypervolume.png" alt="hypervolume over evaluations"></p>
<h2>Pareto architectures vs the largest subnet</h2>
<p>&#9733; marks the knee (pymoo's high-trade-off point). The search chose these architectures on
validation accuracy with inherited weights; the test column scores them on the held-out test split
the search never saw, when the search ended. Brackets are 95&nbsp;% Wilson intervals over the
evaluated images. Energies follow the <b>{html.escape(space.energy.convention)}</b> convention. The
retrained column shows <code>evosnn train</code> results written back to the trial.</p>
{_table(front, knee, largest, study.largest_test, codec)}
{_conventions_section(comparison, space.energy)}
{_predictors(study.engine_diagnostics)}
{_rank_check(study.rank_check_summary)}
<h2>Firing rates</h2>
<p><img src="firing_rates.png" alt="per-layer firing rates"></p>
</body></html>
"""
    index = out / "index.html"
    index.write_text(page, encoding="utf-8")
    log.info("report of %d evaluations written to %s", len(view.points), index)
    return Report(
        index,
        [out / name for name in REPORT_FILES[1:]],
        len(front),
        len(view.points),
    )


def _figures(
    view: SearchView, front: list[Any], knee: Point | None, largest: Evaluation | None, out: Path
) -> None:
    """The report's PNG figures: Pareto front, hypervolume, firing rates of a few front members."""
    _pareto_png(view, out / "pareto.png")
    _hypervolume_png(view, out / "hypervolume.png")
    drawn = {front[0].number, front[-1].number} | ({knee.trial} if knee and knee.trial else set())
    series = [
        (f"trial {r.number}" + (" (knee)" if knee and r.number == knee.trial else ""), r.attrs)
        for r in front
        if r.number in drawn
    ]
    rates = [(label, a.firing_rates) for label, a in series]
    if largest is not None and largest.firing_rates:
        rates.append(("largest subnet", dict(largest.firing_rates)))
    _firing_png(rates, out / "firing_rates.png")


def _facts(
    study_name: str,
    storage_url: str,
    space: Any,
    study: StudyRecord,
    records: list[Any],
    hv: float,
) -> str:
    """The study's facts as an HTML definition list's items."""
    counts = {
        s: sum(1 for r in records if r.state.name == s) for s in ("COMPLETE", "PRUNED", "FAIL")
    }
    facts = {
        "study": study_name,
        "storage": redact(storage_url),
        "search space": f"{space.name} ({space.dataset.name})",
        "engine": f"{study.engine} (seed {study.seed}, population {study.population})",
        "evaluations": f"{counts['COMPLETE']} completed, {counts['PRUNED']} infeasible, "
        f"{counts['FAIL']} failed",
        "energy convention": f"{space.energy.convention} (E_MAC {space.energy.e_mac_pj} pJ, "
        f"E_AC {space.energy.e_ac_pj} pJ, profile {space.energy.profile}; every trial records "
        "energy_mj_spikformer, energy_mj_strict and energy_mj_memory)",
        "energy target": (
            f"{study.energy_target_mj:.4g} mJ"
            if study.energy_target_mj is not None
            else "not recorded"
        ),
        "hypervolume": f"{hv:.6g}",
        "supernet sha256": study.supernet_sha256 or "?",
        "written": dt.datetime.now().isoformat(timespec="seconds"),
    }
    facts_html = "".join(
        f"<dt>{html.escape(k)}</dt><dd>{html.escape(str(v))}</dd>" for k, v in facts.items()
    )
    return facts_html
