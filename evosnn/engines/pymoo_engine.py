"""pymoo's NSGA-II over the integer genome, with the space's limits as a constraint.

pymoo asks for a whole generation at once, so this engine hands out that generation's genomes one
by one and answers None (wait) once they are all out, until every outcome is told; then pymoo's
survival runs and the next generation is asked. Objectives for pymoo: minimise
``[-accuracy, energy]`` subject to ``violation <= 0``. Integer genes use SBX and polynomial
mutation with rounding (pymoo's recipe for integer variables), a repair that keeps every proposed
subnet new (see ``_Novel``), and pymoo's duplicate elimination.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.core.termination import NoTermination
from pymoo.operators.crossover.sbx import SBX
from pymoo.operators.mutation.pm import PM
from pymoo.operators.repair.rounding import RoundingRepair
from pymoo.operators.sampling.rnd import IntegerRandomSampling
from pymoo.problems.static import StaticProblem

from evosnn.engines.base import Outcome, fresh
from evosnn.genome import Genome, GenomeCodec

__all__ = ["PymooEngine"]


class _Novel(Repair):
    """Rounds to valid indices, zeroes inert genes, and replaces any genome whose subnet was already
    proposed with a fresh random one. Without it a converged population keeps proposing subnets that
    differ only in inert genes: answered from the ledger, they teach the search nothing."""

    def __init__(self, codec: GenomeCodec, seen: set[Genome], seed: int) -> None:
        super().__init__()
        self.codec, self.seen = codec, seen
        self.rng = random.Random(seed)
        self.upper = np.array(codec.bounds()[1])

    def _do(self, problem: Problem, X: np.ndarray, **kwargs: object) -> np.ndarray:
        out = np.empty_like(X, dtype=float)
        for row, x in enumerate(X):
            genome = self.codec.canonical(tuple(int(v) for v in np.clip(np.rint(x), 0, self.upper)))
            if genome in self.seen:
                genome = self.codec.canonical(fresh(self.codec, self.rng, self.seen))
            self.seen.add(genome)
            out[row] = genome
        return out


class PymooEngine:
    """pymoo NSGA-II, asked and told one genome at a time."""

    name = "pymoo"

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        population: int,
        seed: int,
        crossover_eta: float = 15.0,
        mutation_eta: float = 20.0,
    ) -> None:
        self.codec, self.population, self.seed = codec, population, seed
        self.crossover_eta, self.mutation_eta = crossover_eta, mutation_eta
        lower, upper = codec.bounds()
        self._seen: set[Genome] = set()
        self._problem = Problem(
            n_var=len(codec),
            n_obj=2,
            n_ieq_constr=1,
            xl=np.array(lower),
            xu=np.array(upper),
            vtype=int,
        )
        self._algorithm = NSGA2(
            pop_size=population,
            sampling=IntegerRandomSampling(),
            crossover=SBX(prob=0.9, eta=crossover_eta, vtype=float, repair=RoundingRepair()),
            mutation=PM(eta=mutation_eta, vtype=float, repair=RoundingRepair()),
            repair=_Novel(codec, self._seen, seed),
            eliminate_duplicates=True,
        )
        self._algorithm.setup(self._problem, termination=NoTermination(), seed=seed)
        self._current: Population | None = None
        self._handed = 0
        self._waiting: deque[int] = deque()
        self._outcomes: dict[int, Outcome] = {}
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def ask(self) -> Genome | None:
        if self._current is None:
            self._current = self._algorithm.ask()
            self._handed = 0
            self._outcomes = {}
        assert self._current is not None
        if self._handed >= len(self._current):
            return None
        index = self._handed
        self._handed += 1
        self._waiting.append(index)
        x = np.clip(np.rint(self._current[index].X), self._problem.xl, self._problem.xu)
        return tuple(int(v) for v in x)

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        index = self._waiting.popleft()
        self._outcomes[index] = outcome
        pop = self._current
        if pop is None or len(self._outcomes) < len(pop):
            return
        order = range(len(pop))
        f = np.array([[-self._outcomes[i].accuracy, self._outcomes[i].energy_mj] for i in order])
        g = np.array([[self._outcomes[i].violation] for i in order])
        Evaluator().eval(StaticProblem(self._problem, F=f, G=g), pop)
        self._algorithm.tell(infills=pop)
        self._current = None
        self._generation += 1

    def settings(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "seed": self.seed,
            "crossover": f"SBX(eta={self.crossover_eta}) + rounding",
            "mutation": f"PM(eta={self.mutation_eta}) + rounding",
        }
