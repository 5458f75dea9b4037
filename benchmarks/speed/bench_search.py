"""Search benchmarks, side by side in one run (digits-tiny, a trained supernet: pass --supernet).

(a) Ray pool overhead: the same evaluations through a RayExecutor of 1 worker vs called directly
    in this process (1 thread each; worker start-up excluded).
(b) Scaling: the pool with 1 vs 2 workers on the same evaluations.
(c) Search quality: hypervolume after the same number of evaluations for every engine, mean and
    spread over seeds, against random sampling. Two measures: the study's own hypervolume
    (reference: accuracy 0, twice the energy target), and the standard benchmarking one, in which
    both objectives are normalised to [0, 1] between the ideal and nadir points of the union of all
    runs' Pareto fronts and the reference is (1.1, 1.1). The first is dominated by the accuracy
    range from 0 to ~0.9 that every subnet covers, so it hardly separates engines; the second
    measures only the region where the fronts differ.

    Each front is scored twice: as the search saw it (validation accuracies) and with the
    accuracies of the held-out test split that the search writes onto its Pareto trials, which no
    engine could tune to. p: one-sided Mann-Whitney U that the engine's HV exceeds random's.

Run: .venv/bin/python -m benchmarks.speed.bench_search --supernet runs/demo/supernet.pt
Search quality only, raw results kept, seeds split over two processes, merged afterwards:
    .venv/bin/python -m benchmarks.speed.bench_search --supernet S --skip-pool --workers 0 \\
        --population 16 --generations 8 --seeds 5 --first-seed 0 --json a.json
    .venv/bin/python -m benchmarks.speed.bench_search --report a.json b.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
import ray
import torch
from optuna.trial import TrialState
from pymoo.indicators.hv import HV

from benchmarks.common import table, write_json
from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.engines import ENGINES
from evosnn.evaluate.evaluator import Evaluator
from evosnn.evaluate.worker_task import EvaluationTaskFactory
from evosnn.objectives.front import pareto_mask
from evosnn.search import SearchSettings, search_study
from evosnn.storage.ledger import Ledger
from workers.pool import RayExecutor

log = logging.getLogger(__name__)
SPACE = Path(__file__).resolve().parents[2] / "search_spaces" / "digits-tiny.yaml"


def pool_rate(
    blob: bytes, space: SearchSpace, genomes: list[tuple[int, ...]], workers: int, target: float
) -> float:
    factory = EvaluationTaskFactory(space, EvalSettings(), energy_target_mj=target)
    pool = RayExecutor(blob, factory, workers=workers)
    try:
        for w in range(workers):  # warm every worker up, as the direct loop is warmed up
            pool.submit(("warm-up", w), genomes[w])
        warmed = 0
        while warmed < workers:
            warmed += len(pool.poll(timeout=0.5))
        start = time.perf_counter()
        for i, g in enumerate(genomes):
            pool.submit(i, g)
        done = 0
        while done < len(genomes):
            done += len(pool.poll(timeout=0.5))
        return len(genomes) / (time.perf_counter() - start)
    finally:
        pool.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", type=Path)
    parser.add_argument("--evaluations", type=int, default=40)
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument(
        "--workers", type=int, default=2, help="(c): Ray workers per search (0: in this process)"
    )
    parser.add_argument("--json", type=Path, help="(c): write the raw fronts here")
    parser.add_argument(
        "--report", type=Path, nargs="+", help="(c): only print the tables of these raw files"
    )
    parser.add_argument("--skip-quality", action="store_true", help="only (a) and (b)")
    parser.add_argument("--skip-pool", action="store_true", help="only (c)")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(message)s", datefmt="%X")
    if args.report:
        print(quality_report([json.loads(p.read_text()) for p in args.report]))
        return
    if args.supernet is None:
        parser.error("--supernet is required (unless --report)")
    torch.set_num_threads(1)
    space = load_space(SPACE)
    codec = GenomeCodec(space)
    rng = random.Random(0)
    genomes = [codec.sample(rng) for _ in range(args.evaluations)]
    blob = args.supernet.read_bytes()

    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
    )
    if not args.skip_pool:
        pool_benchmarks(args.supernet, space, genomes, blob)
    if not args.skip_quality:
        quality(args, space)
    ray.shutdown()


def pool_benchmarks(
    supernet: Path, space: SearchSpace, genomes: list[tuple[int, ...]], blob: bytes
) -> None:
    codec = GenomeCodec(space)
    direct = Evaluator(supernet, space)
    target = direct.energy_target_mj
    start = time.perf_counter()
    for g in genomes:
        direct.evaluate(codec.decode(g))
    direct_rate = len(genomes) / (time.perf_counter() - start)
    one = pool_rate(blob, space, genomes, 1, target)
    two = pool_rate(blob, space, genomes, 2, target)
    print(f"(a, b) {len(genomes)} evaluations on digits-tiny (evaluations per second)")
    print(
        table(
            [
                ("direct, in process", f"{direct_rate:.2f}", "1.00x"),
                ("Ray pool, W=1", f"{one:.2f}", f"{one / direct_rate:.2f}x"),
                ("Ray pool, W=2", f"{two:.2f}", f"{two / direct_rate:.2f}x"),
            ],
            ("how", "evals/s", "vs direct"),
        )
    )
    print(
        f"pool overhead at W=1: {100 * (direct_rate / one - 1):.1f}%   W=2 speed-up over W=1: {two / one:.2f}x\n"
    )


def normalised_hypervolumes(
    fronts: dict[str, list[list[tuple[float, float]]]],
) -> dict[str, list[float]]:
    """HV of every run's front, both objectives normalised between the ideal and nadir points of
    the union of all fronts (minimisation of 1 - accuracy and energy), reference (1.1, 1.1)."""
    union = [p for runs in fronts.values() for front in runs for p in front]
    union = [p for p, keep in zip(union, pareto_mask(union), strict=True) if keep]
    acc = np.array([a for a, _ in union])
    energy = np.array([e for _, e in union])
    lo = np.array([1 - acc.max(), energy.min()])
    span = np.array([1 - acc.min(), energy.max()]) - lo
    span[span == 0] = 1.0
    indicator = HV(ref_point=np.array([1.1, 1.1]))
    out: dict[str, list[float]] = {}
    for engine, runs in fronts.items():
        out[engine] = []
        for front in runs:
            f = (np.array([(1 - a, e) for a, e in front]) - lo) / span
            out[engine].append(float(indicator.do(f)) if len(f) else 0.0)
    return out


def quality(args: argparse.Namespace, space: SearchSpace) -> None:
    """Run every engine for every seed and write the raw fronts to ``--json`` (if given)."""
    budget = args.population * args.generations
    runs: dict[str, list[dict[str, Any]]] = {}
    codec = GenomeCodec(space)
    seeds = range(args.first_seed, args.first_seed + args.seeds)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        for seed in seeds:
            for engine in args.engines:
                settings = SearchSettings(
                    engine=engine,
                    population=args.population,
                    generations=args.generations,
                    workers=args.workers,
                    seed=seed,
                    eval=EvalSettings(),
                )
                started = time.perf_counter()
                summary = search_study(
                    space, args.supernet, url, f"{engine}-{seed}", settings, progress=False
                )
                records = Ledger.open(url, f"{engine}-{seed}", codec, create=False).records()
                complete = [
                    r
                    for r in records
                    if r.state == TrialState.COMPLETE and r.values and r.user_attrs.get("feasible")
                ]
                points = [r.values for r in complete if r.values is not None]
                val_front = [p for p, keep in zip(points, pareto_mask(points), strict=True) if keep]
                test_front = [
                    (r.user_attrs["test_accuracy"], r.user_attrs["test_energy_mj"])
                    for r in complete
                    if "test_accuracy" in r.user_attrs
                ]
                runs.setdefault(engine, []).append(
                    {
                        "seed": seed,
                        "study_hv": summary.hypervolume,
                        "val_front": val_front,
                        "test_front": test_front,
                        "seconds": time.perf_counter() - started,
                    }
                )
                log.warning("%s seed %d: %d evaluations", engine, seed, len(records))
                if args.json:
                    write_json(args.json, {"budget": budget, "runs": runs})
    print(quality_report([{"budget": budget, "runs": runs}]))


def _greater_p(x: list[float], y: list[float]) -> float:
    """One-sided Mann-Whitney U p-value that ``x`` tends to be larger than ``y``."""
    from scipy.stats import mannwhitneyu

    if len(set(x) | set(y)) == 1:
        return 1.0
    return float(mannwhitneyu(x, y, alternative="greater").pvalue)


def quality_report(documents: list[dict[str, Any]]) -> str:
    """Tables of merged raw results: the study's hypervolume, and the normalised hypervolume of
    the validation front and of the same front scored on the held-out test split."""
    budgets = {d["budget"] for d in documents}
    if len(budgets) != 1:
        raise SystemExit(f"the files hold different budgets: {sorted(budgets)}")
    runs: dict[str, list[dict[str, Any]]] = {}
    for document in documents:
        for engine, items in document["runs"].items():
            runs.setdefault(engine, []).extend(items)
    engines = list(runs)
    hv = {e: [r["study_hv"] for r in runs[e]] for e in engines}
    val = normalised_hypervolumes({e: [r["val_front"] for r in runs[e]] for e in engines})
    test = normalised_hypervolumes({e: [r["test_front"] for r in runs[e]] for e in engines})
    lines = []
    for title, values_of, digits in (
        ("study hypervolume (validation; reference: accuracy 0, 2x energy target)", hv, 6),
        ("normalised hypervolume of the validation front (union ideal/nadir, ref 1.1)", val, 4),
        ("normalised hypervolume of that front scored on the held-out test split", test, 4),
    ):
        base = values_of.get("random")
        rows: list[tuple[str, ...]] = []
        for engine in engines:
            values = values_of[engine]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            ratio = statistics.mean(values) / statistics.mean(base) if base else float("nan")
            p = _greater_p(values, base) if base and engine != "random" else float("nan")
            rows.append(
                (
                    engine,
                    str(len(values)),
                    f"{statistics.mean(values):.{digits}f}",
                    f"{spread:.{digits}f}",
                    f"{ratio:.3f}x",
                    "-" if math.isnan(p) else f"{p:.2g}",
                )
            )
        lines.append(f"(c) {title} after {documents[0]['budget']} evaluations (higher is better)")
        lines.append(table(rows, ("engine", "seeds", "mean HV", "stdev", "vs random", "p")))
    return "\n".join(lines)


if __name__ == "__main__":
    main()
