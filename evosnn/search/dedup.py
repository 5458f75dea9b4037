"""Every genome once: outcomes already known, genomes in flight that later asks wait for, and
genomes whose evaluation showed some genes inert.

Two kinds of sameness. A genome whose *canonical* key (genes of blocks beyond the depth zeroed) is
known is the same network by construction. Beyond that, an evaluation can show that a gene could
not have mattered: a block whose q, k or v was silent on every evaluation image has an attention
product of 0, so its attention LIF never fires whatever its heads gene says (:func:`inert_genes`).
A later genome that differs from an evaluated one only in such genes is the same network on the
evaluation images: it is answered from the ledger (:meth:`Deduplication.equivalent`) and recorded
as its own trial marked ``equivalent_to``, never evaluated.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.mixers import MIXERS
from evosnn.engines import Outcome

__all__ = ["Deduplication", "Equivalent", "inert_genes"]


def inert_genes(codec: GenomeCodec, key: Genome, silent: Iterable[str]) -> tuple[int, ...]:
    """Positions of ``key``'s active genes that its evaluation showed could not matter.

    ``silent`` are the evaluation's silent paths; block ``b``'s ``num_heads`` gene is inert when its
    q (``blocks.b.attn_qk``), k or v was silent on every image.

    Example (from the repository root):
        >>> from evosnn.core.space import load_space
        >>> codec = GenomeCodec(load_space("search_spaces/digits-tiny.yaml"))
        >>> inert_genes(codec, (0,) * 11, ["blocks.0.attn_v"])
        (4,)
    """
    silent = set(silent)
    mixers = codec.decode(key).mixer
    return tuple(
        codec.index(f"num_heads_{b}")
        for b in range(codec.depth_of(key))
        if any(f"blocks.{b}.{op}" in silent for op in MIXERS[mixers[b]].operands)
    )


@dataclass(frozen=True)
class Equivalent:
    """An evaluated network that stands for every genome differing from it only in inert genes."""

    key: Genome
    number: int
    evaluation: Evaluation
    outcome: Outcome


def _masked(key: Sequence[int], positions: tuple[int, ...]) -> Genome:
    return tuple(-1 if i in positions else g for i, g in enumerate(key))


W = TypeVar("W")


class Deduplication(Generic[W]):
    """Outcomes by canonical genome, and the waiters of each genome being evaluated.

    A genome whose key has an outcome (recorded in the ledger, or found this run) is answered with
    it; one whose key is in flight waits for that evaluation; only a new key is evaluated.

    Example:
        >>> dedup: Deduplication[str] = Deduplication()
        >>> dedup.start((0, 1), "first ask")
        >>> dedup.join((0, 1), "second ask")
        >>> dedup.resolve((0, 1), Outcome(0.9, 1.0))
        ['first ask', 'second ask']
        >>> dedup.known((0, 1))
        Outcome(accuracy=0.9, energy_mj=1.0, violation=0.0)
    """

    def __init__(self) -> None:
        self._outcomes: dict[Genome, Outcome] = {}
        self._waiting: dict[Genome, list[W]] = {}
        self._inert: dict[tuple[int, ...], dict[Genome, Equivalent]] = {}

    def __len__(self) -> int:
        """How many keys have a known outcome."""
        return len(self._outcomes)

    def known(self, key: Genome) -> Outcome | None:
        """The outcome of ``key`` if it is known."""
        return self._outcomes.get(key)

    def in_flight(self, key: Genome) -> bool:
        """Whether ``key`` is being evaluated."""
        return key in self._waiting

    def remember(self, key: Genome, outcome: Outcome) -> None:
        """Record ``key``'s outcome (from the ledger, or a genome rejected without evaluation)."""
        self._outcomes[key] = outcome

    def start(self, key: Genome, waiter: W) -> None:
        """``key`` is submitted for evaluation on behalf of ``waiter``."""
        if key in self._waiting or key in self._outcomes:
            raise ValueError(f"genome {key} is already known or in flight")
        self._waiting[key] = [waiter]

    def join(self, key: Genome, waiter: W) -> None:
        """``waiter`` waits for the evaluation of ``key``, which is in flight."""
        self._waiting[key].append(waiter)

    def resolve(self, key: Genome, outcome: Outcome) -> list[W]:
        """``key``'s evaluation ended with ``outcome``: remember it; return its waiters in order."""
        self._outcomes[key] = outcome
        return self._waiting.pop(key)

    def note_inert(self, positions: tuple[int, ...], source: Equivalent) -> None:
        """``source``'s evaluation showed its genes at ``positions`` inert (nothing if none)."""
        if positions:
            table = self._inert.setdefault(positions, {})
            table.setdefault(_masked(source.key, positions), source)

    def equivalent(self, key: Genome) -> Equivalent | None:
        """An evaluated network ``key`` differs from only in genes shown inert, if any."""
        for positions, table in self._inert.items():
            found = table.get(_masked(key, positions))
            if found is not None and found.key != key:
                return found
        return None
