"""Predictor-assisted NSGA-II (the NSGANetV2 idea): spend real evaluations where predictors promise
the most hypervolume.

Per generation of ``population`` real evaluations:

1. Generation 0 is the two extreme subnets plus new uniformly random genomes (depth uniform).
2. Later generations first fit predictors of accuracy and of log-energy on every outcome told so
   far that is feasible and not failed (infeasible and failed outcomes say nothing about the
   objectives; they stay in the proposed set so they are never proposed again). Each target gets
   the model kind with the best cross-validated Kendall tau (:mod:`evosnn.engines.predictors`).
3. An in-memory pymoo NSGA-II (index operators, ``inner_generations`` x ``inner_population``
   predictions: milliseconds per generation) searches the predictors, starting from the real
   archive's best genomes; every genome it visits whose subnet is new is a candidate. The space's
   parameter limits (exact, analytic) are its constraint.
4. ``round((1 - explore) * population)`` candidates are chosen greedily by hypervolume gain in
   ``(-accuracy, log energy)``, the rest (and any exploit slot no candidate gains on) are
   exploratory: random picks from the candidates' predicted front, then new uniform random genomes.
   The gain compares like with like under validation noise. A seen accuracy above its own
   prediction is partly luck, so each evaluated subnet counts at the lower of the two; a candidate
   counts at its prediction plus ``optimism`` times the predictor's out-of-fold RMS error (how far
   its evaluation may land above the prediction). Against the raw seen front almost no prediction
   gains anything: on the digits landscape 12 % of the slots were filled by gain, the rest at
   random (now 73 %), and the regret was 0.74x random search's at 128 evaluations and 0.60x at 512
   (11 seeds; now 0.67x and 0.44x over 20 seeds, ``benchmarks/results/digits_report.md``).

The engine waits (``ask`` answers None) once a generation is out, until its outcomes are told, and
never proposes a subnet twice. Its behaviour is a pure function of its seed and its ask/tell
sequence. :meth:`SurrogateEngine.diagnostics` lists per generation the chosen model kinds and their
held-out Kendall tau.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.problem import Problem
from pymoo.optimize import minimize

from evosnn.core.constraints import param_violation
from evosnn.core.errors import SettingError
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.validation import COUNT, Real, Whole, check_fields, setting
from evosnn.engines.base import FAILED_ENERGY, EvolutionaryEngine, Outcome
from evosnn.engines.operators import GeneOperators
from evosnn.engines.predictors import (
    MODEL_KINDS,
    FittedPredictor,
    GeneFeatures,
    fit_predictor,
    kendall_tau,
)
from evosnn.engines.pymoo_operators import ActiveMutation, IndexCrossover
from evosnn.objectives.front import greedy_hv, non_dominated_fronts

__all__ = ["Predictor", "PredictorFactory", "SurrogateEngine", "SurrogateSettings"]


class Predictor(Protocol):
    """What the engine needs of a fitted predictor."""

    kind: str
    #: Out-of-fold Kendall tau (None: not validated).
    tau: float | None
    #: Out-of-fold RMS error (the unit of the engine's ``optimism``; None: not validated).
    resid_sd: float | None

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Predictions for genomes ``X`` (``[n, genes]`` choice indices)."""
        ...


class PredictorFactory(Protocol):
    """Supplies the predictor of one target (``"accuracy"`` or ``"energy"``, log mJ), or None to
    let the engine choose among its own model kinds. Benchmarks inject one (e.g. the landscape's
    true model); ``rng`` is the engine's random source, ``info`` its diagnostics entry, which the
    factory may annotate."""

    def __call__(
        self,
        target: str,
        X: np.ndarray,
        y: np.ndarray,
        *,
        rng: np.random.Generator,
        info: dict[str, Any],
    ) -> Predictor | None: ...


class _Predicted(Problem):
    """The predictors as a pymoo problem; remembers every genome it was asked about."""

    def __init__(self, codec: GenomeCodec, accuracy: Predictor, energy: Predictor) -> None:
        lower, upper = codec.bounds()
        limited = codec.space.objectives.max_params_m is not None
        limited = limited or codec.space.objectives.min_params_m is not None
        super().__init__(
            n_var=len(codec),
            n_obj=2,
            n_ieq_constr=1 if limited else 0,
            xl=np.array(lower),
            xu=np.array(upper),
            vtype=int,
        )
        self.codec, self.accuracy, self.energy, self.limited = codec, accuracy, energy, limited
        self.visited: list[np.ndarray] = []

    def _evaluate(self, X: np.ndarray, out: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        X = np.asarray(X, dtype=np.int64)
        self.visited.append(X.copy())
        out["F"] = np.column_stack([-self.accuracy.predict(X), self.energy.predict(X)])
        if self.limited:
            space = self.codec.space
            out["G"] = [[param_violation(self.codec.decode(_genome(x)), space)[0]] for x in X]


@dataclass(frozen=True)
class SurrogateSettings:
    """How the surrogate engine models and searches (``SearchSettings.engine_options`` of the
    ``surrogate`` engine; each field checked by its rule, :mod:`evosnn.core.validation`).

    Attributes:
        explore: share of each generation spent on exploratory candidates.
        models: model kinds to choose among (see :data:`~evosnn.engines.predictors.MODEL_KINDS`).
        cv_folds: folds of the cross-validation that picks the model kind.
        inner_population: population of the NSGA-II run on the predictors.
        inner_generations: its generations.
        reselect_growth: the model kinds are chosen again (by cross-validation) once the training
            set has grown by this factor since the last choice; in between the chosen kinds are
            refitted on all outcomes (choosing costs ``folds x kinds`` fits per objective).
        optimism: candidates are scored at their predicted accuracy plus this many out-of-fold
            RMS errors of the accuracy predictor (an upper confidence bound; 0: the prediction).
    """

    explore: float = setting(0.25, Real(0.0, 1.0))
    models: tuple[str, ...] = MODEL_KINDS
    cv_folds: int = setting(5, Whole(2, 100))
    inner_population: int = setting(64, Whole(2, 100_000))
    inner_generations: int = setting(30, COUNT)
    reselect_growth: float = setting(1.25, Real(1.0, 1e9))
    optimism: float = setting(2.0, Real(0.0, 1e9))

    def __post_init__(self) -> None:
        check_fields(self)
        object.__setattr__(self, "models", tuple(self.models))
        unknown = sorted(set(self.models) - set(MODEL_KINDS))
        if not self.models or unknown:
            raise SettingError(
                f"models={self.models!r}: choose one or more of {', '.join(MODEL_KINDS)}"
            )


class SurrogateEngine(EvolutionaryEngine):
    """Predictor-assisted search: real evaluations go to the predicted best hypervolume gains.

    Args:
        codec: the genome layout.
        population: real evaluations per generation.
        seed: seeds everything (operators, models, the inner search).
        settings: how it models and searches (default :class:`SurrogateSettings`).
        extremes: generation 0 includes the smallest and the largest subnet.
        predictors: supplies predictors in place of the engine's own choice (see
            :class:`PredictorFactory`); None: the engine's model kinds throughout.
        rng: the engine's random source (default: seeded with ``[seed, 3]``).
        name: the name recorded in the study (benchmarks name their variants).
    """

    name = "surrogate"
    #: The engine's settings record: :func:`evosnn.engines.make_engine` builds it from options.
    Settings = SurrogateSettings

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        population: int,
        seed: int,
        settings: SurrogateSettings | None = None,
        extremes: bool = True,
        predictors: PredictorFactory | None = None,
        rng: np.random.Generator | None = None,
        name: str = "surrogate",
    ) -> None:
        settings = settings if settings is not None else SurrogateSettings()
        super().__init__(
            codec, population=population, seed=seed, rng=rng, stream=(3,), extremes=extremes
        )
        self.name, self._predictors = name, predictors
        self.explore, self.models, self.cv_folds = (
            settings.explore,
            settings.models,
            settings.cv_folds,
        )
        self.inner_population = settings.inner_population
        self.inner_generations = settings.inner_generations
        self.reselect_growth, self.optimism = settings.reselect_growth, settings.optimism
        self._features = GeneFeatures(codec)
        self._queue: deque[Genome] = deque()
        self._pending = 0
        self._generation = 0
        self._told: list[tuple[Genome, Outcome]] = []
        self._diagnostics: list[dict[str, Any]] = []
        self._chosen: dict[str, FittedPredictor] = {}  # per objective: the last validated choice
        self._chosen_at: dict[str, int] = {}
        self._predicted: dict[Genome, tuple[float, float]] = {}  # this generation's predictions

    @property
    def generation(self) -> int:
        return self._generation

    def ask(self) -> Genome | None:
        if not self._queue:
            if self._pending:
                return None  # the next generation needs this one's outcomes
            self._queue.extend(self._plan())
            if not self._queue:  # every subnet has been proposed
                self._queue.append(self._ops.fresh(self._rng, self._seen))
        genome = self._queue.popleft()
        self._seen.add(self.codec.canonical(genome))
        self._pending += 1
        return genome

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        self._told.append((genome, outcome))
        self._pending -= 1
        if not self._pending and not self._queue:
            self._realised()
            self._generation += 1

    def settings(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "seed": self.seed,
            "explore": self.explore,
            "models": list(self.models),
            "cv_folds": self.cv_folds,
            "inner_population": self.inner_population,
            "inner_generations": self.inner_generations,
            "reselect_growth": self.reselect_growth,
            "extremes": self.extremes,
            "optimism": self.optimism,
            **self._ops.settings(),
        }

    def stats(self) -> dict[str, int]:
        """Proposed subnets and how each generation's slots were filled, summed."""
        keys = ("exploit", "explore_front", "explore_uniform")
        return {
            "proposed": len(self._seen),
            **{k: sum(int(d.get(k, 0)) for d in self._diagnostics) for k in keys},
        }

    def diagnostics(self) -> list[dict[str, Any]]:
        """One dict per generation planned so far (entry ``g`` is complete once generation ``g``'s
        outcomes are all told, i.e. when :attr:`generation` moves past ``g``):

        * ``generation``, ``trained_on`` (feasible outcomes the predictors were fitted on);
        * ``accuracy_model`` / ``energy_model``: the model kind used, ``accuracy_tau`` /
          ``energy_tau``: its cross-validated Kendall tau when it was chosen, on
          ``accuracy_chosen_on`` / ``energy_chosen_on`` points (None: too few points to validate);
          ``accuracy_taus`` / ``energy_taus``: every kind's tau, in generations that chose;
          ``accuracy_rmse``: the accuracy predictor's out-of-fold RMS error (the optimism's unit);
        * ``realised_accuracy_tau`` / ``realised_energy_tau``: Kendall tau between the predictions
          and the real outcomes of this generation's predicted genomes (None below 3 of them);
        * ``candidates`` (new subnets the inner search found), ``exploit``, ``explore_front``,
          ``explore_uniform`` (how the generation's slots were filled).
        """
        return [dict(d) for d in self._diagnostics]

    # ------------------------------------------------------------------ planning
    def _plan(self) -> list[Genome]:
        data = [
            (g, o)
            for g, o in self._told
            if o.feasible and o.energy_mj < FAILED_ENERGY and o.energy_mj > 0
        ]
        info: dict[str, Any] = {"generation": self._generation, "trained_on": len(data)}
        if len(data) < 4:  # too little to fit on: the extremes (generation 0) and random subnets
            initial = self._initial() if self._generation == 0 else []
            initial += self._uniform(self.population - len(initial), initial)
            info["explore_uniform"] = len(initial)
            self._diagnostics.append(info)
            return initial

        X = np.array([g for g, _ in data], dtype=np.int64)
        acc = np.array([o.accuracy for _, o in data])
        log_e = np.log(np.array([o.energy_mj for _, o in data]))
        accuracy = self.fit_predictor("accuracy", X, acc, info)
        energy = self.fit_predictor("energy", X, log_e, info)
        real = np.column_stack([-acc, log_e])
        candidates = self._candidates(X, real, accuracy, energy)
        info["candidates"] = len(candidates)
        plan: list[Genome] = []
        if len(candidates):
            predicted = np.column_stack([-accuracy.predict(candidates), energy.predict(candidates)])
            span = max(float(np.ptp(log_e)), 1e-6)
            ref = np.array([0.0, max(log_e.max(), predicted[:, 1].max()) + 0.1 * span])
            n_exploit = self.population - round(self.explore * self.population)
            # like with like: evaluated subnets without their luck, candidates with their chance
            deflated = np.column_stack([-np.minimum(acc, accuracy.predict(X)), log_e])
            hopeful = predicted - [self.optimism * (accuracy.resid_sd or 0.0), 0.0]
            chosen = greedy_hv(deflated, hopeful, ref, n_exploit)
            rest = np.setdiff1d(np.arange(len(candidates)), chosen)
            if len(rest):
                (nds,) = non_dominated_fronts(predicted[rest], first_only=True)
                picks = self._rng.permutation(rest[nds])[: self.population - len(chosen)]
            else:
                picks = rest
            picked = [*chosen, *(int(i) for i in picks)]
            plan = [_genome(candidates[i]) for i in picked]
            self._predicted = {
                g: (-float(predicted[i, 0]), float(predicted[i, 1]))
                for g, i in zip(plan, picked, strict=True)
            }
            info["exploit"], info["explore_front"] = len(chosen), len(picks)
        uniform = self._uniform(self.population - len(plan), plan)
        info["explore_uniform"] = len(uniform)
        self._diagnostics.append(info)
        return plan + uniform

    def fit_predictor(
        self, target: str, X: np.ndarray, y: np.ndarray, info: dict[str, Any]
    ) -> Predictor:
        """The predictor of ``target`` (``"accuracy"`` or ``"energy"``, in log mJ) on genomes
        ``X`` and outcomes ``y``: the injected factory's, else the engine's own model kind, chosen
        again by cross-validation once the data grew enough. Notes the choice in ``info``."""
        if self._predictors is not None:
            given = self._predictors(target, X, y, rng=self._rng, info=info)
            if given is not None:
                info[f"{target}_model"], info[f"{target}_tau"] = given.kind, given.tau
                return given
        seed = int(self._rng.integers(2**31))
        last = self._chosen.get(target)
        if (
            last is None
            or last.tau is None
            or len(y) >= self.reselect_growth * self._chosen_at[target]
        ):
            fitted = fit_predictor(
                self._features, X, y, kinds=self.models, folds=self.cv_folds, seed=seed
            )
            self._chosen[target], self._chosen_at[target] = fitted, len(y)
            info[f"{target}_taus"] = fitted.taus
        else:
            fitted = fit_predictor(self._features, X, y, kinds=(last.kind,), validate=False)
            fitted.tau, fitted.resid_sd = last.tau, last.resid_sd
        info[f"{target}_model"], info[f"{target}_tau"] = fitted.kind, fitted.tau
        info[f"{target}_chosen_on"] = self._chosen_at[target]
        if target == "accuracy":
            info["accuracy_rmse"] = fitted.resid_sd
        return fitted

    def _realised(self) -> None:
        """Kendall tau between this generation's predictions and its real outcomes."""
        pairs = [
            (self._predicted[key], o)
            for g, o in self._told[-self.population :]
            if (key := self.codec.canonical(g)) in self._predicted
            and o.feasible
            and 0 < o.energy_mj < FAILED_ENERGY
        ]
        info = self._diagnostics[-1] if self._diagnostics else {}
        readers: tuple[tuple[str, Callable[[Outcome], float]], ...] = (
            ("accuracy", lambda o: o.accuracy),
            ("energy", lambda o: math.log(o.energy_mj)),
        )
        for n, (target, real) in enumerate(readers):
            tau = None
            if len(pairs) >= 3:
                tau = kendall_tau([p[n] for p, _ in pairs], [real(o) for _, o in pairs])
            info[f"realised_{target}_tau"] = tau
        self._predicted = {}

    def _initial(self) -> list[Genome]:
        extremes = self._ops.extremes() if self.extremes else []
        plan: list[Genome] = []
        for genome in extremes[: self.population]:
            if self.codec.canonical(genome) not in self._seen:
                plan.append(genome)
        return plan

    def _uniform(self, n: int, planned: list[Genome]) -> list[Genome]:
        taken = self._seen | {self.codec.canonical(g) for g in planned}
        out: list[Genome] = []
        for _ in range(max(n, 0)):
            genome = self._ops.fresh(self._rng, taken)
            if self.codec.canonical(genome) in taken:
                break  # the space is exhausted
            taken.add(self.codec.canonical(genome))
            out.append(genome)
        return out

    def _candidates(
        self,
        X: np.ndarray,
        real: np.ndarray,
        accuracy: Predictor,
        energy: Predictor,
    ) -> np.ndarray:
        """New subnets the inner NSGA-II on the predictors visited (canonical, unique)."""
        ranked = np.concatenate(non_dominated_fronts(real))
        start = X[ranked[: self.inner_population]]
        extra = self.inner_population - len(start)
        if extra > 0:
            start = np.vstack([start, [self._ops.sample(self._rng) for _ in range(extra)]])
        problem = _Predicted(self.codec, accuracy, energy)
        rng = np.random.default_rng(self._rng.integers(2**31))
        algorithm = NSGA2(
            pop_size=self.inner_population,
            sampling=start,
            crossover=IndexCrossover(GeneOperators(self.codec), rng),
            mutation=ActiveMutation(GeneOperators(self.codec), rng),
            eliminate_duplicates=True,
        )
        seed = int(self._rng.integers(2**31))
        minimize(problem, algorithm, ("n_gen", self.inner_generations), seed=seed, verbose=False)
        keys: dict[Genome, None] = {}
        for genome in np.vstack(problem.visited):
            key = self.codec.canonical(tuple(int(v) for v in genome))
            if key not in self._seen:
                keys[key] = None
        visited = np.array(list(keys), dtype=np.int64).reshape(-1, len(self.codec))
        if problem.limited and len(visited):
            ok = [
                math.isclose(
                    param_violation(self.codec.decode(_genome(x)), self.codec.space)[0], 0.0
                )
                for x in visited
            ]
            visited = visited[np.array(ok, dtype=bool)]
        return visited


def _genome(x: np.ndarray) -> Genome:
    return tuple(int(v) for v in x)
