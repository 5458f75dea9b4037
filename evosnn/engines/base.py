"""What every search engine is: ask for a genome, tell its outcome. No Ray, storage or torch.

Engines see minimisation-free, plain numbers: :class:`Outcome` (accuracy up, energy down, a
constraint violation that must be 0 to be feasible). A failed evaluation is told as
:meth:`Outcome.failed`, a clearly dominated, infeasible point, never as NaN.

The driver tells outcomes in the order the genomes were asked, so an engine's behaviour is a pure
function of its seed and of the sequence of asks and tells.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any, Protocol

from evosnn.core.genome import Genome, GenomeCodec

__all__ = ["FAILED_ENERGY", "Engine", "Outcome", "fresh"]

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
