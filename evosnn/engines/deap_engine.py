"""NSGA-II with DEAP's ``selNSGA2`` and the ESNN / Auto-Spikformer variation operators.

Offspring come from binary tournaments (dominance, then crowding distance) over the current
survivors, gene-wise uniform crossover, then mutation:

* depth re-sampled with probability ``s_prob``; when it grows, the newly active blocks get freshly
  sampled genes for *every* per-block gene (when it shrinks, the dropped blocks become inert);
* embed dim and time steps re-sampled with probability ``s_prob``;
* every active per-block gene (MLP ratio, heads, threshold, tau) re-sampled with probability
  ``m_prob``.

Selection is asynchronous-generational: whenever ``population`` new outcomes have been told,
``selNSGA2`` keeps the best ``population`` of survivors + newcomers. Offspring asked before that
come from the current survivors, so workers never wait for a generation boundary. Constraints are
handled by penalty: an infeasible genome is dominated by every feasible one.
"""

from __future__ import annotations

import random
from typing import Any

from deap import base, creator, tools

from evosnn.engines.base import Outcome, fresh
from evosnn.genome import BLOCK_GENES, GLOBAL_GENES, Genome, GenomeCodec

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


class DeapEngine:
    """ESNN-style NSGA-II on DEAP."""

    name = "deap"

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        population: int,
        seed: int,
        m_prob: float = 0.2,
        s_prob: float = 0.4,
        crossover_prob: float = 0.9,
    ) -> None:
        self.codec, self.population, self.seed = codec, population, seed
        self.m_prob, self.s_prob, self.crossover_prob = m_prob, s_prob, crossover_prob
        self._rng = random.Random(seed)
        self._seen: set[Genome] = set()
        self._survivors: list[Any] = []
        self._newcomers: list[Any] = []
        self._generation = 0

    @property
    def generation(self) -> int:
        return self._generation

    def ask(self) -> Genome | None:
        genome: Genome | None = None
        if self._survivors:
            for _ in range(50):
                candidate = self._offspring()
                if self.codec.canonical(candidate) not in self._seen:
                    genome = candidate
                    break
        if genome is None:
            genome = fresh(self.codec, self._rng, self._seen)
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
        return {
            "population": self.population,
            "seed": self.seed,
            "m_prob": self.m_prob,
            "s_prob": self.s_prob,
            "crossover_prob": self.crossover_prob,
        }

    # ------------------------------------------------------------------ variation
    def _tournament(self) -> Any:
        a, b = (
            self._rng.sample(self._survivors, 2)
            if len(self._survivors) > 1
            else self._survivors * 2
        )
        if a.fitness.dominates(b.fitness):
            return a
        if b.fitness.dominates(a.fitness):
            return b
        ca, cb = getattr(a.fitness, "crowding_dist", 0.0), getattr(b.fitness, "crowding_dist", 0.0)
        if ca != cb:
            return a if ca > cb else b
        return a if self._rng.random() < 0.5 else b

    def _offspring(self) -> Genome:
        rng, codec = self._rng, self.codec
        p1, p2 = self._tournament(), self._tournament()
        if rng.random() < self.crossover_prob:
            child = [x if rng.random() < 0.5 else y for x, y in zip(p1, p2, strict=True)]
        else:
            child = list(p1)
        depth_at = codec.index("depth")
        old_depth = codec.depth_of(child)
        if rng.random() < self.s_prob:
            child[depth_at] = rng.randint(0, codec.genes[depth_at].upper)
        new_depth = codec.depth_of(child)
        for block in range(old_depth, new_depth):  # grown blocks: every per-block gene fresh
            for pos in range(codec.block_slice(block).start, codec.block_slice(block).stop):
                child[pos] = rng.randint(0, codec.genes[pos].upper)
        for name in GLOBAL_GENES[1:]:  # embed_dim, time_steps
            if rng.random() < self.s_prob:
                pos = codec.index(name)
                child[pos] = rng.randint(0, codec.genes[pos].upper)
        for block in range(min(old_depth, new_depth)):
            for offset in range(len(BLOCK_GENES)):
                pos = codec.block_slice(block).start + offset
                if rng.random() < self.m_prob:
                    child[pos] = rng.randint(0, codec.genes[pos].upper)
        return tuple(child)
