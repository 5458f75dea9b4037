"""Token mixers measured (issue 39, items 1 and 5): shared vs separate q/k/v, and what a search
over the mixer gene finds against the ssa-only space.

Two parts, each a subcommand writing one JSON with provenance (commit, spaces, supernet sha256,
seeds, budget):

``weights``: the same subnets evaluated with inherited weights on two supernets of one space, one
trained with ``supernet.mixer_weights: shared``, one with ``separate`` (same seed and epochs). For
each mixer, ``--per-mixer`` random subnets whose every block uses that mixer (the other genes are
the same random draw for every mixer and both supernets), plus ``--mixed`` fully random subnets;
validation accuracy mean ± sd per mixer and mode, and the paired (same subnet) difference.

``search``: per seed, two searches on the same (mixers) supernet with the same engine, budget and
seed: one over the mixers space, one over the ssa-only space (the narrower space accepts the wider
supernet). Reported per seed and mean ± sd: the hypervolume of the front on validation and of the
same front re-scored on the test split (both in the mixers study's reference box, accuracy 0-1 x
energy 0 to twice the energy target), and, per energy band (terciles of the pooled front energies
of both searches over all seeds), how many front blocks use each mixer.

Commands (results/mixers_*.json; the docs' results page "Token mixers"):

    # digits-tiny-mixers-separate.yaml: the shipped space renamed, with supernet.mixer_weights: separate
    evosnn supernet train --space digits-tiny-mixers --out /tmp/mixbench/digits --seed 0 --threads 1
    evosnn supernet train --space /tmp/mixbench/digits-tiny-mixers-separate.yaml \\
        --out /tmp/mixbench/digits-sep --seed 0 --threads 1
    python -m benchmarks.experiments.bench_mixers weights \\
        --shared /tmp/mixbench/digits/supernet.pt --separate /tmp/mixbench/digits-sep/supernet.pt \\
        --per-mixer 30 --mixed 30 --json benchmarks/results/mixers_weights_digits.json
    python -m benchmarks.experiments.bench_mixers search --space digits-tiny-mixers \\
        --base-space digits-tiny --supernet /tmp/mixbench/digits/supernet.pt --seeds 0 1 2 3 4 \\
        --population 16 --generations 4 --out /tmp/mixbench/search-digits \\
        --json benchmarks/results/mixers_search_digits.json

(``mixers_weights_digits_s1.json``: the same with both supernets trained at ``--seed 1``.) Seed sets
run apart are merged with ``search --merge a.json b.json --json all.json``. Torch runs on one
thread unless ``--threads`` says otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from statistics import mean, stdev
from typing import Any

import numpy as np

from benchmarks.common import write_json
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace

__all__ = [
    "band_counts",
    "band_edges",
    "band_of",
    "force_mixer",
    "front_hv",
    "main",
    "merge",
    "spread",
    "summarise_search",
    "summarise_weights",
]


# ------------------------------------------------------------------ pure parts
def spread(values: Sequence[float]) -> dict[str, float | int]:
    """``{"mean", "sd", "n"}`` of ``values`` (sd 0 for a single value)."""
    vals = [float(v) for v in values]
    if not vals:
        return {"mean": float("nan"), "sd": float("nan"), "n": 0}
    return {"mean": mean(vals), "sd": stdev(vals) if len(vals) > 1 else 0.0, "n": len(vals)}


def _fmt(s: dict[str, float | int], scale: float = 1.0, digits: int = 2) -> str:
    return f"{s['mean'] * scale:.{digits}f} ± {s['sd'] * scale:.{digits}f} (n {s['n']})"


def force_mixer(codec: GenomeCodec, genome: Sequence[int], mixer: str) -> Genome:
    """``genome`` with every block's mixer gene set to ``mixer`` (canonical)."""
    out = list(genome)
    index = list(codec.space.choices.mixer).index(mixer)
    for name in codec.names:
        if name.startswith("mixer_"):
            out[codec.index(name)] = index
    return codec.canonical(out)


def front_hv(points: Sequence[tuple[float, float]], ref_energy: float) -> float:
    """Hypervolume of ``(accuracy, energy)`` points (the non-dominated ones count) up to
    accuracy 0 and ``ref_energy``: :func:`evosnn.objectives.front.hypervolume`."""
    from evosnn.objectives.front import hypervolume

    return hypervolume(list(points), ref_energy)


def band_edges(energies: Sequence[float], bands: int = 3) -> list[float]:
    """The ``bands - 1`` inner edges splitting ``energies`` into equal-count bands (quantiles of
    log energy, so the edges are geometric means where they fall between two points)."""
    logs = np.log(np.asarray(energies, dtype=float))
    return [float(np.exp(np.quantile(logs, k / bands))) for k in range(1, bands)]


def band_of(energy: float, edges: Sequence[float]) -> int:
    """The band (0 = cheapest) of ``energy``; an energy on an edge falls in the lower band."""
    return int(sum(energy > e for e in edges))


def band_counts(
    members: Sequence[dict[str, Any]], edges: Sequence[float], mixers: Sequence[str]
) -> list[dict[str, int]]:
    """Per band, the front members and how many of their blocks use each mixer.

    ``members``: dicts with ``energy_mj`` and ``mixer`` (the list of the member's block mixers).
    """
    out = [{"members": 0, **{m: 0 for m in mixers}} for _ in range(len(edges) + 1)]
    for member in members:
        band = out[band_of(member["energy_mj"], edges)]
        band["members"] += 1
        for mixer, count in Counter(member["mixer"]).items():
            band[mixer] = band.get(mixer, 0) + count
    return out


# ------------------------------------------------------------------ weights: shared vs separate
def _draw(codec: GenomeCodec, seed: int, per_mixer: int, mixed: int) -> dict[str, list[Genome]]:
    """The subnets of the weights comparison: per mixer the same base draw forced to it, and
    ``mixed`` fully random ones (another draw of the same generator)."""
    rng = random.Random(seed)
    base = [codec.sample(rng) for _ in range(per_mixer)]
    sets = {m: [force_mixer(codec, g, m) for g in base] for m in codec.space.choices.mixer}
    sets["mixed"] = [codec.canonical(codec.sample(rng)) for _ in range(mixed)]
    return sets


def _evaluate_all(checkpoint: Path, sets: dict[str, list[Genome]], codec: GenomeCodec) -> Any:
    from evosnn.evaluate.evaluator import Evaluator

    evaluator = Evaluator(checkpoint)  # the checkpoint's own space, default EvalSettings
    out: dict[str, list[float]] = {}
    for name, genomes in sets.items():
        accs = []
        for genome in genomes:
            evaluation = evaluator.evaluate(codec.decode(genome))
            accs.append(evaluation.accuracy if evaluation.ok else float("nan"))
        out[name] = accs
        print(f"  {checkpoint.parent.name} {name}: {spread(accs)}", flush=True)
    return out, evaluator.space


def run_weights(args: argparse.Namespace) -> dict[str, Any]:
    """Both supernets on the same subnets."""
    from evosnn.evaluate.models import checkpoint_space, load_supernet
    from supernet.checkpoint import file_sha256

    _, data = load_supernet(args.shared)
    space = checkpoint_space(data, args.shared)
    codec = GenomeCodec(space)
    sets = _draw(codec, args.seed, args.per_mixer, args.mixed)
    accuracy, spaces = {}, {}
    for mode, path in (("shared", args.shared), ("separate", args.separate)):
        acc, sp = _evaluate_all(path, sets, codec)
        if sp.supernet.mixer_weights != mode:
            raise SystemExit(f"{path}: trained with mixer_weights {sp.supernet.mixer_weights}")
        accuracy[mode], spaces[mode] = acc, sp
    return {
        "part": "weights",
        "space": {mode: sp.name for mode, sp in spaces.items()},
        "supernet_sha256": {
            "shared": file_sha256(args.shared),
            "separate": file_sha256(args.separate),
        },
        "draw_seed": args.seed,
        "subnets": {name: [codec.describe(g) for g in gs] for name, gs in sets.items()},
        "accuracy": accuracy,
    }


def summarise_weights(doc: dict[str, Any]) -> dict[str, Any]:
    """Mean ± sd per mixer and mode, and the paired difference separate - shared."""
    acc = doc["accuracy"]
    out: dict[str, Any] = {}
    for name in acc["shared"]:
        shared, separate = acc["shared"][name], acc["separate"][name]
        diff = [b - a for a, b in zip(shared, separate, strict=True)]
        out[name] = {
            "shared": spread(shared),
            "separate": spread(separate),
            "separate_minus_shared": spread(diff),
            "separate_better": sum(d > 0 for d in diff),
            "shared_better": sum(d < 0 for d in diff),
        }
    return out


def _weights_lines(summary: dict[str, Any]) -> list[str]:
    return [
        f"{name}: shared {_fmt(s['shared'], 100)} %, separate {_fmt(s['separate'], 100)} %, "
        f"paired separate - shared {_fmt(s['separate_minus_shared'], 100)} pp "
        f"(separate better {s['separate_better']}, shared better {s['shared_better']})"
        for name, s in summary.items()
    ]


# ------------------------------------------------------------------ search: mixers vs ssa-only
def _front(records: list[Any], codec: GenomeCodec) -> list[dict[str, Any]]:
    from evosnn.objectives.front import pareto_records

    out = []
    for r in pareto_records(records):
        config = codec.decode(r.genome)
        out.append(
            {
                "trial": r.number,
                "accuracy": float(r.values[0]),
                "energy_mj": float(r.values[1]),
                "test_accuracy": r.attrs.test_accuracy,
                "test_energy_mj": r.user_attrs.get("test_energy_mj"),
                "mixer": list(config.mixer),
                "describe": codec.describe(r.genome),
            }
        )
    return out


def _search(
    space: SearchSpace, supernet: Path, seed: int, name: str, args: argparse.Namespace
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
    records = ledger.records()
    return {
        "evaluations": sum(r.feasible for r in records),
        "hv_reference_mj": ledger.record().hv_reference_energy_mj,
        "front": _front(records, codec),
        "summary_hypervolume": result.summary.hypervolume,
    }


def _hvs(front: list[dict[str, Any]], ref: float) -> dict[str, float]:
    val = front_hv([(m["accuracy"], m["energy_mj"]) for m in front], ref)
    scored = [m for m in front if m["test_accuracy"] is not None and m["test_energy_mj"]]
    test = front_hv([(m["test_accuracy"], m["test_energy_mj"]) for m in scored], ref)
    return {"val": val, "test": test}


def run_search_seed(
    spaces: dict[str, SearchSpace], supernet: Path, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Both searches at one seed; hypervolumes in the mixers study's reference box."""
    studies = {name: _search(sp, supernet, seed, name, args) for name, sp in spaces.items()}
    ref = studies["mixers"]["hv_reference_mj"]
    for study in studies.values():
        study["hv"] = _hvs(study["front"], ref)
    return {"seed": seed, "hv_reference_mj": ref, "studies": studies}


def summarise_search(runs: list[dict[str, Any]], mixers: Sequence[str]) -> dict[str, Any]:
    """Mean ± sd over seeds of each search's hypervolumes and their paired difference; per energy
    band (terciles of all fronts' energies pooled), the blocks of each mixer on the fronts."""
    names = list(runs[0]["studies"])
    out: dict[str, Any] = {"hv": {}, "hv_mixers_minus_ssa": {}}
    for split in ("val", "test"):
        out["hv"][split] = {n: spread([r["studies"][n]["hv"][split] for r in runs]) for n in names}
        diffs = [
            r["studies"]["mixers"]["hv"][split] - r["studies"]["ssa"]["hv"][split] for r in runs
        ]
        out["hv_mixers_minus_ssa"][split] = {
            **spread(diffs),
            "mixers_higher": sum(d > 0 for d in diffs),
        }
    energies = [m["energy_mj"] for r in runs for n in names for m in r["studies"][n]["front"]]
    edges = band_edges(energies)
    out["band_edges_mj"] = edges
    out["bands"] = {
        n: band_counts([m for r in runs for m in r["studies"][n]["front"]], edges, mixers)
        for n in names
    }
    out["front_size"] = {n: spread([len(r["studies"][n]["front"]) for r in runs]) for n in names}
    return out


def _search_lines(summary: dict[str, Any]) -> list[str]:
    lines = []
    for split in ("val", "test"):
        hv = summary["hv"][split]
        d = summary["hv_mixers_minus_ssa"][split]
        lines.append(
            f"HV {split}: "
            + ", ".join(f"{n} {_fmt(s, 1e3, 3)} (x1e-3)" for n, s in hv.items())
            + f"; mixers - ssa {_fmt(d, 1e3, 3)} (x1e-3), mixers higher in {d['mixers_higher']}"
        )
    edges = ", ".join(f"{e:.3g}" for e in summary["band_edges_mj"])
    lines.append(f"energy bands (mJ edges {edges}); blocks per mixer on the fronts, all seeds:")
    for n, bands in summary["bands"].items():
        lines.append(f"  {n}: " + " | ".join(str(b) for b in bands))
    return lines


def merge(paths: list[Path]) -> dict[str, Any]:
    """Search result files of one space over different seeds as one document."""
    docs = [json.loads(p.read_text()) for p in paths]
    if len({json.dumps(d["space"], sort_keys=True) for d in docs}) != 1:
        raise SystemExit("merge: the files hold different spaces")
    runs = sorted((r for d in docs for r in d["runs"]), key=lambda r: r["seed"])
    seeds = [r["seed"] for r in runs]
    if len(seeds) != len(set(seeds)):
        raise SystemExit(f"merge: a seed occurs twice ({seeds})")
    keep = {k: v for k, v in docs[0].items() if k not in ("runs", "summary", "provenance")}
    return {
        **keep,
        "seeds": seeds,
        "runs": runs,
        "merged_from": [str(p) for p in paths],
        "merged_provenance": [d.get("provenance") for d in docs],
    }


# ------------------------------------------------------------------ command line
def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="part", required=True)
    w = sub.add_parser("weights", help="shared vs separate q/k/v on the same subnets")
    w.add_argument("--shared", type=Path, required=True)
    w.add_argument("--separate", type=Path, required=True)
    w.add_argument("--per-mixer", type=int, default=30)
    w.add_argument("--mixed", type=int, default=30)
    w.add_argument("--seed", type=int, default=0)
    w.add_argument("--json", type=Path)
    s = sub.add_parser("search", help="mixers space vs ssa-only space on one supernet")
    s.add_argument("--space")
    s.add_argument("--base-space", help="the ssa-only space (default: --space without -mixers)")
    s.add_argument("--supernet", type=Path)
    s.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    s.add_argument("--engine", default="surrogate")
    s.add_argument("--population", type=int, default=16)
    s.add_argument("--generations", type=int, default=4)
    s.add_argument("--out", type=Path, default=Path("runs/mixers"))
    s.add_argument("--json", type=Path)
    s.add_argument("--merge", type=Path, nargs="+", help="result files to merge (no search)")
    for p in (w, s):
        p.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's)")
    args = parser.parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)

    if args.part == "weights":
        document = run_weights(args)
        document["summary"] = summarise_weights(document)
        lines = _weights_lines(document["summary"])
    else:
        from evosnn.api import load_space

        if args.merge:
            document = merge(args.merge)
        else:
            if not (args.space and args.supernet):
                parser.error("--space and --supernet are required (or --merge FILES)")
            from supernet.checkpoint import file_sha256

            args.out.mkdir(parents=True, exist_ok=True)
            mixers_space = load_space(args.space)
            base = args.base_space or mixers_space.name.removesuffix("-mixers")
            spaces = {"mixers": mixers_space, "ssa": load_space(base)}
            runs = []
            for seed in args.seeds:
                runs.append(run_search_seed(spaces, args.supernet, seed, args))
                hv = {n: st["hv"] for n, st in runs[-1]["studies"].items()}
                print(f"seed {seed}: {hv}", flush=True)
            document = {
                "part": "search",
                "space": {n: sp.name for n, sp in spaces.items()},
                "supernet_sha256": file_sha256(args.supernet),
                "engine": args.engine,
                "population": args.population,
                "generations": args.generations,
                "seeds": args.seeds,
                "runs": runs,
            }
        mixers = list(load_space(document["space"]["mixers"]).choices.mixer)
        document["summary"] = summarise_search(document["runs"], mixers)
        lines = _search_lines(document["summary"])
    print("\n".join(lines))
    if args.json:
        write_json(args.json, document)


if __name__ == "__main__":
    main()
