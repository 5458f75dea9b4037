"""Uniform random sampling: the baseline every NSGA-II engine must beat."""

from __future__ import annotations

import random
from typing import Any

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.engines.base import Outcome, fresh

__all__ = ["RandomEngine"]


class RandomEngine:
    """Samples every gene uniformly, never proposing a subnet it proposed before."""

    name = "random"

    def __init__(self, codec: GenomeCodec, *, population: int, seed: int) -> None:
        self.codec, self.population, self.seed = codec, population, seed
        self._rng = random.Random(seed)
        self._seen: set[Genome] = set()
        self._told = 0

    @property
    def generation(self) -> int:
        return self._told // self.population

    def ask(self) -> Genome | None:
        genome = fresh(self.codec, self._rng, self._seen)
        self._seen.add(self.codec.canonical(genome))
        return genome

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        self._told += 1

    def settings(self) -> dict[str, Any]:
        return {"population": self.population, "seed": self.seed}
