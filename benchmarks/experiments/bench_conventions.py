"""Does the memory-aware energy objective change what the search chooses? (issue 33, item 5)

For each seed, two searches over the same supernet with the same engine, seed and budget: one
minimising Spikformer's operation count (``energy.convention: spikformer``), one minimising the
memory-aware energy (``memory``, the space's profile and dataflow). Every trial records every
convention's energy from its stored rates, so each study also yields its front under the other
convention without re-evaluating anything. Reported per seed and as mean ± sd over seeds:

* within the spikformer study: how many front members the two conventions share (Jaccard);
* between the two searches: the mean T, embed dim and depth of each search's own front, and the
  hypervolume (log memory energy) each search's trials reach under the memory-aware model;
* for the memory search's front: how many members cost less than their equivalent QNN, the
  break-even rates against the measured mean spike rate.

Command (results/energy_conventions_*.json; the docs' results page "Energy conventions"):

    python -m benchmarks.experiments.bench_conventions --space search_spaces/digits-tiny.yaml \\
        --supernet runs/demo/supernet.pt --seeds 0 1 2 --out runs/conventions \\
        --json benchmarks/results/energy_conventions_digits.json

Seeds run side by side (``--seeds 3 4 5 --json b.json``) are merged with ``--merge a.json b.json
--json all.json``.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from statistics import mean, stdev
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from benchmarks.common import write_json
from evosnn.api import load_space, run_search
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.objectives.front import hypervolume_2d
from evosnn.reporting.conventions import Candidate, candidates, compare
from evosnn.storage.ledger import Ledger

CONVENTIONS = ("spikformer", "memory")


def _with_convention(space: SearchSpace, convention: str) -> SearchSpace:
    energy = space.energy.model_copy(update={"convention": convention})
    return space.model_copy(update={"energy": energy})


def _front_stats(front: list[Candidate]) -> dict[str, float]:
    return {
        "size": len(front),
        "time_steps": mean(c.time_steps for c in front),
        "embed_dim": mean(c.embed_dim for c in front),
        "depth": mean(c.depth for c in front),
    }


def _memory_hv(cands: list[Candidate], ref: tuple[float, float]) -> float:
    """Hypervolume of (accuracy, log10 memory energy) up to ``ref`` (shared by both searches)."""
    acc = np.array([c.accuracy for c in cands])
    log_e = np.log10([c.energy_mj["memory"] for c in cands])
    return hypervolume_2d(acc, log_e, ref)


def _qnn_stats(front: list[Candidate], rates: dict[int, float]) -> dict[str, Any]:
    beats = [c.energy_mj["memory"] < c.qnn_mj for c in front if c.qnn_mj is not None]
    ratio = [c.energy_mj["memory"] / c.qnn_mj for c in front if c.qnn_mj]
    return {
        "beats_qnn": int(sum(beats)),
        "memory_over_qnn": [min(ratio), max(ratio)] if ratio else None,
        "break_even": sorted(c.break_even_rate for c in front if c.break_even_rate is not None),
        "mean_spike_rate": sorted(rates[c.trial] for c in front if c.trial in rates),
    }


def _spike_rates(records: list[Any]) -> dict[int, float]:
    """Each trial's mean of its stored per-layer input firing rates (``firing_rates``)."""
    out = {}
    for r in records:
        rates = r.user_attrs.get("firing_rates") or {}
        vals = [float(v) for v in rates.values() if isinstance(v, (int, float))]
        if vals:
            out[r.number] = mean(vals)
    return out


def run_seed(
    space: SearchSpace, supernet: Path, seed: int, args: argparse.Namespace
) -> dict[str, Any]:
    """Both searches at one seed, and what the fronts say."""
    codec = GenomeCodec(space)
    studies: dict[str, list[Candidate]] = {}
    rates: dict[str, dict[int, float]] = {}
    for conv in CONVENTIONS:
        url = f"sqlite:///{args.out.resolve()}/{space.name}-{conv}-s{seed}.db"
        result = run_search(
            _with_convention(space, conv),
            supernet,
            storage=url,
            study=f"{conv}-s{seed}",
            engine=args.engine,
            population=args.population,
            generations=args.generations,
            workers=0,
            seed=seed,
            progress=False,
        )
        records = Ledger.open(result.storage, result.study_name, codec, create=False).records()
        studies[conv] = candidates(records, codec)
        rates[conv] = _spike_rates(records)
    within = compare(studies["spikformer"])
    own = {conv: compare(studies[conv]).fronts[conv] for conv in CONVENTIONS}
    every = studies["spikformer"] + studies["memory"]
    ref = (0.0, math.log10(max(c.energy_mj["memory"] for c in every)) + 0.01)
    pairs = [(c.energy_mj["spikformer"], c.energy_mj["memory"]) for c in every]
    return {
        "seed": seed,
        "evaluations": {conv: len(studies[conv]) for conv in CONVENTIONS},
        "energy_spearman": float(spearmanr(*zip(*pairs, strict=True)).statistic),
        "jaccard_within_spikformer_study": within.jaccard,
        "own_front": {conv: _front_stats(own[conv]) for conv in CONVENTIONS},
        "memory_hv": {conv: _memory_hv(studies[conv], ref) for conv in CONVENTIONS},
        "memory_front_vs_qnn": _qnn_stats(own["memory"], rates["memory"]),
    }


def _spread(values: list[float]) -> str:
    if len(values) < 2:
        return f"{values[0]:.3g}"
    return f"{mean(values):.3g} ± {stdev(values):.2g}"


def summarise(runs: list[dict[str, Any]]) -> list[str]:
    """Mean ± sd over seeds of what each search chose."""
    lines = [
        "Spearman of spikformer vs memory energy over both searches' trials: "
        + _spread([r["energy_spearman"] for r in runs]),
        "Jaccard of the spikformer study's fronts under spikformer vs memory: "
        + _spread([r["jaccard_within_spikformer_study"] for r in runs]),
    ]
    for conv in CONVENTIONS:
        fronts = [r["own_front"][conv] for r in runs]
        stats = ", ".join(
            f"{k} {_spread([f[k] for f in fronts])}"
            for k in ("size", "time_steps", "embed_dim", "depth")
        )
        hv = _spread([r["memory_hv"][conv] for r in runs])
        lines.append(f"search minimising {conv}: own front {stats}; memory-energy HV {hv}")
    diffs = [r["memory_hv"]["memory"] - r["memory_hv"]["spikformer"] for r in runs]
    lines.append(f"memory-energy HV, memory search minus spikformer search: {_spread(diffs)}")
    beats = [r["memory_front_vs_qnn"]["beats_qnn"] for r in runs]
    sizes = [r["own_front"]["memory"]["size"] for r in runs]
    lines.append(f"memory search's front members cheaper than their QNN: {beats} of {sizes}")
    return lines


def merge(paths: list[Path]) -> dict[str, Any]:
    """Result files of one space run over different seeds (e.g. side by side) as one document."""
    docs = [json.loads(p.read_text()) for p in paths]
    if len({d["space"] for d in docs}) != 1:
        raise SystemExit("merge: the files hold different spaces")
    runs = sorted((r for d in docs for r in d["runs"]), key=lambda r: r["seed"])
    seeds = [r["seed"] for r in runs]
    if len(seeds) != len(set(seeds)):
        raise SystemExit(f"merge: a seed occurs twice ({seeds})")
    return {"space": docs[0]["space"], "runs": runs, "merged_from": [str(p) for p in paths]}


def main(argv: list[str] | None = None) -> None:
    """Command line: see the module docstring."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--space")
    parser.add_argument("--supernet", type=Path)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--engine", default="surrogate")
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--generations", type=int, default=4)
    parser.add_argument("--out", type=Path, default=Path("runs/conventions"))
    parser.add_argument("--json", type=Path)
    parser.add_argument("--merge", type=Path, nargs="+", help="result files to merge (no search)")
    args = parser.parse_args(argv)
    if args.merge:
        document = merge(args.merge)
    else:
        if not (args.space and args.supernet):
            parser.error("--space and --supernet are required (or --merge FILES)")
        args.out.mkdir(parents=True, exist_ok=True)
        space = load_space(args.space)
        runs = []
        for seed in args.seeds:
            runs.append(run_seed(space, args.supernet, seed, args))
            print(f"seed {seed}: {runs[-1]}", flush=True)
        document = {"space": space.name, "runs": runs}
    document["summary"] = summarise(document["runs"])
    print("\n".join(document["summary"]))
    if args.json:
        write_json(args.json, document)


if __name__ == "__main__":
    main()
