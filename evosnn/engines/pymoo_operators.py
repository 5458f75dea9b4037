"""pymoo adapters of :class:`~evosnn.engines.operators.GeneOperators` on integer ``X``.

Used by the pymoo engine and by the surrogate engine's inner search. No rounding of floats: ``X``
holds choice indices throughout. Each adapter uses the operators' own generator (the engine's), so
the engine's behaviour does not depend on how often pymoo calls them.
"""

from __future__ import annotations

from collections.abc import Callable, Container
from typing import Any

import numpy as np
from pymoo.core.crossover import Crossover
from pymoo.core.mutation import Mutation
from pymoo.core.problem import Problem
from pymoo.core.repair import Repair
from pymoo.core.sampling import Sampling

from evosnn.core.genome import Genome
from evosnn.engines.operators import GeneOperators

__all__ = ["ActiveMutation", "IndexCrossover", "NovelRepair", "NovelSampling"]


class IndexCrossover(Crossover):
    """Uniform crossover of two parents into two complementary children."""

    def __init__(self, ops: GeneOperators, rng: np.random.Generator, *, prob: float = 0.9) -> None:
        super().__init__(2, 2, prob=prob, vtype=int)
        self.ops, self.rng = ops, rng

    def _do(self, problem: Problem, X: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        out = np.empty_like(X)
        for k in range(X.shape[1]):
            a, b = self.ops.crossover(X[0, k], X[1, k], self.rng)
            out[0, k], out[1, k] = a, b
        return out


class ActiveMutation(Mutation):
    """Mutates every offspring's active genes (see :meth:`GeneOperators.mutate`)."""

    def __init__(self, ops: GeneOperators, rng: np.random.Generator) -> None:
        super().__init__(prob=1.0, vtype=int)
        self.ops, self.rng = ops, rng

    def _do(self, problem: Problem, X: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        return np.array([self.ops.mutate(x, self.rng) for x in X], dtype=np.int64).reshape(X.shape)


class NovelRepair(Repair):
    """Re-mutates offspring whose subnet was already proposed (or repeats one of its batch).

    ``seen()`` returns the keys proposed so far; the engine adds a key when it hands the genome
    out, so an offspring that pymoo drops never blocks its subnet. No canonical write-back.
    """

    def __init__(
        self, ops: GeneOperators, rng: np.random.Generator, seen: Callable[[], Container[Genome]]
    ) -> None:
        super().__init__(vtype=int)
        self.ops, self.rng, self.seen = ops, rng, seen

    def _do(self, problem: Problem, X: np.ndarray, **kwargs: Any) -> np.ndarray:
        taken = _Union(self.seen(), set())
        out = np.empty_like(X, dtype=np.int64)
        for row, x in enumerate(X):
            genome = self.ops.novel(x, self.rng, taken)
            taken.batch.add(self.ops.key(genome))
            out[row] = genome
        return out


class NovelSampling(Sampling):
    """The first population: optionally the two extremes, then new uniformly random genomes."""

    def __init__(
        self,
        ops: GeneOperators,
        rng: np.random.Generator,
        seen: Callable[[], Container[Genome]],
        *,
        extremes: bool = True,
    ) -> None:
        super().__init__()
        self.ops, self.rng, self.seen, self.extremes = ops, rng, seen, extremes

    def _do(self, problem: Problem, n_samples: int, *args: Any, **kwargs: Any) -> np.ndarray:
        taken = _Union(self.seen(), set())
        rows: list[Genome] = []
        for genome in self.ops.extremes() if self.extremes else []:
            if len(rows) < n_samples and self.ops.key(genome) not in taken:
                rows.append(genome)
                taken.batch.add(self.ops.key(genome))
        while len(rows) < n_samples:
            genome = self.ops.fresh(self.rng, taken)
            rows.append(genome)
            taken.batch.add(self.ops.key(genome))
        return np.array(rows, dtype=np.int64)


class _Union:
    """Membership in either the engine's proposed keys or this batch's."""

    def __init__(self, seen: Container[Genome], batch: set[Genome]) -> None:
        self.seen, self.batch = seen, batch

    def __contains__(self, key: object) -> bool:
        return key in self.batch or key in self.seen
