"""Every genome once: outcomes already known, and genomes in flight that later asks wait for."""

from __future__ import annotations

from typing import Generic, TypeVar

from evosnn.core.genome import Genome
from evosnn.engines import Outcome

__all__ = ["Deduplication"]

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
