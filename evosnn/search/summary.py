"""A finished search's summary: its Pareto front read back from the ledger."""

from __future__ import annotations

from optuna.trial import TrialState

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.objectives.fitness import f_aeb
from evosnn.objectives.front import hypervolume
from evosnn.reporting.equivalents import front_note, group_identical
from evosnn.search.settings import ParetoRow, SearchSummary
from evosnn.storage.ledger import Ledger

__all__ = ["describe", "summarize"]


def describe(codec: GenomeCodec, genome: Genome) -> str:
    """A one-line description of ``genome``'s subnet."""
    c = codec.decode(genome)
    return (
        f"depth {c.depth}, D {c.embed_dim}, T {c.time_steps}, mlp {list(c.mlp_ratio)}, "
        f"heads {list(c.num_heads)}, thr {list(c.threshold)}, tau {list(c.tau)}"
    )


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
    from evosnn.reporting.export import pareto_records

    codec = ledger.codec
    records = ledger.records()
    front = pareto_records(records)
    points = [
        r.values
        for r in records
        if r.state == TrialState.COMPLETE and r.values and r.user_attrs.get("feasible", True)
    ]
    obj = codec.space.objectives
    target = float(ledger.attrs().get("energy_target_mj") or 1.0)
    rows = []
    for r, same in group_identical(front):
        acc, energy = r.values or (0.0, 0.0)
        fitness = float(
            r.user_attrs.get("f_aeb", f_aeb(acc, energy, target, alpha=obj.alpha, beta=obj.beta))
        )
        rows.append(
            ParetoRow(
                r.number,
                acc,
                energy,
                fitness,
                int(r.user_attrs.get("params", 0)),
                describe(codec, r.genome) + front_note(r, same),
                r.user_attrs.get("test_accuracy"),
            )
        )
    equivalent = sum("equivalent_to" in r.user_attrs for r in records if r.values)
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
        equivalent=equivalent,
    )
