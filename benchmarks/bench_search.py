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

Run: .venv/bin/python -m benchmarks.bench_search --supernet runs/demo/supernet.pt
"""

from __future__ import annotations

import argparse
import logging
import random
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import ray
import torch
from optuna.trial import TrialState
from pymoo.indicators.hv import HV

from benchmarks.common import table
from evosnn.engines import ENGINES
from evosnn.evaluation import EvalSettings
from evosnn.evaluator import Evaluator
from evosnn.front import pareto_mask
from evosnn.genome import GenomeCodec
from evosnn.ledger import Ledger
from evosnn.search import SearchSettings, run_search
from evosnn.space import SearchSpace, load_space
from evosnn.worker_task import EvaluationTaskFactory
from workers.pool import RayExecutor

SPACE = Path(__file__).resolve().parent.parent / "search_spaces" / "digits-tiny.yaml"


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
    parser.add_argument("--supernet", type=Path, required=True)
    parser.add_argument("--evaluations", type=int, default=40)
    parser.add_argument("--population", type=int, default=12)
    parser.add_argument("--generations", type=int, default=5)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--skip-quality", action="store_true", help="only (a) and (b)")
    parser.add_argument("--skip-pool", action="store_true", help="only (c)")
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
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
    budget = args.population * args.generations
    hv: dict[str, list[float]] = {}
    fronts: dict[str, list[list[tuple[float, float]]]] = {}
    codec = GenomeCodec(space)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        for engine in args.engines:
            hv[engine], fronts[engine] = [], []
            for seed in range(args.seeds):
                settings = SearchSettings(
                    engine=engine,
                    population=args.population,
                    generations=args.generations,
                    workers=2,
                    seed=seed,
                    eval=EvalSettings(),
                )
                summary = run_search(
                    space, args.supernet, url, f"{engine}-{seed}", settings, progress=False
                )
                hv[engine].append(summary.hypervolume)
                records = Ledger.open(url, f"{engine}-{seed}", codec, create=False).records()
                points = [
                    r.values
                    for r in records
                    if r.state == TrialState.COMPLETE and r.values and r.user_attrs.get("feasible")
                ]
                fronts[engine].append(
                    [p for p, keep in zip(points, pareto_mask(points), strict=True) if keep]
                )
    normalised = normalised_hypervolumes(fronts)
    for title, values_of, digits in (
        ("study hypervolume (reference: accuracy 0, 2x energy target)", hv, 6),
        ("normalised hypervolume (union ideal/nadir, reference 1.1)", normalised, 4),
    ):
        base = statistics.mean(values_of["random"]) if "random" in values_of else float("nan")
        rows = []
        for engine in args.engines:
            values = values_of[engine]
            spread = statistics.stdev(values) if len(values) > 1 else 0.0
            rows.append(
                (
                    engine,
                    f"{statistics.mean(values):.{digits}f}",
                    f"{spread:.{digits}f}",
                    f"{statistics.mean(values) / base:.3f}x",
                    " ".join(f"{v:.{digits}f}" for v in values),
                )
            )
        print(f"(c) {title} after {budget} evaluations, {args.seeds} seeds (higher is better)")
        print(table(rows, ("engine", "mean HV", "stdev", "vs random", "per seed")))


if __name__ == "__main__":
    main()
