"""What every search engine is: ask for a genome, tell its outcome. No Ray, storage or torch.

Engines see minimisation-free, plain numbers: :class:`Outcome` (accuracy up, energy down, a
constraint violation that must be 0 to be feasible). A failed evaluation is told as
:meth:`Outcome.failed`, a clearly dominated, infeasible point, never as NaN.

The driver tells outcomes in the order the genomes were asked, so an engine's behaviour is a pure
function of its seed and of the sequence of asks and tells.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.engines.operators import GeneOperators

__all__ = ["FAILED_ENERGY", "Engine", "EvolutionaryEngine", "Outcome", "fresh"]

#: Energy told for failed evaluations: far above any real subnet's.
FAILED_ENERGY = 1e6


@dataclass(frozen=True)
class Outcome:
    """What an engine learns about a genome."""

    accuracy: float
    energy_mj: float
    violation: float = 0.0

    @classmethod
    def failed(cls) -> Outcome:
        return cls(accuracy=0.0, energy_mj=FAILED_ENERGY, violation=FAILED_ENERGY)

    @property
    def feasible(self) -> bool:
        return self.violation <= 0.0


class Engine(Protocol):
    """The ask/tell interface the search driver uses."""

    name: str

    @property
    def generation(self) -> int:
        """The generation the next asked genome belongs to."""
        ...

    def ask(self) -> Genome | None:
        """The next genome to evaluate, or None while the engine waits for outstanding results."""
        ...

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        """The outcome of ``genome`` (told in ask order)."""
        ...

    def settings(self) -> dict[str, Any]:
        """The engine's settings, recorded in the study."""
        ...


def fresh(codec: GenomeCodec, rng: random.Random, seen: set[Genome], tries: int = 200) -> Genome:
    """A uniformly random genome whose canonical form is not in ``seen`` (if one is found)."""
    genome = codec.sample(rng)
    for _ in range(tries):
        if codec.canonical(genome) not in seen:
            break
        genome = codec.sample(rng)
    return genome


class EvolutionaryEngine:
    """What the evolutionary engines share: the genome layout, the budget per generation, the
    seed, the index operators, a random source and the set of subnets proposed so far.

    Args:
        codec: the genome layout.
        population: genomes per generation.
        seed: recorded in :meth:`settings`; seeds ``rng`` when none is given.
        rng: the engine's random source (operators, exploration). None: a generator seeded with
            ``[seed, *stream]``, so that each engine draws from its own stream of one seed.
            Benchmarks pass their own to share or replay a stream.
        stream: the engine's default stream key (see ``rng``).
        step_prob: see :class:`~evosnn.engines.operators.GeneOperators`.
        duplicate_tries: re-mutations of a duplicate before a fresh random genome.
        extremes: start with the smallest and the largest subnet.
    """

    name = "evolutionary"

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        population: int,
        seed: int,
        rng: np.random.Generator | None = None,
        stream: Sequence[int] = (),
        step_prob: float = 0.5,
        duplicate_tries: int = 10,
        extremes: bool = True,
    ) -> None:
        self.codec, self.population, self.seed, self.extremes = codec, population, seed, extremes
        self._ops = GeneOperators(codec, step_prob=step_prob, tries=duplicate_tries)
        self._rng = rng if rng is not None else np.random.default_rng([seed, *stream])
        self._seen: set[Genome] = set()

    def settings(self) -> dict[str, Any]:
        """The shared settings; engines add their own."""
        return {
            "population": self.population,
            "seed": self.seed,
            "extremes": self.extremes,
            **self._ops.settings(),
        }
