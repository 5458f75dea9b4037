"""Every engine on an additive landscape computed from the genes (no network): new subnets only,
reproducible, counts exposed; the surrogate engine's predictors and search beat random."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, TypedDict

import numpy as np
import pytest

from evosnn.core.constraints import param_violation
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.engines import ENGINES, Engine, Outcome, make_engine
from evosnn.engines.predictors import MODEL_KINDS, GeneFeatures, fit_predictor, kendall_tau
from evosnn.engines.surrogate_engine import Predictor, SurrogateEngine, SurrogateSettings
from evosnn.objectives.front import hypervolume
from tests.conftest import SPACES, tiny_dict

CODEC = GenomeCodec(load_space(SPACES / "digits-tiny.yaml"))
UPPER = np.array(CODEC.bounds()[1])
WEIGHTS = np.random.default_rng(42).uniform(0.5, 1.5, size=len(UPPER))


class _Light(TypedDict):
    """Surrogate settings (some of :class:`SurrogateSettings`' fields) that keep a test quick."""

    models: tuple[str, ...]
    cv_folds: int
    inner_population: int
    inner_generations: int


#: Cheaper surrogate settings for the tests that only check its rules (the defaults run elsewhere).
LIGHT: _Light = {
    "models": ("ridge", "forest"),
    "cv_folds": 3,
    "inner_population": 32,
    "inner_generations": 8,
}


def additive(genome: Genome) -> Outcome:
    """Accuracy: weighted sum of normalised active indices; energy: product of (1 + index)."""
    x = np.array(CODEC.canonical(genome)) / UPPER
    active = GeneFeatures(CODEC).active(np.array([genome]))[0]
    accuracy = float((WEIGHTS * x)[active].sum() / WEIGHTS.sum())
    energy = float(np.prod(1 + x[active]))
    return Outcome(accuracy, energy)


def drive(
    engine: Engine, objective: Callable[[Genome], Outcome], asks: int, window: int = 4
) -> list[Genome]:
    """In-order ask/tell with ``window`` outcomes outstanding; returns the asked genomes."""
    asked: list[Genome] = []
    pending: deque[Genome] = deque()
    while len(asked) < asks:
        genome = engine.ask() if len(pending) < window else None
        if genome is None:
            done = pending.popleft()
            engine.tell(done, objective(done))
            continue
        asked.append(genome)
        pending.append(genome)
    return asked


def surrogate_engine(
    codec: GenomeCodec, *, population: int, seed: int, **options: Any
) -> SurrogateEngine:
    """The surrogate engine as :func:`make_engine` builds it (its diagnostics are its own)."""
    engine = make_engine("surrogate", codec, population=population, seed=seed, **options)
    assert isinstance(engine, SurrogateEngine)
    return engine


def log_hv(genomes: list[Genome]) -> float:
    """Hypervolume in (accuracy, log energy), reference log energy 8."""
    points = [(o.accuracy, math.log(o.energy_mj)) for o in map(additive, genomes)]
    return hypervolume([(a, e + 1.0) for a, e in points], ref_energy=9.0)


@pytest.mark.parametrize("name", list(ENGINES))
def test_no_engine_proposes_a_subnet_twice(name: str) -> None:
    keys = [
        CODEC.canonical(g)
        for g in drive(make_engine(name, CODEC, population=8, seed=0), additive, 96)
    ]
    assert len(set(keys)) == len(keys)


@pytest.mark.parametrize("name", ["pymoo", "deap", "optuna"])
def test_the_evolutionary_engines_count_what_their_operators_did(name: str) -> None:
    engine = make_engine(name, CODEC, population=8, seed=1)
    drive(engine, additive, 96)
    stats = engine.stats()  # type: ignore[attr-defined]
    assert stats["proposed"] == 96
    assert stats["mutated_genes"] > 0 and stats["fresh"] >= 0
    if name == "optuna":  # the sampler re-proposes; the engine answers with re-mutations
        assert stats["re_proposals"] > 0 and stats["re_mutations"] >= stats["re_proposals"]
    settings = engine.settings()
    assert settings["seed"] == 1 and settings["population"] == 8 and settings["extremes"] is True


def test_engines_start_with_the_extreme_subnets() -> None:
    small, large = (0,) * 11, tuple(int(u) for u in UPPER)
    for name in ("pymoo", "deap", "optuna", "surrogate"):
        engine = make_engine(name, CODEC, population=8, seed=0)
        assert [engine.ask(), engine.ask()] == [small, large], name


def test_the_surrogate_engine_is_reproducible_and_reports_its_predictors() -> None:
    def run(seed: int) -> tuple[list[Genome], list[dict[str, Any]]]:
        engine = surrogate_engine(CODEC, population=8, seed=seed, **LIGHT)
        asked = drive(engine, additive, 40)
        return asked, engine.diagnostics()

    first, diagnostics = run(3)
    assert run(3) == (first, diagnostics)
    assert run(4)[0] != first
    assert [d["generation"] for d in diagnostics] == [0, 1, 2, 3, 4]
    for d in diagnostics[1:]:
        assert d["accuracy_model"] in LIGHT["models"] and d["energy_model"] in MODEL_KINDS
        assert isinstance(d["accuracy_tau"], float) and isinstance(d["energy_tau"], float)
        assert d["exploit"] + d["explore_front"] + d["explore_uniform"] == 8
    assert diagnostics[2]["realised_accuracy_tau"] is not None


def test_failed_and_infeasible_outcomes_do_not_train_the_predictors() -> None:
    def objective(genome: Genome) -> Outcome:
        key = CODEC.canonical(genome)
        if sum(key) % 3 == 0:
            return Outcome.failed()
        if sum(key) % 3 == 1 and key[1] == 2:
            return Outcome(0.99, 1.0, violation=0.5)  # infeasible: would look excellent
        return additive(genome)

    engine = surrogate_engine(CODEC, population=8, seed=0, **LIGHT)
    asked = drive(engine, objective, 48)
    usable = [objective(g).feasible for g in asked[:40]]
    trained = [d["trained_on"] for d in engine.diagnostics()]
    assert trained[1:] == [sum(usable[: 8 * g]) for g in range(1, len(trained))]
    assert len({CODEC.canonical(g) for g in asked}) == len(asked)


def test_the_predictor_ranks_an_additive_landscape_far_better_than_chance() -> None:
    rng = np.random.default_rng(0)
    X = rng.integers(UPPER + 1, size=(700, len(UPPER)))
    outcomes = [additive(tuple(int(v) for v in x)) for x in X]
    acc = np.array([o.accuracy for o in outcomes])
    log_e = np.log([o.energy_mj for o in outcomes])
    features = GeneFeatures(CODEC)
    for y in (acc, log_e):
        fitted = fit_predictor(features, X[:100], y[:100], seed=0)
        assert fitted.tau is not None and fitted.tau > 0.5  # cross-validated
        assert kendall_tau(y[100:], fitted.predict(X[100:])) > 0.5  # held out


@pytest.mark.slow  # over 10 s on 2 cores (2026-12-08, --durations)
def test_the_surrogate_engine_beats_random_search_at_the_same_budget() -> None:
    surrogate: list[float] = []
    random: list[float] = []
    for seed in range(3):
        for name, out in (("surrogate", surrogate), ("random", random)):
            engine = make_engine(name, CODEC, population=16, seed=seed)
            out.append(log_hv(drive(engine, additive, 64)))
    assert np.mean(surrogate) > np.mean(random)
    assert sum(s > r for s, r in zip(surrogate, random, strict=True)) >= 2


def test_the_surrogate_engine_exhausts_a_small_space_without_repeating() -> None:
    codec = GenomeCodec(SearchSpace.from_dict(tiny_dict()))  # 1,088 subnets
    engine = make_engine("surrogate", codec, population=4, seed=0, **LIGHT)

    def objective(genome: Genome) -> Outcome:
        x = np.array(codec.canonical(genome))
        return Outcome(float(x.sum()) / 11, float(1 + x.sum()))

    keys = [codec.canonical(g) for g in drive(engine, objective, 40)]
    assert len(set(keys)) == len(keys)


def test_the_surrogate_engine_keeps_to_the_parameter_limits() -> None:
    data = tiny_dict()
    data["objectives"] = {"max_params_m": 0.0075}  # depth 1, width 16 fit; the largest do not
    codec = GenomeCodec(SearchSpace.from_dict(data))

    def violation(genome: Genome) -> float:
        return param_violation(codec.decode(genome), codec.space)[0]

    def objective(genome: Genome) -> Outcome:
        x = np.array(codec.canonical(genome))
        return Outcome(float(x.sum()) / 11, float(1 + x.sum()), violation=violation(genome))

    engine = surrogate_engine(codec, population=4, seed=0, explore=0.0, **LIGHT)
    asked = drive(engine, objective, 40)
    assert any(violation(g) > 0 for g in asked[:4])  # generation 0 is random
    searched = [
        asked[4 * d["generation"] : 4 * d["generation"] + 4]
        for d in engine.diagnostics()
        if "candidates" in d and d["explore_uniform"] == 0
    ]
    assert len(searched) >= 3  # generations planned from the predictors' search
    assert all(violation(g) == 0 for generation in searched for g in generation)


@pytest.mark.parametrize("name", ["pymoo", "deap", "optuna", "surrogate"])
def test_an_injected_random_source_replaces_the_seeded_one(name: str) -> None:
    """Engines take their random source as a constructor parameter: the default stream passed in
    explicitly asks the same genomes, another stream asks others (Optuna's own sampler is seeded
    by ``seed``; its random source only re-mutates the sampler's re-proposals)."""
    options: Mapping[str, object] = LIGHT if name == "surrogate" else {}
    stream = {"pymoo": [3, 1], "deap": [3], "optuna": [3, 2], "surrogate": [3, 3]}[name]
    default = drive(make_engine(name, CODEC, population=8, seed=3, **options), additive, 24)
    same = make_engine(
        name, CODEC, population=8, seed=3, rng=np.random.default_rng(stream), **options
    )
    other = make_engine(
        name, CODEC, population=8, seed=3, rng=np.random.default_rng([99]), **options
    )
    assert drive(same, additive, 24) == default
    assert (drive(other, additive, 24) != default) == (name != "optuna")


def test_an_injected_predictor_factory_is_used_and_none_defers_to_the_engine() -> None:
    """The surrogate engine takes its predictors from a factory (what benchmarks vary); a factory
    answering None leaves the engine's own model choice, and its search, unchanged."""
    calls: list[str] = []

    class Exact:
        kind: str = "exact"
        tau: float | None = 1.0
        resid_sd: float | None = 0.0

        def predict(self, X: np.ndarray) -> np.ndarray:
            return np.array([additive(tuple(int(v) for v in x)).accuracy for x in X])

    def exact_accuracy(
        target: str,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rng: np.random.Generator,
        info: dict[str, Any],
    ) -> Predictor | None:
        calls.append(target)
        return Exact() if target == "accuracy" else None

    def defer(
        target: str,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rng: np.random.Generator,
        info: dict[str, Any],
    ) -> Predictor | None:
        return None

    light = SurrogateSettings(**LIGHT)
    plain = drive(SurrogateEngine(CODEC, population=8, seed=5, settings=light), additive, 32)
    deferred = SurrogateEngine(CODEC, population=8, seed=5, predictors=defer, settings=light)
    assert drive(deferred, additive, 32) == plain
    engine = SurrogateEngine(
        CODEC, population=8, seed=5, predictors=exact_accuracy, name="exact", settings=light
    )
    drive(engine, additive, 32)
    assert engine.name == "exact" and calls and set(calls) == {"accuracy", "energy"}
    assert {d["accuracy_model"] for d in engine.diagnostics() if "accuracy_model" in d} == {"exact"}
    assert {d["energy_model"] for d in engine.diagnostics() if "energy_model" in d} <= set(
        MODEL_KINDS
    )
