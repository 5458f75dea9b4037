"""Search benchmarks, side by side in one run (digits-tiny, a trained supernet: pass --supernet).

(a) Ray pool overhead: the same evaluations through an EvaluatorPool of 1 worker vs called directly
    in this process (1 thread each; worker start-up excluded).
(b) Scaling: the pool with 1 vs 2 workers on the same evaluations.
(c) Search quality: hypervolume after the same number of evaluations for every engine, mean and
    spread over seeds, against random sampling.

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

import ray
import torch

from benchmarks.common import table
from evosnn.engines import ENGINES
from evosnn.evaluator import EvalSettings, Evaluator
from evosnn.genome import GenomeCodec
from evosnn.search import SearchSettings, run_search
from evosnn.space import load_space
from workers.pool import EvaluatorPool

SPACE = Path(__file__).resolve().parent.parent / "search_spaces" / "digits-tiny.yaml"


def pool_rate(
    blob: bytes, space_dict: dict, genomes: list[tuple[int, ...]], workers: int, target: float
) -> float:  # type: ignore[type-arg]
    pool = EvaluatorPool(blob, space_dict, {}, workers=workers, energy_target_mj=target)
    try:
        for w in range(workers):  # warm every worker up, as the direct loop is warmed up
            pool.submit(("warm-up", w), list(genomes[w]))
        warmed = 0
        while warmed < workers:
            warmed += len(pool.poll(timeout=0.5))
        start = time.perf_counter()
        for i, g in enumerate(genomes):
            pool.submit(i, list(g))
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
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)
    space = load_space(SPACE)
    codec = GenomeCodec(space)
    rng = random.Random(0)
    genomes = [codec.sample(rng) for _ in range(args.evaluations)]
    blob = args.supernet.read_bytes()

    direct = Evaluator(args.supernet, space)
    target = direct.energy_target_mj
    start = time.perf_counter()
    for g in genomes:
        direct.evaluate(codec.decode(g))
    direct_rate = len(genomes) / (time.perf_counter() - start)

    ray.init(
        num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
    )
    one = pool_rate(blob, space.to_dict(), genomes, 1, target)
    two = pool_rate(blob, space.to_dict(), genomes, 2, target)
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

    if args.skip_quality:
        ray.shutdown()
        return
    budget = args.population * args.generations
    rows = []
    hv: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        for engine in ENGINES:
            hv[engine] = []
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
    base = statistics.mean(hv["random"])
    for engine in ENGINES:
        values = hv[engine]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        rows.append(
            (
                engine,
                f"{statistics.mean(values):.6f}",
                f"{spread:.6f}",
                f"{statistics.mean(values) / base:.3f}x",
                " ".join(f"{v:.6f}" for v in values),
            )
        )
    print(f"(c) hypervolume after {budget} evaluations, {args.seeds} seeds (higher is better)")
    print(table(rows, ("engine", "mean HV", "stdev", "vs random", "per seed")))
    ray.shutdown()


if __name__ == "__main__":
    main()
