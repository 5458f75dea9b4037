"""A finished search's summary: its Pareto front read back from the ledger."""

from __future__ import annotations

from evosnn.objectives.fitness import f_aeb
from evosnn.objectives.front import hypervolume, pareto_records
from evosnn.reporting.equivalents import front_note, group_identical
from evosnn.search.settings import ParetoRow, SearchSummary
from evosnn.storage.ledger import Ledger

__all__ = ["format_summary", "summarize"]


def summarize(
    ledger: Ledger,
    *,
    ref_energy: float,
    evaluated_now: int,
    answered_from_ledger: int,
    elapsed_s: float,
    workers_replaced: int,
) -> SearchSummary:
    """The study's feasible Pareto front and hypervolume, with this run's counts."""
    codec = ledger.codec
    records = ledger.records()
    front = pareto_records(records)
    points = [r.values for r in records if r.feasible and r.values]
    obj = codec.space.objectives
    target = ledger.record().effective_energy_target_mj
    rows = []
    for r, same in group_identical(front):
        acc, energy = r.values or (0.0, 0.0)
        fitness = r.attrs.f_aeb
        if fitness is None:
            fitness = f_aeb(acc, energy, target, alpha=obj.alpha, beta=obj.beta)
        rows.append(
            ParetoRow(
                r.number,
                acc,
                energy,
                fitness,
                r.attrs.params,
                codec.describe(r.genome) + front_note(r, same),
                r.attrs.test_accuracy,
            )
        )
    equivalent = sum(r.attrs.equivalent_to is not None for r in records if r.values)
    return SearchSummary(
        study=ledger.study.study_name,
        storage=ledger.url,
        completed=ledger.count_complete() - equivalent,
        evaluated_now=evaluated_now,
        answered_from_ledger=answered_from_ledger,
        hypervolume=hypervolume(points, ref_energy),
        pareto=rows,
        elapsed_s=elapsed_s,
        workers_replaced=workers_replaced,
        hv_reference_mj=ref_energy,
        energy_target_mj=target,
        equivalent=equivalent,
    )


def format_summary(summary: SearchSummary) -> list[str]:
    """The search's result as lines a reader can take in: counts, the hypervolume as a share of
    its stated reference box, and the Pareto front with the unit of every column.

    Example:
        >>> from evosnn.search.settings import ParetoRow
        >>> row = ParetoRow(3, 0.9, 0.002, 0.88, 1500, "depth 1", 0.875)
        >>> lines = format_summary(SearchSummary("s", "sqlite:///x", 8, 8, 0, 0.004, [row], 3.0, 0,
        ...                                      hv_reference_mj=0.01, energy_target_mj=0.005))
        >>> print(lines[0].split("; ")[1])
        hypervolume 40.0 % of the reference box (accuracy 0-100 % x energy 0-0.01 mJ/image)
        >>> lines[3].split()[:4]
        ['3', '90.00%', '87.50%', '0.002']
    """
    share = summary.hypervolume_share
    if share is None:
        hv = f"hypervolume {summary.hypervolume:.4g} accuracy x mJ/image"
    else:
        hv = (
            f"hypervolume {100 * share:.1f} % of the reference box (accuracy 0-100 % x energy "
            f"0-{summary.hv_reference_mj:.4g} mJ/image)"
        )
    lines = [
        f"study {summary.study!r} in {summary.storage}: {summary.completed} completed evaluations "
        f"({summary.evaluated_now} this run, {summary.answered_from_ledger} answered from the "
        f"ledger, {summary.equivalent} equivalent trials not evaluated) in "
        f"{summary.elapsed_s:.0f} s; {hv}",
        f"Pareto front ({len(summary.pareto)} architectures):",
        f"  {'trial':>5}  {'val acc':>8}  {'test acc':>8}  {'mJ/image':>10}  {'F_AEB':>6}  "
        f"{'params':>9}  subnet",
    ]
    for row in summary.pareto:
        test = "-" if row.test_accuracy is None else f"{100 * row.test_accuracy:.2f}%"
        lines.append(
            f"  {row.trial:>5}  {100 * row.accuracy:>7.2f}%  {test:>8}  {row.energy_mj:>10.4g}  "
            f"{row.f_aeb:>6.4f}  {row.params:>9,}  {row.summary}"
        )
    target = (
        f"{summary.energy_target_mj:.4g} mJ/image"
        if summary.energy_target_mj
        else "the study's energy target"
    )
    lines.append(
        "  (val/test acc: share of validation/test images right; mJ/image: estimated energy per "
        f"image; F_AEB: accuracy x (energy / {target})^w, in accuracy units; params: weights)"
    )
    return lines
