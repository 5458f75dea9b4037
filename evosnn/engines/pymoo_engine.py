"""pymoo's NSGA-II over the integer genome, with the space's limits as a constraint.

pymoo asks for a whole generation at once, so this engine hands out that generation's genomes one
by one and answers None (wait) once they are all out, until every outcome is told; then pymoo's
survival runs and the next generation is asked. Objectives for pymoo: minimise
``[-accuracy, energy]`` subject to ``violation <= 0``.

Variation uses the index operators of :mod:`evosnn.engines.operators` (uniform crossover, mutation
of active genes, re-mutation of duplicates) through :mod:`evosnn.engines.pymoo_operators`; pymoo's
binary tournament and rank-and-crowding survival are kept. The first population is the two extreme
subnets plus new random genomes. Every proposed subnet is new: no canonical write-back, and no
uniform random genome unless a duplicate survived ``duplicate_tries`` re-mutations.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from pymoo.algorithms.moo.nsga2 import NSGA2
from pymoo.core.evaluator import Evaluator
from pymoo.core.population import Population
from pymoo.core.problem import Problem
from pymoo.core.termination import NoTermination
from pymoo.problems.static import StaticProblem

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.engines.base import EvolutionaryEngine, Outcome
from evosnn.engines.pymoo_operators import (
    ActiveMutation,
    IndexCrossover,
    NovelRepair,
    NovelSampling,
)

__all__ = ["PymooEngine"]


class PymooEngine(EvolutionaryEngine):
    """pymoo NSGA-II, asked and told one genome at a time.

    Args:
        codec: the genome layout.
        population: genomes per generation.
        seed: seeds pymoo's selection and the operators.
        crossover_prob: probability that a pair of parents is crossed (else copied, then mutated).
        step_prob: see :class:`GeneOperators`.
        duplicate_tries: re-mutations of a duplicate before a fresh random genome.
        extremes: seed the first population with the smallest and the largest subnet.
        rng: the operators' random source (default: seeded with ``[seed, 1]``; pymoo's own
            selection is seeded with ``seed``).
    """

    name = "pymoo"

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        population: int,
        seed: int,
        crossover_prob: float = 0.9,
        step_prob: float = 0.5,
        duplicate_tries: int = 10,
        extremes: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(
            codec,
            population=population,
            seed=seed,
            rng=rng,
            stream=(1,),
            step_prob=step_prob,
            duplicate_tries=duplicate_tries,
            extremes=extremes,
        )
        self.crossover_prob = crossover_prob
        rng = self._rng
        lower, upper = codec.bounds()
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
            sampling=NovelSampling(self._ops, rng, self._seen_keys, extremes=extremes),
            crossover=IndexCrossover(self._ops, rng, prob=crossover_prob),
            mutation=ActiveMutation(self._ops, rng),
            repair=NovelRepair(self._ops, rng, self._seen_keys),
            eliminate_duplicates=False,  # NovelRepair already keeps every subnet new
        )
        self._algorithm.setup(self._problem, termination=NoTermination(), seed=seed)
        self._current: Population | None = None
        self._handed = 0
        self._waiting: deque[int] = deque()
        self._outcomes: dict[int, Outcome] = {}
        self._generation = 0

    def _seen_keys(self) -> set[Genome]:
        return self._seen

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
        genome = tuple(int(v) for v in self._current[index].X)
        self._seen.add(self.codec.canonical(genome))
        return genome

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
        return {**super().settings(), "crossover_prob": self.crossover_prob}

    def stats(self) -> dict[str, int]:
        """What the operators did so far: mutated genes, re-mutations and fresh fallbacks."""
        return {"proposed": len(self._seen), **self._ops.tally()}
