"""Engines against random search on lookup landscapes whose exact Pareto front is known.

Two steps (see :mod:`benchmarks.experiments.landscape` for the models):

``calibrate --supernet PATH``: evaluates a few hundred subnets of a trained digits-tiny supernet
(depth-stratified) on the two halves of the validation set, measures split-half reliability (how
much of the accuracy spread is validation noise), fits the accuracy and firing-rate models and
writes ``benchmarks/landscape_calibration.json`` (a few KB; the raw evaluations are cached next to
``--cache``).

``run``: drives every engine through the real :class:`~evosnn.search.loop.SearchLoop` with an
:class:`~evosnn.core.executor.InProcessExecutor` that looks genomes up in the landscape and a real
:class:`~evosnn.storage.ledger.Ledger` (SQLite under ``--db-dir``, a tmpfs by default), once per seed at the
largest budget: engines do not know the budget and the loop asks in the same order whatever it is,
so the first ``b`` completed trials of a run *are* the run at budget ``b`` (the test checks this).
Seed ``s`` is both the engine's seed and the validation-noise draw. Reported per budget: regret
``1 - HV/HV*`` (log energy, reference point fixed per landscape) and IGD+ on the accuracies the
search saw and on the noise-free ones, mean +- sd over seeds, the ratio to random search's mean
regret, a one-sided Mann-Whitney U p-value (engine's regret < random's); and the budget at which
random search reaches the default engine's hypervolume at 128 evaluations.

Engine ``surrogate-oracle`` (benchmark only) is the surrogate engine with perfect predictors: it
is told the landscape's noise-free accuracy and energy of every candidate instead of fitting
models. Its regret is the ceiling of the engine's acquisition, i.e. how much better predictors could
still gain at most. ``surrogate-oracle-accuracy`` is told only the true accuracy and fits its
energy predictor as the engine does: the share of that gain that is the accuracy predictor's.
``surrogate-true-model`` (digits only) fits the landscape's own accuracy model class (its logistic
design, binomial likelihood) to the accuracies the search saw, instead of choosing among the
engine's model kinds: whether a better model class could close that gap.
``surrogate-true-model-freeN`` (N 16, 32, 64) is the same, its fit also given N random subnets'
seen accuracies that the budget does not count: what the gap is worth in evaluations.

Landscapes: ``digits`` (all 47,304 subnets of digits-tiny, exact front by sorting) and ``cifar``
(cifar10-spikformer's 8.66e9 subnets, additive over blocks, exact front by dynamic programming; its
seen regret is measured against the noise-free HV*, since the front of the noisy accuracies of 8.66e9
subnets is not computable, so it can fall below 0).

Run:
    nice -n 10 .venv/bin/python -m benchmarks.experiments.bench_landscape calibrate --supernet runs/demo/supernet.pt
    nice -n 10 .venv/bin/python -m benchmarks.experiments.bench_landscape run --landscape digits --seeds 20
    nice -n 10 .venv/bin/python -m benchmarks.experiments.bench_landscape run --landscape cifar --seeds 20
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import math
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy.special import expit
from sklearn.model_selection import KFold

from benchmarks.common import write_json
from benchmarks.experiments.landscape import (
    BLOCK_KINDS,
    SPS_KINDS,
    AccuracyModel,
    AdditiveLandscape,
    Calibration,
    FrontScorer,
    LookupLandscape,
    RateModel,
    accuracy_design,
    rate_features,
)
from evosnn.core.evaluation import Evaluation
from evosnn.core.executor import InProcessExecutor
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import load_space
from evosnn.engines import ENGINES, Engine, make_engine
from evosnn.engines.predictors import kendall_tau
from evosnn.engines.surrogate_engine import SurrogateEngine
from evosnn.objectives.front import pareto_indices
from evosnn.search.loop import SearchLoop
from evosnn.search.settings import SearchSettings
from evosnn.storage.ledger import Ledger

__all__ = [
    "BENCH_ENGINES",
    "CALIBRATION",
    "CIFAR_SPACE",
    "DIGITS_SPACE",
    "ORACLE",
    "ORACLE_ACCURACY",
    "TRUE_MODEL",
    "TRUE_MODEL_FREE",
    "Bench",
    "OraclePredictors",
    "RunResult",
    "TrueModelPredictors",
    "cifar_bench",
    "digits_bench",
    "load_calibration",
    "oracle_surrogate",
    "run_search",
    "score_run",
    "summarise",
    "true_model_surrogate",
]

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
DIGITS_SPACE = ROOT / "search_spaces" / "digits-tiny.yaml"
CIFAR_SPACE = ROOT / "search_spaces" / "cifar10-spikformer.yaml"
CALIBRATION = Path(__file__).resolve().parent / "landscape_calibration.json"
#: Validation images of cifar10-spikformer (val_fraction 0.1 of 50,000).
CIFAR_VAL = 5000


# ================================================================================ landscapes
class Bench(Protocol):
    """A landscape as the runner sees it."""

    name: str
    codec: GenomeCodec
    n_val: int
    clean: FrontScorer

    def lookup(self, genome: Genome, noise_seed: int) -> tuple[float, float, float]:
        """(seen accuracy, noise-free accuracy, energy mJ) of a canonical genome."""
        ...

    def scorers(self, noise_seed: int) -> tuple[FrontScorer, FrontScorer]:
        """Scorers against the exact front of the seen and of the noise-free accuracies."""
        ...


class DigitsBench:
    """The whole digits-tiny space as a lookup table (``n_val``: the seen accuracy's validation
    size, default the calibration's)."""

    name = "digits"

    def __init__(self, calibration: Calibration, *, n_val: int | None = None) -> None:
        if n_val is not None:
            calibration = dataclasses.replace(calibration, n_val=n_val)
        self.codec = GenomeCodec(load_space(DIGITS_SPACE))
        self.table = LookupLandscape(self.codec, calibration)
        self.n_val = self.table.n_val
        self.size = len(self.table)
        self.clean = FrontScorer.for_front(self.table.front())
        self._seen: dict[int, np.ndarray] = {}

    def _seen_of(self, noise_seed: int) -> np.ndarray:
        if noise_seed not in self._seen:
            self._seen = {noise_seed: self.table.seen(noise_seed)}
        return self._seen[noise_seed]

    def lookup(self, genome: Genome, noise_seed: int) -> tuple[float, float, float]:
        row = self.table.row[genome]
        seen = self._seen_of(noise_seed)
        return float(seen[row]), float(self.table.accuracy[row]), float(self.table.energy[row])

    def scorers(self, noise_seed: int) -> tuple[FrontScorer, FrontScorer]:
        front = self.table.front(self._seen_of(noise_seed))
        return FrontScorer.for_front(front, reference=self.clean.reference), self.clean


class CifarBench:
    """cifar10-spikformer's space as an additive landscape (exact front by DP)."""

    name = "cifar"

    def __init__(self, calibration: Calibration, *, n_val: int | None = None) -> None:
        self.codec = GenomeCodec(load_space(CIFAR_SPACE))
        reference = GenomeCodec(load_space(DIGITS_SPACE))
        self.n_val = n_val if n_val is not None else CIFAR_VAL
        self.table = AdditiveLandscape(self.codec, calibration, reference, n_val=self.n_val)
        self.size = self.table.size
        front, _ = self.table.front()
        self.clean = FrontScorer.for_front(front)

    def lookup(self, genome: Genome, noise_seed: int) -> tuple[float, float, float]:
        acc, energy = self.table.outcome(genome)
        return self.table.seen(genome, noise_seed), acc, energy

    def scorers(self, noise_seed: int) -> tuple[FrontScorer, FrontScorer]:
        return self.clean, self.clean


def load_calibration(path: Path = CALIBRATION) -> Calibration:
    """The committed (or freshly written) calibration."""
    return Calibration.from_dict(json.loads(path.read_text()))


def digits_bench(
    calibration: Calibration | None = None, *, n_val: int | None = None
) -> DigitsBench:
    """The digits-tiny lookup landscape (default: the committed calibration)."""
    return DigitsBench(calibration if calibration is not None else load_calibration(), n_val=n_val)


def cifar_bench(calibration: Calibration | None = None, *, n_val: int | None = None) -> CifarBench:
    """The cifar10-spikformer-scale additive landscape (default: the committed calibration)."""
    return CifarBench(calibration if calibration is not None else load_calibration(), n_val=n_val)


# ================================================================================ oracle
#: The benchmark-only engine: the surrogate engine told the landscape's true objectives.
ORACLE = "surrogate-oracle"
#: The same told only the true accuracy (it fits its energy predictor as the engine does): how much
#: of the oracle's lead is the accuracy predictor's.
ORACLE_ACCURACY = "surrogate-oracle-accuracy"
#: The surrogate engine whose accuracy predictor is the digits landscape's own model class (its
#: logistic design, binomial likelihood) fitted to the accuracies the search saw: whether a better
#: model class could close the gap to the oracle.
TRUE_MODEL = "surrogate-true-model"
#: The same, its fit also given N random subnets' seen accuracies that the budget does not count
#: (``surrogate-true-model-freeN``, N in :data:`FREE_EVALUATIONS`): what the gap is worth.
FREE_EVALUATIONS = (16, 32, 64)
TRUE_MODEL_FREE = tuple(f"{TRUE_MODEL}-free{n}" for n in FREE_EVALUATIONS)
#: The L2 penalty of the true-model fit (of 2, the calibration's, and 20: the better when screened).
TRUE_MODEL_L2 = 20.0
#: Every engine the runner knows: evosnn's, then the diagnostics.
BENCH_ENGINES = (*ENGINES, ORACLE, ORACLE_ACCURACY, TRUE_MODEL, *TRUE_MODEL_FREE)


class _TruePredictor:
    """A predictor that looks the target up in the landscape (noise-free accuracy or log energy).

    ``resid_sd`` is the RMS difference between the seen outcomes it was made from and the truth
    (the binomial validation noise), the unit the surrogate engine's optimism is measured in.
    """

    def __init__(
        self, bench: Bench, noise_seed: int, target: str, X: np.ndarray, y: np.ndarray
    ) -> None:
        self.bench, self.noise_seed, self.target = bench, noise_seed, target
        self.kind = "oracle"
        self.taus: dict[str, float] = {}
        self.tau: float | None = 1.0
        truth = self.predict(X)
        self.resid_sd: float | None = float(np.sqrt(np.mean((np.asarray(y) - truth) ** 2)))

    def predict(self, X: np.ndarray) -> np.ndarray:
        codec = self.bench.codec
        outcomes = [
            self.bench.lookup(codec.canonical(tuple(int(v) for v in x)), self.noise_seed)
            for x in np.atleast_2d(np.asarray(X))
        ]
        column = [o[1] if self.target == "accuracy" else math.log(o[2]) for o in outcomes]
        return np.asarray(column, dtype=float)


class OraclePredictors:
    """Predictors of the ``told`` targets (both objectives, or only accuracy) that are the
    landscape itself (see the module doc); the engine fits its own for the others."""

    def __init__(self, bench: Bench, seed: int, told: tuple[str, ...]) -> None:
        self.bench, self.seed, self.told = bench, seed, told

    def __call__(
        self,
        target: str,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rng: np.random.Generator,
        info: dict[str, Any],
    ) -> _TruePredictor | None:
        if target not in self.told:
            return None
        return _TruePredictor(self.bench, self.seed, target, X, y)


def oracle_surrogate(
    codec: GenomeCodec,
    *,
    bench: Bench,
    population: int,
    seed: int,
    told: tuple[str, ...] = ("accuracy", "energy"),
) -> SurrogateEngine:
    """The surrogate engine with :class:`OraclePredictors`."""
    return SurrogateEngine(
        codec,
        population=population,
        seed=seed,
        predictors=OraclePredictors(bench, seed, told),
        name=ORACLE if len(told) == 2 else ORACLE_ACCURACY,
    )


class _LogisticPredictor:
    """The digits landscape's accuracy model class (:func:`~benchmarks.experiments.landscape.accuracy_design`,
    binomial logistic regression) fitted to seen accuracies of ``n_val`` images.

    ``tau`` and ``resid_sd`` are out-of-fold (5 shuffled folds), as the engine's own predictors'.
    """

    kind = "logistic"

    def __init__(
        self, codec: GenomeCodec, X: np.ndarray, y: np.ndarray, *, n_val: int, seed: int
    ) -> None:
        self.codec, self.n_val = codec, n_val
        self.taus: dict[str, float] = {}
        X, y = np.asarray(X, dtype=np.int64), np.asarray(y, dtype=float)
        self.tau: float | None = None
        self.resid_sd: float | None = None
        design = self._design(X)  # once: the folds slice it
        if len(y) >= 8:
            oof = np.zeros(len(y))
            folds = KFold(n_splits=5, shuffle=True, random_state=seed)
            for train, test in folds.split(X):
                oof[test] = expit(design[test] @ self._fit(design[train], y[train]))
            self.tau = kendall_tau(y, oof)
            self.resid_sd = float(np.sqrt(np.mean((y - oof) ** 2)))
        self.coef = self._fit(design, y)

    def _design(self, X: np.ndarray) -> np.ndarray:
        rows = [self.codec.canonical(tuple(int(v) for v in x)) for x in np.atleast_2d(X)]
        return accuracy_design(self.codec, np.array(rows, dtype=np.int64))

    def _fit(self, design: np.ndarray, y: np.ndarray) -> np.ndarray:
        total = np.full(len(y), float(self.n_val))
        return _fit_logistic(design, y * total, total, TRUE_MODEL_L2)

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(expit(self._design(X) @ self.coef))


class TrueModelPredictors:
    """An accuracy predictor of the digits landscape's own model class
    (:class:`_LogisticPredictor`), fitted to the outcomes the engine was told plus ``free`` random
    subnets' seen accuracies that cost no evaluation (a benchmark diagnostic, not an engine)."""

    def __init__(self, codec: GenomeCodec, *, bench: Bench, seed: int, free: int = 0) -> None:
        if not isinstance(bench, DigitsBench):
            raise ValueError(
                f"{TRUE_MODEL} needs the digits landscape: its model class is that landscape's "
                f"logistic design (got the {bench.name} landscape)"
            )
        self.codec, self.n_val = codec, bench.n_val
        keys = list(bench.table.row)
        rows = np.random.default_rng([seed, 99]).choice(len(keys), size=free, replace=False)
        self.free_X = np.array([keys[i] for i in rows], dtype=np.int64).reshape(-1, len(codec))
        self.free_y = np.array([bench.lookup(keys[i], seed)[0] for i in rows], dtype=float)

    def __call__(
        self,
        target: str,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rng: np.random.Generator,
        info: dict[str, Any],
    ) -> _LogisticPredictor | None:
        if target != "accuracy":
            return None
        predictor = _LogisticPredictor(
            self.codec,
            np.vstack([X, self.free_X]),
            np.r_[y, self.free_y],
            n_val=self.n_val,
            seed=int(rng.integers(2**31)),
        )
        info["accuracy_rmse"], info["accuracy_free"] = predictor.resid_sd, len(self.free_y)
        return predictor


def true_model_surrogate(
    codec: GenomeCodec, *, bench: Bench, population: int, seed: int, free: int = 0
) -> SurrogateEngine:
    """The surrogate engine with :class:`TrueModelPredictors`."""
    return SurrogateEngine(
        codec,
        population=population,
        seed=seed,
        predictors=TrueModelPredictors(codec, bench=bench, seed=seed, free=free),
        name=f"{TRUE_MODEL}-free{free}" if free else TRUE_MODEL,
    )


def _engine(name: str, bench: Bench, *, population: int, seed: int) -> Engine:
    if name == TRUE_MODEL or name in TRUE_MODEL_FREE:
        free = FREE_EVALUATIONS[TRUE_MODEL_FREE.index(name)] if name in TRUE_MODEL_FREE else 0
        return true_model_surrogate(
            bench.codec, bench=bench, population=population, seed=seed, free=free
        )
    if name in (ORACLE, ORACLE_ACCURACY):
        told = ("accuracy", "energy") if name == ORACLE else ("accuracy",)
        return oracle_surrogate(
            bench.codec, bench=bench, population=population, seed=seed, told=told
        )
    return make_engine(name, bench.codec, population=population, seed=seed)


# ================================================================================ runner
@dataclass
class RunResult:
    """One search on a landscape: the completed trials in trial order."""

    engine: str
    seed: int
    keys: list[Genome]
    seen: list[float]
    clean: list[float]
    energy: list[float]
    seconds: float
    stats: dict[str, Any] = field(default_factory=dict)
    taus: list[float] = field(default_factory=list)


def run_search(
    bench: Bench,
    engine_name: str,
    seed: int,
    budget: int,
    *,
    population: int = 16,
    window: int = 4,
    db_dir: str | Path | None = None,
) -> RunResult:
    """Drive ``engine_name`` through the real SearchLoop, InProcessExecutor and Ledger for
    ``budget`` completed evaluations; the executor looks genomes up in ``bench``."""
    codec = bench.codec
    engine = _engine(engine_name, bench, population=population, seed=seed)

    def evaluate(genome: Genome) -> Evaluation:
        seen, _, energy = bench.lookup(codec.canonical(genome), seed)
        return Evaluation(
            status="ok",
            accuracy=seen,
            energy_mj=energy,
            energy_mj_spikformer=energy,
            f_aeb=seen,
            sops=0.0,
            macs=0.0,
            correct=round(seen * bench.n_val),
            total=bench.n_val,
        )

    with tempfile.TemporaryDirectory(dir=db_dir) as tmp:
        url = f"sqlite:///{Path(tmp) / 'study.db'}"
        ledger = Ledger.open(
            url, f"{bench.name}-{engine_name}-{seed}-{uuid.uuid4().hex[:6]}", codec
        )
        started = time.perf_counter()
        loop = SearchLoop(
            engine, ledger, InProcessExecutor(evaluate), budget=budget, window=window, poll_s=0.0
        )
        loop.run()
        seconds = time.perf_counter() - started
        records = [r for r in ledger.records() if r.values is not None]
        ledger.storage.engine.dispose()
    keys = [codec.canonical(r.genome) for r in records]
    outcomes = [bench.lookup(k, seed) for k in keys]
    stats: dict[str, Any] = getattr(engine, "stats", dict)()
    taus = [
        float(d["accuracy_tau"])
        for d in getattr(engine, "diagnostics", list)()
        if d.get("accuracy_tau") is not None
    ]
    return RunResult(
        engine=engine_name,
        seed=seed,
        keys=keys,
        seen=[o[0] for o in outcomes],
        clean=[o[1] for o in outcomes],
        energy=[o[2] for o in outcomes],
        seconds=seconds,
        stats=stats,
        taus=taus,
    )


def score_run(
    result: RunResult, scorers: tuple[FrontScorer, FrontScorer], budgets: Sequence[int]
) -> dict[str, dict[str, float]]:
    """Per budget: HV, regret and IGD+ of the first ``budget`` trials, on the seen accuracies
    (against the seen front) and on the noise-free ones."""
    out: dict[str, dict[str, float]] = {}
    seen_scorer, clean_scorer = scorers
    for b in budgets:
        n = min(b, len(result.keys))
        e = np.asarray(result.energy[:n])
        s, c = np.asarray(result.seen[:n]), np.asarray(result.clean[:n])
        out[str(b)] = {
            "n": n,
            "hv_seen": seen_scorer.hypervolume(s, e),
            "hv_clean": clean_scorer.hypervolume(c, e),
            "regret_seen": seen_scorer.regret(s, e),
            "regret_clean": clean_scorer.regret(c, e),
            "igd_seen": seen_scorer.igd_plus(s, e),
            "igd_clean": clean_scorer.igd_plus(c, e),
        }
    return out


# ================================================================================ statistics
def _mwu_less(x: Sequence[float], y: Sequence[float]) -> float:
    """One-sided Mann-Whitney U p-value that ``x`` tends to be smaller than ``y``."""
    from scipy.stats import mannwhitneyu

    if len(set(x) | set(y)) == 1:
        return 1.0
    return float(mannwhitneyu(x, y, alternative="less").pvalue)


def _ms(values: Sequence[float]) -> str:
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):.4f} ± {sd:.4f}"


def summarise(
    scores: dict[str, list[dict[str, dict[str, float]]]], budget: int
) -> list[dict[str, Any]]:
    """One row per engine at ``budget``: means, sds, ratios to random and p-values."""
    rows = []
    base = scores.get("random")
    for name, runs in scores.items():
        row: dict[str, Any] = {"engine": name, "budget": budget, "seeds": len(runs)}
        for metric in ("regret_seen", "regret_clean", "igd_seen", "igd_clean"):
            vals = [r[str(budget)][metric] for r in runs]
            row[metric] = vals
            if base is not None:
                ref = [r[str(budget)][metric] for r in base]
                row[f"{metric}_ratio"] = statistics.mean(vals) / statistics.mean(ref)
                row[f"{metric}_p"] = _mwu_less(vals, ref) if name != "random" else math.nan
        rows.append(row)
    return rows


def markdown(rows: list[dict[str, Any]], title: str) -> str:
    """A markdown table of :func:`summarise`'s rows."""
    lines = [
        f"**{title}**",
        "",
        "| engine | regret seen (mean ± sd) | vs random | p | regret noise-free | vs random | p "
        "| IGD+ seen | IGD+ noise-free |",
        "|---|---|---|---|---|---|---|---|---|",
    ]

    def cell(r: dict[str, Any], key: str, spec: str) -> str:
        # no random runs among the files (or random's own row): no ratio, no p-value
        value = r.get(key)
        return "-" if value is None or math.isnan(value) else format(value, spec)

    for r in rows:
        lines.append(
            f"| {r['engine']} | {_ms(r['regret_seen'])} | {cell(r, 'regret_seen_ratio', '.2f')} "
            f"| {cell(r, 'regret_seen_p', '.2g')} | {_ms(r['regret_clean'])} "
            f"| {cell(r, 'regret_clean_ratio', '.2f')} | {cell(r, 'regret_clean_p', '.2g')} "
            f"| {_ms(r['igd_seen'])} | {_ms(r['igd_clean'])} |"
        )
    return "\n".join(lines)


def random_budget_to_match(
    scores: dict[str, list[dict[str, dict[str, float]]]],
    engine: str,
    *,
    at: int,
    metric: str,
    curve: Sequence[int],
) -> int | None:
    """The smallest budget on ``curve`` at which random search's mean ``metric`` (an HV) reaches
    ``engine``'s mean at ``at`` evaluations; None if it never does within the curve."""
    target = statistics.mean(r[str(at)][metric] for r in scores[engine])
    for b in curve:
        if statistics.mean(r[str(b)][metric] for r in scores["random"]) >= target:
            return b
    return None


# ================================================================================ calibration
def _evaluate_halves(checkpoint: Path, n_subnets: int, seed: int) -> list[dict[str, Any]]:
    """Evaluate ``n_subnets`` depth-stratified subnets on both halves of the validation split."""
    import torch

    from evosnn.core.evaluation import EvalSettings
    from evosnn.data.loading import load_splits
    from evosnn.evaluate.evaluator import Evaluator
    from supernet.batches import Split

    space = load_space(DIGITS_SPACE)
    codec = GenomeCodec(space)
    settings = EvalSettings()
    splits = load_splits(space.dataset)
    val = splits.val
    perm = torch.randperm(len(val), generator=torch.Generator().manual_seed(1234))
    halves = [perm[: len(val) // 2], perm[len(val) // 2 :]]
    evaluators = [
        Evaluator(
            checkpoint,
            space,
            settings=settings,
            splits=dataclasses.replace(splits, val=Split(val.images[h], val.labels[h])),
            energy_target_mj=1.0,
        )
        for h in halves
    ]
    rng = np.random.default_rng(seed)
    upper = codec.bounds()[1]
    genomes: list[Genome] = []
    seen: set[Genome] = set()
    while len(genomes) < n_subnets:  # stratified: every depth equally often
        depth_index = len(genomes) % len(space.choices.depth)
        g = [depth_index] + [int(rng.integers(0, u + 1)) for u in upper[1:]]
        key = codec.canonical(g)
        if key not in seen:
            seen.add(key)
            genomes.append(key)
    out = []
    started = time.perf_counter()
    for k, key in enumerate(genomes):
        config = codec.decode(key)
        ev = [e.evaluate(config) for e in evaluators]
        rates = {
            name: statistics.mean(x.firing_rates[name] for x in ev) for name in ev[0].firing_rates
        }
        out.append(
            {
                "genome": list(key),
                "correct": [x.correct for x in ev],
                "total": [x.total for x in ev],
                "energy_mj": statistics.mean(x.energy_mj for x in ev),
                "rates": rates,
            }
        )
        if (k + 1) % 25 == 0:
            log.info(
                "calibration: %d/%d subnets, %.0f s",
                k + 1,
                len(genomes),
                time.perf_counter() - started,
            )
    return out


def _fit_logistic(x: np.ndarray, correct: np.ndarray, total: np.ndarray, l2: float) -> np.ndarray:
    """Binomial logistic regression with an L2 penalty (intercept unpenalised)."""
    from scipy.optimize import minimize

    pen = np.full(x.shape[1], l2)
    pen[0] = 0.0

    def loss(beta: np.ndarray) -> tuple[float, np.ndarray]:
        eta = x @ beta
        nll = np.sum(total * np.logaddexp(0.0, eta) - correct * eta)
        p = 1.0 / (1.0 + np.exp(-eta))
        grad = x.T @ (total * p - correct)
        return float(nll + 0.5 * np.sum(pen * beta**2)), grad + pen * beta

    start = np.zeros(x.shape[1])
    start[0] = math.log((correct.sum() + 0.5) / (total.sum() - correct.sum() + 0.5))
    res = minimize(loss, start, jac=True, method="L-BFGS-B")
    return np.asarray(res.x)


def fit_calibration(
    evals: list[dict[str, Any]], *, l2: float = 2.0, folds: int = 10
) -> Calibration:
    """Fit the accuracy and rate models to the half-split evaluations and measure the noise."""
    from scipy.stats import pearsonr, spearmanr

    space = load_space(DIGITS_SPACE)
    codec = GenomeCodec(space)
    genomes = np.array([e["genome"] for e in evals])
    ca = np.array([e["correct"][0] for e in evals], dtype=float)
    cb = np.array([e["correct"][1] for e in evals], dtype=float)
    na = np.array([e["total"][0] for e in evals], dtype=float)
    nb = np.array([e["total"][1] for e in evals], dtype=float)
    n_val = int(na[0] + nb[0])
    acc_a, acc_b, acc = ca / na, cb / nb, (ca + cb) / (na + nb)
    # split-half reliability of the accuracy across subnets (Spearman-Brown to the full split)
    r_half = float(pearsonr(acc_a, acc_b)[0])
    reliability = 2 * r_half / (1 + r_half)
    # the accuracy model, cross-fitted so that residuals are out of sample
    x = accuracy_design(codec, genomes)
    fold = np.arange(len(evals)) % folds
    pred_logit = np.zeros(len(evals))
    for f in range(folds):
        train = fold != f
        beta = _fit_logistic(x[train], (ca + cb)[train], (na + nb)[train], l2)
        pred_logit[~train] = x[~train] @ beta
    pred = 1.0 / (1.0 + np.exp(-pred_logit))
    res_a, res_b = acc_a - pred, acc_b - pred
    res_cov = float(np.cov(res_a, res_b)[0, 1])
    r_res = float(pearsonr(res_a, res_b)[0])
    res_rel = 2 * r_res / (1 + r_res) if r_res > -1 else 0.0
    slope = pred * (1 - pred)
    residual_sd_logit = math.sqrt(max(res_cov, 0.0)) / float(np.mean(slope))
    binom_var = float(np.mean(acc * (1 - acc) / n_val))
    cv_r2 = 1 - float(np.mean((acc - pred) ** 2)) / float(np.var(acc))
    beta_full = _fit_logistic(x, ca + cb, na + nb, l2)
    # the rate model: log rate ~ features, one least-squares fit per layer kind
    coef: dict[str, list[float]] = {}
    rate_r2: dict[str, float] = {}
    kinds = [*SPS_KINDS, *BLOCK_KINDS]
    for kind in kinds:
        xs, ys = [], []
        for e in evals:
            config = codec.decode(e["genome"])
            glob: dict[str, float] = {
                "time_steps": config.time_steps,
                "embed_dim": config.embed_dim,
            }
            blocks = [0] if kind in SPS_KINDS else list(range(config.depth))
            for i in blocks:
                name = kind if kind in SPS_KINDS else f"blocks.{i}.{kind}"
                values = dict(glob)
                if kind not in SPS_KINDS:
                    values.update(
                        mlp_ratio=config.mlp_ratio[i],
                        num_heads=config.num_heads[i],
                        threshold=config.threshold[i],
                        tau=config.tau[i],
                    )
                xs.append(rate_features(kind, values, i))
                ys.append(math.log(max(float(e["rates"][name]), 1e-4)))
        xm, ym = np.array(xs), np.array(ys)
        b, *_ = np.linalg.lstsq(xm, ym, rcond=None)
        coef[kind] = [float(v) for v in b]
        rate_r2[kind] = 1 - float(np.var(ym - xm @ b)) / float(np.var(ym))
    rates = RateModel(coef)
    from benchmarks.experiments.landscape import _energy
    from evosnn.objectives.energy import EnergyModel

    model = EnergyModel.for_space(space)
    e_pred = np.array(
        [
            _energy(
                codec, codec.decode(e["genome"]), rates.rates(codec.decode(e["genome"])), model
            )[0]
            for e in evals
        ]
    )
    e_meas = np.array([e["energy_mj"] for e in evals])
    log_r2 = 1 - float(np.var(np.log(e_meas) - np.log(e_pred))) / float(np.var(np.log(e_meas)))
    figures = {
        "subnets": len(evals),
        "n_val": n_val,
        "mean_accuracy": float(np.mean(acc)),
        "sd_accuracy": float(np.std(acc, ddof=1)),
        "binomial_sd_mean": math.sqrt(binom_var),
        "split_half_r": r_half,
        "reliability_spearman_brown": reliability,
        "noise_share": 1 - reliability,
        "noise_share_binomial": binom_var / float(np.var(acc, ddof=1)),
        # the validation size at which independent binomial noise would leave the measured
        # split-half noise share (the images' difficulty is shared by all subnets, so the noise
        # that reorders subnets is smaller than independent binomial noise of n_val images)
        "effective_n_val": float(np.mean(acc * (1 - acc)))
        / max((1 - reliability) * float(np.var(acc, ddof=1)), 1e-12),
        "accuracy_cv_r2": cv_r2,
        "accuracy_cv_spearman": float(spearmanr(pred, acc)[0]),
        "residual_split_half_r": r_res,
        "residual_reliability": res_rel,
        "residual_noise_share": 1 - max(res_rel, 0.0),
        "residual_true_sd_acc": math.sqrt(max(res_cov, 0.0)),
        "residual_sd_logit": residual_sd_logit,
        "rate_r2": rate_r2,
        "log_energy_r2": log_r2,
        "energy_spearman": float(spearmanr(e_pred, e_meas)[0]),
        "l2": l2,
    }
    return Calibration(
        space=space.name,
        n_val=n_val,
        accuracy=AccuracyModel(coef=[float(v) for v in beta_full], residual_sd=residual_sd_logit),
        rates=rates,
        figures=figures,
    )


# ================================================================================ CLI
def _calibrate(args: argparse.Namespace) -> None:
    cache = Path(args.cache)
    if cache.exists() and not args.refresh:
        evals = json.loads(cache.read_text())
        log.info("calibration: %d cached evaluations from %s", len(evals), cache)
    else:
        started = time.perf_counter()
        evals = _evaluate_halves(Path(args.supernet), args.subnets, args.seed)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps(evals))
        log.info("calibration: %d evaluations in %.0f s", len(evals), time.perf_counter() - started)
    calibration = fit_calibration(evals)
    Path(args.out).write_text(json.dumps(calibration.to_dict(), indent=1) + "\n")
    print(json.dumps(calibration.figures, indent=1))


def _run(args: argparse.Namespace) -> None:
    """Run the engines seed by seed (all engines for a seed, then the next seed), writing the raw
    numbers after every seed so that a run cut short still leaves complete seeds behind."""
    started = time.perf_counter()
    calibration = load_calibration(Path(args.calibration))
    bench: DigitsBench | CifarBench = (
        digits_bench(calibration, n_val=args.n_val)
        if args.landscape == "digits"
        else cifar_bench(calibration, n_val=args.n_val)
    )
    log.info(
        "%s landscape built in %.1f s; HV* %.4f, %d front points",
        bench.name,
        time.perf_counter() - started,
        bench.clean.best,
        len(bench.clean.front),
    )
    budgets = sorted(args.budgets)
    top = max(budgets)
    points = sorted(set(budgets) | set(range(args.step, top + 1, args.step)))
    raw: dict[str, list[dict[str, Any]]] = {name: [] for name in args.engines}
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"landscape_{bench.name}_{args.tag}.json"
    for seed in range(args.first_seed, args.first_seed + args.seeds):
        for name in args.engines:
            result = run_search(
                bench,
                name,
                seed,
                top,
                population=args.population,
                window=args.window,
                db_dir=args.db_dir,
            )
            scores = score_run(result, bench.scorers(seed), points)
            raw[name].append(
                {
                    "seed": seed,
                    "seconds": result.seconds,
                    "evaluated": len(result.keys),
                    "stats": result.stats,
                    "accuracy_tau": result.taus,
                    "scores": scores,
                }
            )
            log.info(
                "%s %s seed %d: %d evaluations in %.1f s; regret@%d seen %.4f noise-free %.4f",
                bench.name,
                name,
                seed,
                len(result.keys),
                result.seconds,
                top,
                scores[str(top)]["regret_seen"],
                scores[str(top)]["regret_clean"],
            )
        document = {
            "landscape": bench.name,
            "n_val": bench.n_val,
            "subnets": bench.size,
            "hv_star_clean": bench.clean.best,
            "reference": list(bench.clean.reference),
            "front_size": len(bench.clean.front),
            "population": args.population,
            "window": args.window,
            "budgets": budgets,
            "runs": raw,
            "calibration": calibration.figures,
            "wall_s": time.perf_counter() - started,
        }
        write_json(path, document)
    print(report([path], default=SearchSettings().engine))


def report(paths: Sequence[Path], *, default: str) -> str:
    """Markdown tables (one per budget) of the merged result files, plus the headline: the budget
    at which random search reaches the default engine's hypervolume at 128 evaluations."""
    docs = [json.loads(Path(p).read_text()) for p in paths]
    runs: dict[str, dict[int, dict[str, Any]]] = {}
    for path, doc in zip(paths, docs, strict=True):
        for name, rs in doc["runs"].items():
            for r in rs:
                seen = runs.setdefault(name, {})
                # files may overlap; a seed counts once, and only if its reruns agree (engines are
                # reproducible, so a difference means different code or settings)
                if int(r["seed"]) in seen and seen[int(r["seed"])]["scores"] != r["scores"]:
                    raise SystemExit(
                        f"{path}: {name} seed {r['seed']} differs from an earlier file"
                    )
                seen[int(r["seed"])] = r
    first = docs[0]
    order = [e for e in BENCH_ENGINES if e in runs]
    scores = {name: [runs[name][s]["scores"] for s in sorted(runs[name])] for name in order}
    parts = []
    for b in sorted({int(b) for doc in docs for b in doc["budgets"]}):
        # files may hold different budgets (e.g. a run at 128 only): each table has the engines
        # scored at its budget on every seed
        at_b = {name: rs for name, rs in scores.items() if all(str(b) in r for r in rs)}
        rows = summarise(at_b, b)
        seeds = sorted({len(v) for v in at_b.values()})
        parts.append(
            markdown(
                rows,
                f"{first['landscape']} landscape ({first['subnets']:.3g} subnets), {b} evaluations, "
                f"seeds {'/'.join(map(str, seeds))}, population {first['population']}, "
                f"window {first['window']}",
            )
        )
    lines = []
    if "random" in scores:
        curve = sorted(int(k) for k in scores["random"][0])
        for name in [default, *(e for e in order if e not in ("random", default))]:
            if name not in scores or "128" not in scores[name][0]:
                continue
            hits = [
                random_budget_to_match(scores, name, at=128, metric=metric, curve=curve)
                for metric in ("hv_seen", "hv_clean")
            ]
            shown = [str(h) if h is not None else f"more than {curve[-1]}" for h in hits]
            lines.append(
                f"- random search reaches {name}{' (default)' if name == default else ''}'s mean "
                f"hypervolume at 128 evaluations after {shown[0]} evaluations (seen accuracies), "
                f"{shown[1]} (noise-free)"
            )
    lines.append(
        "- mean wall seconds per run (SearchLoop + SQLite ledger, the run's largest budget): "
        + ", ".join(
            f"{name} {statistics.mean(r['seconds'] for r in runs[name].values()):.1f}"
            for name in order
        )
    )
    for name in order:
        stats = [r["stats"] for r in runs[name].values() if r["stats"]]
        taus = [t for r in runs[name].values() for t in r["accuracy_tau"]]
        if stats:
            keys = sorted(stats[0])
            mean = ", ".join(f"{k} {statistics.mean(s.get(k, 0) for s in stats):.1f}" for k in keys)
            lines.append(f"- {name} stats (mean per run): {mean}")
        if taus:
            lines.append(
                f"- {name} predictor held-out Kendall tau: mean {statistics.mean(taus):.2f}"
            )
    return "\n\n".join(parts) + "\n\n" + "\n".join(lines) + "\n"


def _luck(args: argparse.Namespace) -> None:
    """The digits landscape's front of the *seen* accuracies, which the seen regret is measured
    against: per noise seed its size and how far its points' seen accuracy lies above their true
    one. Points there are lucky draws among thousands of near-equal subnets, which no predictor
    of accuracy from genes can foresee."""
    table = digits_bench(load_calibration(Path(args.calibration))).table
    sizes, luck = [], []
    for seed in range(args.seeds):
        seen = table.seen(seed)
        rows = pareto_indices(seen, table.energy)
        sizes.append(len(rows))
        luck.append(float(np.mean(seen[rows] - table.accuracy[rows])))
    print(
        f"front of the seen accuracies over {args.seeds} noise seeds: "
        f"{statistics.fmean(sizes):.1f} points ({min(sizes)}-{max(sizes)}), "
        f"seen minus true accuracy {100 * statistics.fmean(luck):.1f} ± "
        f"{100 * statistics.stdev(luck):.1f} points"
    )


def _report(args: argparse.Namespace) -> None:
    text = report([Path(p) for p in args.results], default=args.default)
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    cal = sub.add_parser("calibrate", help="evaluate subnets of a trained supernet, fit the models")
    cal.add_argument("--supernet", required=True)
    cal.add_argument("--subnets", type=int, default=300)
    cal.add_argument("--seed", type=int, default=0)
    cal.add_argument("--cache", default="runs/landscape/calibration_evals.json")
    cal.add_argument("--refresh", action="store_true")
    cal.add_argument("--out", default=str(CALIBRATION))
    run = sub.add_parser("run", help="engines against random search on a landscape")
    run.add_argument("--landscape", choices=("digits", "cifar"), default="digits")
    run.add_argument("--calibration", default=str(CALIBRATION))
    run.add_argument("--seeds", type=int, default=20)
    run.add_argument("--budgets", type=int, nargs="+", default=[128, 512])
    run.add_argument("--first-seed", type=int, default=0)
    run.add_argument(
        "--n-val",
        type=int,
        help="validation images of the seen accuracy's binomial noise (default: digits 216, "
        "cifar 5000)",
    )
    run.add_argument("--tag", default="all")
    run.add_argument("--step", type=int, default=16)
    run.add_argument("--population", type=int, default=16)
    run.add_argument("--window", type=int, default=4)
    run.add_argument(
        "--engines",
        nargs="+",
        default=list(ENGINES),
        choices=BENCH_ENGINES,
        help=f"engines to run (default: evosnn's; {ORACLE}: the surrogate with true predictors, "
        f"{ORACLE_ACCURACY}: with the true accuracy only, {TRUE_MODEL}: with the digits "
        f"landscape's own accuracy model class fitted, {TRUE_MODEL}-freeN: the same given N "
        f"free random evaluations)",
    )
    run.add_argument("--db-dir", default="/dev/shm" if Path("/dev/shm").is_dir() else None)
    run.add_argument("--out", default="runs/landscape")
    luck = sub.add_parser("luck", help="the digits landscape's front of the seen accuracies")
    luck.add_argument("--calibration", default=str(CALIBRATION))
    luck.add_argument("--seeds", type=int, default=20)
    rep = sub.add_parser("report", help="tables of merged result files")
    rep.add_argument("results", nargs="+")
    rep.add_argument("--default", default=SearchSettings().engine, help="the default engine")
    rep.add_argument("--markdown", help="also write the tables here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    commands: dict[str, Callable[[argparse.Namespace], None]] = {
        "calibrate": _calibrate,
        "run": _run,
        "luck": _luck,
        "report": _report,
    }
    commands[args.command](args)


if __name__ == "__main__":
    main()
