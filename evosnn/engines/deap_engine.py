"""NSGA-II with DEAP's ``selNSGA2`` and the index operators shared with the pymoo engine.

Offspring come from binary tournaments (dominance, then crowding distance) over the current
survivors, uniform crossover (probability ``crossover_prob``, else a copy of the first parent), then
mutation of active genes (see :mod:`evosnn.engines.operators`); an offspring whose subnet was
already proposed is mutated again, and only as a last resort replaced by a fresh random genome.
Until there are survivors, the asks are the two extreme subnets and new random genomes.

Selection is asynchronous-generational: whenever ``population`` new outcomes have been told,
``selNSGA2`` keeps the best ``population`` of survivors + newcomers. Offspring asked before that
come from the current survivors, so workers never wait for a generation boundary. Constraints are
handled by penalty: an infeasible genome is dominated by every feasible one.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from deap import base, creator, tools

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.engines.base import EvolutionaryEngine, Outcome

__all__ = ["DeapEngine"]

# DEAP's classes must exist at import time in every process that unpickles them.
if not hasattr(creator, "EvosnnFitness"):
    creator.create("EvosnnFitness", base.Fitness, weights=(1.0, -1.0))
if not hasattr(creator, "EvosnnIndividual"):
    creator.create("EvosnnIndividual", list, fitness=creator.EvosnnFitness)


def _individual(genome: Genome, outcome: Outcome) -> Any:
    ind = creator.EvosnnIndividual(genome)
    if outcome.feasible:
        ind.fitness.values = (outcome.accuracy, outcome.energy_mj)
    else:  # dominated by every feasible point; less violation dominates more
        ind.fitness.values = (-outcome.violation, 1e12 + outcome.violation)
    return ind


class DeapEngine(EvolutionaryEngine):
    """NSGA-II on DEAP with index operators.

    Args:
        codec: the genome layout.
        population: outcomes per generation (and survivors kept).
        seed: seeds the tournaments and the operators.
        crossover_prob: probability that two parents are crossed (else the first is copied).
        step_prob: see :class:`~evosnn.engines.operators.GeneOperators`.
        duplicate_tries: re-mutations of a duplicate before a fresh random genome.
        extremes: the first two asks are the smallest and the largest subnet.
        rng: the tournaments' and operators' random source (default: seeded with ``seed``).
    """

    name = "deap"

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
            step_prob=step_prob,
            duplicate_tries=duplicate_tries,
            extremes=extremes,
        )
        self.crossover_prob = crossover_prob
        self._survivors: list[Any] = []
        self._newcomers: list[Any] = []
        self._generation = 0
        self._initial = list(self._ops.extremes()) if extremes else []

    @property
    def generation(self) -> int:
        return self._generation

    def ask(self) -> Genome | None:
        if self._survivors:
            genome = self._ops.novel(self._offspring(), self._rng, self._seen)
        elif self._initial:
            genome = self._ops.novel(self._initial.pop(0), self._rng, self._seen)
        else:
            genome = self._ops.fresh(self._rng, self._seen)
        self._seen.add(self.codec.canonical(genome))
        return genome

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        self._newcomers.append(_individual(genome, outcome))
        if len(self._newcomers) >= self.population:
            pool = self._survivors + self._newcomers
            self._survivors = tools.selNSGA2(pool, self.population)  # also sets crowding_dist
            self._newcomers = []
            self._generation += 1

    def settings(self) -> dict[str, Any]:
        return {**super().settings(), "crossover_prob": self.crossover_prob}

    def stats(self) -> dict[str, int]:
        """What the operators did so far: mutated genes, re-mutations and fresh fallbacks."""
        return {"proposed": len(self._seen), **self._ops.tally()}

    # ------------------------------------------------------------------ variation
    def _tournament(self) -> Any:
        if len(self._survivors) > 1:
            i, j = self._rng.choice(len(self._survivors), size=2, replace=False)
            a, b = self._survivors[int(i)], self._survivors[int(j)]
        else:
            a = b = self._survivors[0]
        if a.fitness.dominates(b.fitness):
            return a
        if b.fitness.dominates(a.fitness):
            return b
        ca, cb = getattr(a.fitness, "crowding_dist", 0.0), getattr(b.fitness, "crowding_dist", 0.0)
        if ca != cb:
            return a if ca > cb else b
        return a if self._rng.random() < 0.5 else b

    def _offspring(self) -> Genome:
        p1, p2 = self._tournament(), self._tournament()
        if self._rng.random() < self.crossover_prob:
            child, _ = self._ops.crossover(p1, p2, self._rng)
        else:
            child = tuple(p1)
        return self._ops.mutate(child, self._rng)
