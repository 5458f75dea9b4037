"""Neuron models measured (issue 40, items 5 and 6): gene sensitivity of the ``-neurons`` spaces,
and what a search over the neuron gene finds against the LIF-only space.

Two parts, each a subcommand writing one JSON with provenance (commit, spaces, supernet sha256,
seeds, budget):

``sensitivity``: wraps the JSON that ``evosnn supernet sensitivity --json`` wrote with the
supernet's sha256, its training (command, epochs, final accuracies) and the provenance.

``search``: per seed, two searches on the same (neurons) supernet with the same engine, budget and
seed: one over the ``-neurons`` space, one over the LIF-only space (the original space; the
narrower space accepts the wider supernet). Both searches optimise the space's convention
(``spikformer``). Every trial records ``energy_mj_spikformer`` and ``energy_mj_memory``, so the
same studies give a front under each convention: the spikformer front is the search's own (scored
on the test split by the search when it ends: ``test_accuracy``, ``test_energy_mj``); the memory
front is the Pareto front of the same trials by validation accuracy and ``energy_mj_memory``, and
its members are scored on the test split here (same ``Evaluator`` defaults as the search), which
gives their test accuracy and test energy under both conventions. Reported per seed and mean ± sd:
the hypervolume (HV) of each front on validation and on test, as a share of the reference box
(accuracy 0-1 x energy 0 to twice the largest subnet's energy at default neurons, under that
convention, from the neurons study's ``reference_largest``); and every front member's neuron
models, levels and T x D (the time steps times the largest level of its ``ilif`` blocks).

Commands (results/neurons_*.json; the docs' results page "Neuron models"), every process on one
thread (``OMP_NUM_THREADS=1`` for the sensitivity command, which has no ``--threads``):

    evosnn supernet train --space digits-tiny-neurons --out /tmp/neuronbench/digits --seed 0 --threads 1
    evosnn supernet sensitivity --space digits-tiny-neurons \\
        --supernet /tmp/neuronbench/digits/supernet.pt --subnets 40 --json /tmp/neuronbench/sens_digits.json
    python -m benchmarks.experiments.bench_neurons sensitivity --raw /tmp/neuronbench/sens_digits.json \\
        --supernet /tmp/neuronbench/digits/supernet.pt --train-log /tmp/neuronbench/train-digits.log \\
        --train-command "evosnn supernet train --space digits-tiny-neurons --out DIR --seed 0 --threads 1" \\
        --json benchmarks/results/neurons_sensitivity_digits.json
    python -m benchmarks.experiments.bench_neurons search --space digits-tiny-neurons \\
        --base-space digits-tiny --supernet /tmp/neuronbench/digits/supernet.pt --seeds 0 1 2 3 4 \\
        --population 16 --generations 4 --out /tmp/neuronbench/search-digits \\
        --json benchmarks/results/neurons_search_digits.json

(the same for digits-events-tiny-neurons, 60 epochs, and digit-pairs-tiny-neurons, ``--epochs 40``).
As run: one seed per process (``--seeds 0 --json /tmp/neuronbench/digits_s0.json``, ..., seeds 1-4),
then merged with ``search --merge /tmp/neuronbench/digits_s{0,1,2,3,4}.json --markdown --json
benchmarks/results/neurons_search_digits.json``; ``--markdown`` prints the results page's tables,
``sensitivity --table neurons_sensitivity_{digits,events,pairs}.json`` its sensitivity table.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.common import write_json
from benchmarks.experiments.bench_mixers import band_counts, band_edges, front_hv, merge, spread
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace

__all__ = [
    "CONVENTIONS",
    "band_counts_by_neuron",
    "cheapest_at_least",
    "front_by",
    "integer_profile",
    "main",
    "markdown",
    "member_kind",
    "sensitivity_table",
    "summarise_search",
    "training_result",
    "unique_members",
]

#: The two conventions every front is measured under (the search's own first).
CONVENTIONS = ("spikformer", "memory")


# ------------------------------------------------------------------ pure parts
def front_by(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the Pareto front of ``(accuracy, energy)`` points (accuracy up, energy down),
    by energy ascending."""
    from evosnn.objectives.front import pareto_mask

    keep = [i for i, k in enumerate(pareto_mask(list(points))) if k]
    return sorted(keep, key=lambda i: (points[i][1], -points[i][0]))


def member_kind(neuron: Sequence[str]) -> str:
    """``"ilif"`` if any block is integer, else ``"plif"`` if any is parametric, else ``"lif"``."""
    if "ilif" in neuron:
        return "ilif"
    return "plif" if "plif" in neuron else "lif"


def integer_profile(time_steps: int, neuron: Sequence[str], level: Sequence[int]) -> dict[str, Any]:
    """The member's kind, its ``ilif`` levels, the largest (``D``; None without ``ilif``) and
    ``T x D`` (``T`` without ``ilif``: a binary spike is one level)."""
    levels = [int(lv) for n, lv in zip(neuron, level, strict=True) if n == "ilif"]
    d = max(levels) if levels else None
    return {
        "kind": member_kind(neuron),
        "ilif_levels": levels,
        "D": d,
        "TxD": time_steps * (d or 1),
    }


def band_counts_by_neuron(
    members: Sequence[dict[str, Any]], edges: Sequence[float], neurons: Sequence[str], key: str
) -> list[dict[str, int]]:
    """Per energy band (``energy_mj[key]``), the members and their blocks of each neuron model
    (:func:`bench_mixers.band_counts` on the neuron lists)."""
    mapped = [{"energy_mj": m["energy_mj"][key], "mixer": m["neuron"]} for m in members]
    return band_counts(mapped, edges, neurons)


def _share(hv: float, ref: float) -> float:
    return hv / ref if ref else float("nan")


def study_hvs(front: dict[str, list[dict[str, Any]]], refs: dict[str, float]) -> dict[str, Any]:
    """Per convention, the HV of the validation front and of its members re-scored on test, as a
    share of the box (``refs``: the reference energy per convention)."""
    out: dict[str, Any] = {}
    for conv, members in front.items():
        ref = refs[conv]
        val = front_hv([(m["accuracy"], m["energy_mj"][conv]) for m in members], ref)
        scored = [m for m in members if m.get("test_accuracy") is not None]
        scored = [m for m in scored if (m.get("test_energy_mj") or {}).get(conv)]
        test = front_hv([(m["test_accuracy"], m["test_energy_mj"][conv]) for m in scored], ref)
        out[conv] = {"val": _share(val, ref), "test": _share(test, ref), "test_scored": len(scored)}
    return out


def summarise_search(runs: list[dict[str, Any]], neurons: Sequence[str]) -> dict[str, Any]:
    """Mean ± sd over seeds of each search's HV shares per convention and split, the paired
    difference neurons - lif; per convention the front members by kind, and the blocks of each
    neuron model per energy band (terciles of both searches' fronts over all seeds, pooled)."""
    names = list(runs[0]["studies"])
    out: dict[str, Any] = {"hv": {}, "hv_neurons_minus_lif": {}, "kinds": {}, "bands": {}}
    for conv in CONVENTIONS:
        out["hv"][conv], out["hv_neurons_minus_lif"][conv] = {}, {}
        for split in ("val", "test"):
            out["hv"][conv][split] = {
                n: spread([r["studies"][n]["hv"][conv][split] for r in runs]) for n in names
            }
            diffs = [
                r["studies"]["neurons"]["hv"][conv][split] - r["studies"]["lif"]["hv"][conv][split]
                for r in runs
            ]
            out["hv_neurons_minus_lif"][conv][split] = {
                **spread(diffs),
                "neurons_higher": sum(d > 0 for d in diffs),
            }
        members = {n: [m for r in runs for m in r["studies"][n]["front"][conv]] for n in names}
        out["kinds"][conv] = {
            n: {k: sum(m["kind"] == k for m in ms) for k in ("lif", "plif", "ilif")}
            for n, ms in members.items()
        }
        edges = band_edges([m["energy_mj"][conv] for ms in members.values() for m in ms])
        out["bands"][conv] = {
            "edges_mj": edges,
            **{n: band_counts_by_neuron(ms, edges, neurons, conv) for n, ms in members.items()},
        }
    out["same_front"] = {
        n: sum(
            {m["trial"] for m in r["studies"][n]["front"][CONVENTIONS[0]]}
            == {m["trial"] for m in r["studies"][n]["front"][CONVENTIONS[1]]}
            for r in runs
        )
        for n in names
    }
    out["front_size"] = {
        conv: {n: spread([len(r["studies"][n]["front"][conv]) for r in runs]) for n in names}
        for conv in CONVENTIONS
    }
    return out


def unique_members(runs: list[dict[str, Any]], study: str, conv: str) -> list[dict[str, Any]]:
    """The distinct subnets (by ``describe``) on ``study``'s ``conv`` front over all seeds, each
    with ``seeds``, the seeds whose front holds it, by energy under ``conv``."""
    out: dict[str, dict[str, Any]] = {}
    for r in runs:
        for m in r["studies"][study]["front"][conv]:
            entry = out.setdefault(m["describe"], {**m, "seeds": []})
            if r["seed"] not in entry["seeds"]:
                entry["seeds"].append(r["seed"])
    return sorted(out.values(), key=lambda m: (m["energy_mj"][conv], -m["accuracy"]))


def cheapest_at_least(
    accuracy: float, members: Sequence[dict[str, Any]], conv: str
) -> dict[str, Any] | None:
    """The member with the lowest ``conv`` energy among those with validation accuracy at least
    ``accuracy`` (None when none reaches it)."""
    reach = [m for m in members if m["accuracy"] >= accuracy - 1e-12]
    return min(reach, key=lambda m: m["energy_mj"][conv]) if reach else None


_EPOCH = re.compile(r"epoch (\d+)/(\d+).*val_acc_largest ([\d.]+)%\s+val_acc_smallest ([\d.]+)%")


def training_result(log: str) -> dict[str, Any] | None:
    """The last ``supernet epoch i/n ... val_acc_largest x% val_acc_smallest y%`` of a training
    log: epochs and the two accuracies (None when no epoch line is there)."""
    found = _EPOCH.findall(log)
    if not found:
        return None
    epoch, epochs, largest, smallest = found[-1]
    return {
        "epochs": int(epochs),
        "last_epoch": int(epoch),
        "result": f"val acc largest {largest}%, smallest {smallest}%",
    }


# ------------------------------------------------------------------ search: neurons vs lif-only
def _member(record: Any, codec: GenomeCodec) -> dict[str, Any]:
    config = codec.decode(record.genome)
    return {
        "trial": record.number,
        "accuracy": float(record.values[0]),
        "energy_mj": {c: record.attrs.energy_mj(c) for c in CONVENTIONS},
        "time_steps": config.time_steps,
        "neuron": list(config.neuron),
        "level": list(config.level),
        **integer_profile(config.time_steps, config.neuron, config.level),
        "describe": codec.describe(record.genome),
    }


def _fronts(records: list[Any], codec: GenomeCodec, evaluator: Any) -> dict[str, Any]:
    """Per convention the front of the feasible records; the memory front scored on test."""
    feasible = [r for r in records if r.feasible and r.values is not None]
    feasible = [r for r in feasible if all(r.attrs.energy_mj(c) for c in CONVENTIONS)]
    fronts: dict[str, list[dict[str, Any]]] = {}
    mismatch = 0
    for conv in CONVENTIONS:
        idx = front_by([(float(r.values[0]), r.attrs.energy_mj(conv)) for r in feasible])
        members = []
        for i in idx:
            r, m = feasible[i], _member(feasible[i], codec)
            stored = r.attrs.test_accuracy
            if conv == CONVENTIONS[0]:  # the search's own front: its test figures
                m["test_accuracy"] = stored
                m["test_energy_mj"] = {conv: r.user_attrs.get("test_energy_mj")}
            else:  # scored here, under every convention
                ev = evaluator.evaluate(codec.decode(r.genome), split="test")
                m["test_accuracy"] = ev.accuracy if ev.ok else None
                m["test_energy_mj"] = {c: getattr(ev, f"energy_mj_{c}") for c in CONVENTIONS}
                if stored is not None and ev.ok and abs(stored - ev.accuracy) > 1e-9:
                    mismatch += 1
            members.append(m)
        fronts[conv] = members
    return {"front": fronts, "test_accuracy_mismatch": mismatch}


def _search(
    space: SearchSpace,
    supernet: Path,
    seed: int,
    name: str,
    evaluator: Any,
    args: argparse.Namespace,
) -> dict[str, Any]:
    from evosnn.api import run_search
    from evosnn.storage.ledger import Ledger

    url = f"sqlite:///{args.out.resolve()}/{space.name}-s{seed}.db"
    result = run_search(
        space,
        supernet,
        storage=url,
        study=f"{name}-s{seed}",
        engine=args.engine,
        population=args.population,
        generations=args.generations,
        workers=0,
        seed=seed,
        progress=False,
    )
    codec = GenomeCodec(space)
    ledger = Ledger.open(result.storage, result.study_name, codec, create=False)
    study = ledger.record()
    records = ledger.records()
    largest = study.reference_largest or {}
    kinds = [member_kind(codec.decode(r.genome).neuron) for r in records if r.feasible]
    return {
        "evaluations": sum(r.feasible for r in records),
        "evaluated_kinds": {k: kinds.count(k) for k in ("lif", "plif", "ilif")},
        "hv_reference_mj": study.hv_reference_energy_mj,
        "largest_mj": {c: largest.get(f"energy_mj_{c}") for c in CONVENTIONS},
        "summary_hypervolume": result.summary.hypervolume,
        **_fronts(records, codec, evaluator),
    }


def run_search_seed(
    spaces: dict[str, SearchSpace],
    supernet: Path,
    seed: int,
    evaluator: Any,
    args: argparse.Namespace,
) -> dict[str, Any]:
    """Both searches at one seed; HVs in the neurons study's reference boxes."""
    studies = {n: _search(sp, supernet, seed, n, evaluator, args) for n, sp in spaces.items()}
    largest = studies["neurons"]["largest_mj"]
    refs = {c: 2.0 * float(largest[c]) for c in CONVENTIONS}
    for study in studies.values():
        study["hv"] = study_hvs(study["front"], refs)
    return {"seed": seed, "hv_reference_mj": refs, "studies": studies}


def _search_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for conv in CONVENTIONS:
        for split in ("val", "test"):
            hv = summary["hv"][conv][split]
            d = summary["hv_neurons_minus_lif"][conv][split]
            lines.append(
                f"HV {conv} {split}: "
                + ", ".join(f"{n} {s['mean']:.4f} ± {s['sd']:.4f}" for n, s in hv.items())
                + f"; neurons - lif {d['mean']:+.4f} ± {d['sd']:.4f}, higher in "
                f"{d['neurons_higher']} of {d['n']}"
            )
        lines.append(f"  front members by kind ({conv}): {summary['kinds'][conv]}")
    return lines


def run_sensitivity(args: argparse.Namespace) -> dict[str, Any]:
    """The sensitivity command's JSON with the supernet's sha256, its training and provenance."""
    from supernet.checkpoint import file_sha256

    counts = json.loads(args.raw.read_text())
    training: dict[str, Any] = {"command": args.train_command, "note": args.note}
    if args.train_log:
        training |= training_result(args.train_log.read_text()) or {}
    return {
        "space": counts.get("space"),
        "supernet_sha256": file_sha256(args.supernet),
        "training": training,
        "counts": counts,
    }


# ------------------------------------------------------------------ markdown tables
def _pm(s: dict[str, Any], digits: int = 4) -> str:
    return f"{s['mean']:.{digits}f} ± {s['sd']:.{digits}f}"


def _uj(mj: float | None) -> str:
    return "-" if mj is None else f"{mj * 1e3:.3f}"


def _blocks(m: dict[str, Any]) -> str:
    return ", ".join(
        f"{n} D{lv}" if n == "ilif" else n for n, lv in zip(m["neuron"], m["level"], strict=True)
    )


def markdown(document: dict[str, Any]) -> list[str]:
    """The results page's tables of one search document: HV per seed and convention, the front
    members by neuron kind, and every ``ilif`` front member against the LIF-only fronts."""
    runs, summ = document["runs"], document["summary"]
    lines = []
    for conv in CONVENTIONS:
        lines += [
            f"HV under `{conv}` (share of the box; reference "
            f"{runs[0]['hv_reference_mj'][conv] * 1e3:.3f} µJ):",
            "",
            "| seed | val: neurons | val: lif-only | test: neurons | test: lif-only "
            "| front size neurons / lif-only |",
            "|---|---|---|---|---|---|",
        ]
        for r in runs:
            st = r["studies"]
            hv = {n: st[n]["hv"][conv] for n in ("neurons", "lif")}
            sizes = " / ".join(str(len(st[n]["front"][conv])) for n in ("neurons", "lif"))
            lines.append(
                f"| {r['seed']} | {hv['neurons']['val']:.4f} | {hv['lif']['val']:.4f} | "
                f"{hv['neurons']['test']:.4f} | {hv['lif']['test']:.4f} | {sizes} |"
            )
        hv, d = summ["hv"][conv], summ["hv_neurons_minus_lif"][conv]
        fs = summ["front_size"][conv]
        lines.append(
            f"| mean ± sd | {_pm(hv['val']['neurons'])} | {_pm(hv['val']['lif'])} | "
            f"{_pm(hv['test']['neurons'])} | {_pm(hv['test']['lif'])} | "
            f"{fs['neurons']['mean']:.1f} / {fs['lif']['mean']:.1f} |"
        )
        lines.append(
            f"| paired neurons - lif-only | {d['val']['mean']:+.4f} ± {d['val']['sd']:.4f} "
            f"(higher in {d['val']['neurons_higher']} of {d['val']['n']}) | | "
            f"{d['test']['mean']:+.4f} ± {d['test']['sd']:.4f} "
            f"(higher in {d['test']['neurons_higher']} of {d['test']['n']}) | | |"
        )
        lines.append("")
    lines += [
        "Front members of the neurons search by kind, all seeds (lif: every block `lif`; plif: "
        "some `plif`, no `ilif`; ilif: some `ilif`):",
        "",
        "| convention | lif | plif | ilif |",
        "|---|---|---|---|",
    ]
    for conv in CONVENTIONS:
        k = summ["kinds"][conv]["neurons"]
        lines.append(f"| {conv} | {k['lif']} | {k['plif']} | {k['ilif']} |")
    evaluated = [r["studies"]["neurons"].get("evaluated_kinds") for r in runs]
    if all(evaluated):
        total = {k: sum(e[k] for e in evaluated) for k in ("lif", "plif", "ilif")}
        lines.append(
            f"| (evaluated, all seeds) | {total['lif']} | {total['plif']} | {total['ilif']} |"
        )
    same = summ.get("same_front", {})
    lines += [
        "",
        f"The two conventions' fronts are the same trials in {same.get('neurons')} of {len(runs)} "
        f"seeds (neurons search) and {same.get('lif')} of {len(runs)} (lif-only search).",
        "",
    ]
    lif = {c: unique_members(runs, "lif", c) for c in CONVENTIONS}
    ilif: dict[str, dict[str, Any]] = {}
    for conv in CONVENTIONS:
        for m in unique_members(runs, "neurons", conv):
            if m["kind"] == "ilif":
                entry = ilif.setdefault(m["describe"], {**m, "on": {}})
                entry["on"][conv] = m["seeds"]
    lines += [
        "Distinct subnets with `ilif` blocks on the neurons search's fronts (all seeds), and the "
        "cheapest LIF-only front member (all seeds) with at least their validation accuracy, "
        "under each convention:",
        "",
        "| blocks | T | D | T x D | val / test acc. | µJ spikformer / memory | on front "
        "(seeds) spikformer / memory | LIF-only at >= acc.: spikformer (T, acc., µJ) | "
        "memory (T, acc., µJ) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for m in sorted(ilif.values(), key=lambda m: m["energy_mj"]["spikformer"]):
        match = []
        for conv in CONVENTIONS:
            best = cheapest_at_least(m["accuracy"], lif[conv], conv)
            match.append(
                "none"
                if best is None
                else f"T {best['time_steps']}, {best['accuracy'] * 100:.2f} %, "
                f"{_uj(best['energy_mj'][conv])}"
            )
        test = "-" if m.get("test_accuracy") is None else f"{m['test_accuracy'] * 100:.2f}"
        on = " / ".join(",".join(str(x) for x in m["on"].get(c, [])) or "-" for c in CONVENTIONS)
        lines.append(
            f"| {_blocks(m)} | {m['time_steps']} | {m['D']} | {m['TxD']} | "
            f"{m['accuracy'] * 100:.2f} / {test} | {_uj(m['energy_mj']['spikformer'])} / "
            f"{_uj(m['energy_mj']['memory'])} | {on} | {match[0]} | {match[1]} |"
        )
    if not ilif:
        lines.append("| (none) | | | | | | | | |")
    lines.append("")
    for conv in CONVENTIONS:
        ms = lif[conv]
        ts = sorted({m["time_steps"] for m in ms})
        lines.append(
            f"LIF-only fronts under {conv}: {len(ms)} distinct subnets, T {ts}, val acc. "
            f"{min(m['accuracy'] for m in ms) * 100:.2f}-{max(m['accuracy'] for m in ms) * 100:.2f}"
            f" %, {_uj(min(m['energy_mj'][conv] for m in ms))}-"
            f"{_uj(max(m['energy_mj'][conv] for m in ms))} µJ."
        )
    return lines


def sensitivity_table(docs: Sequence[dict[str, Any]]) -> list[str]:
    """Markdown: per gene the subnets whose logits changed, per path the silent evaluations, one
    column per wrapped sensitivity document."""
    counts = [d["counts"] for d in docs]
    head = "| {} | " + " | ".join(c["space"] for c in counts) + " |"
    rule = "|---" * (len(counts) + 1) + "|"
    lines = [head.format("gene: logits changed"), rule]
    genes = list(dict.fromkeys(g for c in counts for g in c["genes"]))
    for g in genes:
        cells = []
        for c in counts:
            x = c["genes"].get(g)
            share = f" ({100 * x['changed'] / x['tried']:.0f} %)" if x and x["tried"] else ""
            cells.append(f"{x['changed']} / {x['tried']}{share}" if x else "-")
        lines.append(f"| {g} | " + " | ".join(cells) + " |")
    lines += ["", head.format("path: silent on every image"), rule]
    paths = list(dict.fromkeys(p for c in counts for p in c["silent"]))
    for p in paths:
        cells = []
        for c in counts:
            x = c["silent"].get(p)
            cells.append(f"{x['silent']} / {x['evaluated']}" if x else "-")
        lines.append(f"| {p} | " + " | ".join(cells) + " |")
    return lines


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    w = sub.add_parser("sensitivity", help="wrap `evosnn supernet sensitivity --json` output")
    w.add_argument("--raw", type=Path)
    w.add_argument("--supernet", type=Path)
    w.add_argument("--table", type=Path, nargs="+", help="wrapped files: print their table")
    w.add_argument("--train-log", type=Path)
    w.add_argument("--train-command")
    w.add_argument("--note")
    w.add_argument("--json", type=Path)
    s = sub.add_parser("search", help="neurons space vs lif-only space on one supernet")
    s.add_argument("--space")
    s.add_argument("--base-space", help="the lif-only space (default: --space without -neurons)")
    s.add_argument("--supernet", type=Path)
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    s.add_argument("--engine", default="surrogate")
    s.add_argument("--population", type=int, default=16)
    s.add_argument("--generations", type=int, default=4)
    s.add_argument("--out", type=Path, default=Path("runs/neurons"))
    s.add_argument("--json", type=Path)
    s.add_argument("--merge", type=Path, nargs="+", help="result files to merge (no search)")
    s.add_argument("--markdown", action="store_true", help="also print the results page's tables")
    s.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's)")
    args = parser.parse_args(argv)

    if args.part == "sensitivity" and args.table:
        docs = [json.loads(p.read_text()) for p in args.table]
        print("\n".join(sensitivity_table(docs)))
        return
    if args.part == "sensitivity":
        if not (args.raw and args.supernet):
            parser.error("--raw and --supernet are required (or --table FILES)")
        document = run_sensitivity(args)
        lines = [f"{document['space']}: {document['training']}"]
    else:
        if args.threads:
            import torch

            torch.set_num_threads(args.threads)
        from evosnn.api import load_space

        if args.merge:
            document = merge(args.merge)
        else:
            if not (args.space and args.supernet):
                parser.error("--space and --supernet are required (or --merge FILES)")
            from evosnn.evaluate.evaluator import Evaluator
            from supernet.checkpoint import file_sha256

            args.out.mkdir(parents=True, exist_ok=True)
            neurons_space = load_space(args.space)
            base = args.base_space or neurons_space.name.removesuffix("-neurons")
            spaces = {"neurons": neurons_space, "lif": load_space(base)}
            evaluator = Evaluator(args.supernet)  # the checkpoint's space, default EvalSettings
            runs = []
            for seed in args.seeds:
                runs.append(run_search_seed(spaces, args.supernet, seed, evaluator, args))
                hv = {n: st["hv"] for n, st in runs[-1]["studies"].items()}
                print(f"seed {seed}: {json.dumps(hv)}", flush=True)
            document = {
                "part": "search",
                "space": {n: sp.name for n, sp in spaces.items()},
                "supernet_sha256": file_sha256(args.supernet),
                "engine": args.engine,
                "population": args.population,
                "generations": args.generations,
                "conventions": list(CONVENTIONS),
                "objective_convention": neurons_space.energy.convention,
                "seeds": args.seeds,
                "runs": runs,
            }
        neurons = list(load_space(document["space"]["neurons"]).choices.neuron)
        document["summary"] = summarise_search(document["runs"], neurons)
        lines = _search_lines(document["summary"])
        if args.markdown:
            lines += ["", *markdown(document)]
    print("\n".join(lines))
    if args.json:
        write_json(args.json, document)


if __name__ == "__main__":
    main()
