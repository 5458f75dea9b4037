"""Cheap constraints: genomes rejected before any network runs (recorded as PRUNED trials)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from evosnn.core.constraints import param_violation
from evosnn.core.genome import Genome, GenomeCodec

__all__ = ["CandidateFilter", "ParamFilter", "Rejection"]


@dataclass(frozen=True)
class Rejection:
    """Why a genome is not evaluated: how far it violates a constraint, and which."""

    violation: float
    reason: str


class CandidateFilter(Protocol):
    """Decides, without evaluating, whether a genome is worth evaluating."""

    def __call__(self, genome: Genome) -> Rejection | None:
        """A rejection, or None to evaluate ``genome``."""
        ...


class ParamFilter:
    """Rejects genomes whose analytic parameter count is outside the space's limits.

    Example (from the repository root):
        >>> from evosnn.core.space import load_space
        >>> codec = GenomeCodec(load_space("search_spaces/digits-tiny.yaml"))
        >>> ParamFilter(codec)(codec.canonical((0,) * len(codec.genes))) is None
        True
    """

    def __init__(self, codec: GenomeCodec) -> None:
        self.codec = codec

    def __call__(self, genome: Genome) -> Rejection | None:
        violation, reason = param_violation(self.codec.decode(genome), self.codec.space)
        return Rejection(violation, str(reason)) if violation > 0 else None
