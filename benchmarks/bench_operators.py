"""Engines side by side on a lookup landscape over the whole digits-tiny space (exact Pareto front).

Every one of the space's 47,304 subnets gets a synthetic but plausible outcome computed from its
configuration alone (no network): energy from the 45 nm energy model with firing rates that fall
with the threshold and rise with tau; accuracy saturating in parameter count and time steps, lost
when a block fires too little, plus validation-sized noise (sd 0.018, fixed per subnet: what the
search sees). The exact fronts of the seen and of the noise-free accuracies give HV* (log energy).

Each engine runs through a minimal in-order ask/tell loop with a window (2 workers: 4 asked and not
yet told), for each budget and seed; reported: regret ``1 - HV/HV*`` of the evaluated subnets' front,
on the seen accuracies and on the noise-free ones, mean over seeds, and its ratio to random search's
(< 1: better than random). Also the engines' own ``stats()`` (re-mutations, fresh fallbacks,
re-proposals) and, for the surrogate engine, the predictors' held-out Kendall tau.

Run: .venv/bin/python -m benchmarks.bench_operators --seeds 10 --budgets 128 512
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pymoo.indicators.hv import HV

from benchmarks.common import table
from evosnn.energy import EnergyModel
from evosnn.engines import ENGINES, Engine, Outcome, make_engine
from evosnn.front import pareto_mask
from evosnn.genome import BLOCK_GENES, GLOBAL_GENES, Genome, GenomeCodec
from evosnn.sizes import count_params, layer_ops
from evosnn.space import load_space

SPACE = Path(__file__).resolve().parent.parent / "search_spaces" / "digits-tiny.yaml"


def enumerate_space(codec: GenomeCodec) -> list[Genome]:
    """Every canonical genome of the space."""
    upper = codec.bounds()[1]
    out: list[Genome] = []
    for depth_index, depth in enumerate(codec.space.choices.depth):
        n_active = len(GLOBAL_GENES) + int(depth) * len(BLOCK_GENES)
        ranges = [range(u + 1) for u in upper[1:n_active]]
        for rest in itertools.product(*ranges):
            out.append((depth_index, *rest) + (0,) * (len(upper) - n_active))
    return out


def landscape(codec: GenomeCodec, seed: int = 0) -> dict[Genome, tuple[float, float, float]]:
    """``key -> (seen accuracy, noise-free accuracy, energy mJ)`` for every subnet."""
    data = codec.space.dataset
    energy_model = EnergyModel()
    rng = np.random.default_rng(seed)
    out: dict[Genome, tuple[float, float, float]] = {}
    for key in enumerate_space(codec):
        c = codec.decode(key)
        block_rate = [
            0.32 * math.exp(-2.2 * (thr - 0.6)) * (1.15 - 0.35 / tau)
            for thr, tau in zip(c.threshold, c.tau, strict=True)
        ]
        rates: dict[str, float] = {}
        for op in layer_ops(
            c, image_size=data.image_size, in_channels=data.channels, num_classes=data.num_classes
        ):
            if op.rate is None:
                continue
            block = int(op.name.split(".")[1]) if op.name.startswith("blocks.") else 0
            rates[op.rate] = block_rate[block] * (1.0 if op.binary else 2.0)
        energy = energy_model.estimate(
            c,
            image_size=data.image_size,
            in_channels=data.channels,
            num_classes=data.num_classes,
            rates=rates,
        ).energy_mj
        params = count_params(c, in_channels=data.channels, num_classes=data.num_classes)
        capacity = math.sqrt(params / 4e4) * (1 - math.exp(-c.time_steps / 1.6))
        capacity *= 1 + 0.04 * sum(h == 4 for h in c.num_heads)
        silent = sum(max(0.0, 0.09 - r) / 0.09 for r in block_rate)
        leaky = sum(
            0.015 for thr, tau in zip(c.threshold, c.tau, strict=True) if tau < 1.5 and thr > 1.0
        )
        clean = 0.95 - 0.55 * math.exp(-2.5 * capacity) - 0.12 * silent - leaky
        seen = clean + rng.normal(0.0, 0.018)
        out[key] = (float(np.clip(seen, 0.01, 1.0)), float(np.clip(clean, 0.01, 1.0)), energy)
    return out


class Scorer:
    """Regret ``1 - HV/HV*`` in (accuracy, log energy) against the exact fronts."""

    def __init__(self, table_: dict[Genome, tuple[float, float, float]]) -> None:
        self.table = table_
        log_e = np.log([v[2] for v in table_.values()])
        self.ref = np.array([0.0, float(log_e.max()) + 0.01 * float(np.ptp(log_e))])
        self.best = [self._hv([(v[i], v[2]) for v in table_.values()]) for i in (0, 1)]

    def _hv(self, points: list[tuple[float, float]]) -> float:
        keep = [p for p, k in zip(points, pareto_mask(points), strict=True) if k]
        f = np.array([[-a, math.log(e)] for a, e in keep])
        return float(HV(ref_point=self.ref).do(f))

    def regret(self, keys: list[Genome]) -> tuple[float, float]:
        """Regret on the seen and on the noise-free accuracies of the evaluated subnets."""
        return tuple(  # type: ignore[return-value]
            1 - self._hv([(self.table[k][i], self.table[k][2]) for k in keys]) / self.best[i]
            for i in (0, 1)
        )


def drive(
    engine: Engine, outcome: Callable[[Genome], Outcome], budget: int, window: int
) -> list[Genome]:
    """In-order ask/tell: at most ``window`` asked and not told; a known subnet is answered from
    the cache (it costs no budget, like the search loop). Returns the evaluated keys in order."""
    cache: dict[Genome, Outcome] = {}
    evaluated: list[Genome] = []
    pending: deque[Genome] = deque()
    idle = 0
    while len(evaluated) < budget and idle < 5000:
        genome = engine.ask() if len(pending) < window else None
        if genome is None:
            done = pending.popleft()
            engine.tell(done, cache[engine_key(engine, done)])
            continue
        key = engine_key(engine, genome)
        if key in cache:
            idle += 1
        else:
            idle = 0
            cache[key] = outcome(key)
            evaluated.append(key)
        pending.append(genome)
    return evaluated


def engine_key(engine: Any, genome: Genome) -> Genome:
    return engine.codec.canonical(genome)  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", type=int, nargs="+", default=[128, 512])
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--window", type=int, default=4)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=ENGINES)
    args = parser.parse_args()
    codec = GenomeCodec(load_space(SPACE))
    start = time.perf_counter()
    values = landscape(codec)
    scorer = Scorer(values)
    print(
        f"digits-tiny lookup landscape: {len(values)} subnets in {time.perf_counter() - start:.1f} s"
    )

    def outcome(key: Genome) -> Outcome:
        return Outcome(values[key][0], values[key][2])

    for budget in args.budgets:
        rows, stats_rows = [], []
        regrets: dict[str, list[tuple[float, float]]] = {}
        for name in args.engines:
            regrets[name], seconds = [], 0.0
            stats: list[dict[str, Any]] = []
            taus: list[float] = []
            for seed in range(args.seeds):
                engine = make_engine(name, codec, population=args.population, seed=seed)
                t0 = time.perf_counter()
                keys = drive(engine, outcome, budget, args.window)
                seconds += time.perf_counter() - t0
                regrets[name].append(scorer.regret(keys))
                stats.append(getattr(engine, "stats", dict)())
                for d in getattr(engine, "diagnostics", list)():
                    if d.get("accuracy_tau") is not None:
                        taus.append(d["accuracy_tau"])
            summed = {k: sum(s.get(k, 0) for s in stats) / len(stats) for k in stats[0]}
            stats_rows.append(
                (
                    name,
                    " ".join(f"{k}={v:.1f}" for k, v in summed.items()),
                    f"{statistics.mean(taus):.2f}" if taus else "-",
                    f"{seconds / args.seeds:.1f}",
                )
            )
        for name in args.engines:
            seen = [r[0] for r in regrets[name]]
            clean = [r[1] for r in regrets[name]]
            base_seen = (
                statistics.mean(r[0] for r in regrets["random"])
                if "random" in regrets
                else math.nan
            )
            base_clean = (
                statistics.mean(r[1] for r in regrets["random"])
                if "random" in regrets
                else math.nan
            )
            rows.append(
                (
                    name,
                    f"{statistics.mean(seen):.4f} +- {statistics.stdev(seen) / math.sqrt(len(seen)):.4f}",
                    f"{statistics.mean(seen) / base_seen:.2f}",
                    f"{statistics.mean(clean):.4f} +- {statistics.stdev(clean) / math.sqrt(len(clean)):.4f}",
                    f"{statistics.mean(clean) / base_clean:.2f}",
                )
            )
        print(
            f"\nbudget {budget}, population {args.population}, window {args.window}, "
            f"{args.seeds} seeds: regret 1 - HV/HV* (lower is better; mean +- s.e.)"
        )
        print(
            table(
                rows, ("engine", "regret (seen)", "vs random", "regret (noise-free)", "vs random")
            )
        )
        print(table(stats_rows, ("engine", "stats (mean per run)", "accuracy tau", "s/run")))


if __name__ == "__main__":
    main()
