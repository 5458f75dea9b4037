"""Variation operators that fit genomes of choice indices, shared by every evolutionary engine.

Why not pymoo's float recipe (SBX + polynomial mutation + rounding)? On choice indices it almost
never changes a gene (never a 2-choice gene, < 2 % of 3-4-choice genes at eta 20) and SBX between
neighbouring indices is a uniform crossover anyway. These operators work on the indices:

* :meth:`GeneOperators.crossover`: uniform crossover, every gene from either parent (inert genes
  included: they are carried, see below).
* :meth:`GeneOperators.mutate`: mutates *active* genes only (the global genes and the genes of the
  blocks below the decoded depth), each with probability ``1 / n_active`` (or ``mutation_rate``) and
  at least one gene per call; a mutated gene steps ``+-1`` (probability ``step_prob``) or is reset to
  another choice. Inert genes are never touched: mutating them changes no subnet.
* :meth:`GeneOperators.novel`: a genome whose subnet was already proposed is mutated again (up to
  ``tries`` times, each from the last attempt) instead of being replaced by a uniform random genome;
  only as a last resort is a fresh random genome drawn.

When the depth grows, the newly active blocks keep the genes they carried. Those genes are
inherited through crossover from earlier (often deeper) ancestors, so they are at worst as good as a
fresh random draw and at best a block that once was part of a good subnet; re-drawing them would
throw that away. Populations therefore keep inert genes as they are: the canonical form (inert genes
0) is only the dedup key, never written back (writing it back made every regrown block index 0).

Every call takes the caller's ``numpy.random.Generator``, so an engine stays a pure function of its
seed and of its ask/tell sequence. ``counts`` tallies what the operators did (for ``engine.stats()``).

Example (from the repository root):
    >>> import numpy as np
    >>> from evosnn.core.genome import GenomeCodec
    >>> from evosnn.core.space import load_space
    >>> ops = GeneOperators(GenomeCodec(load_space("search_spaces/digits-tiny.yaml")))
    >>> rng = np.random.default_rng(0)
    >>> parent = (0, 1, 2, 0, 1, 3, 2, 1, 1, 1, 1)  # depth 1: the last block is inert
    >>> child = ops.mutate(parent, rng)
    >>> child != parent and child[7:] == parent[7:]
    True
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Sequence

import numpy as np

from evosnn.core.genome import Genome, GenomeCodec

__all__ = ["GeneOperators"]


class GeneOperators:
    """Crossover, active-gene mutation and re-mutation of duplicates over one codec's genomes.

    Args:
        codec: the genome layout.
        mutation_rate: per-gene probability of mutating an active gene; ``None``: ``1 / n_active``.
        step_prob: probability that a mutated gene steps to a neighbouring index (else it is reset
            to another choice, uniformly).
        tries: re-mutations of a duplicate before a fresh random genome is drawn.
    """

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        mutation_rate: float | None = None,
        step_prob: float = 0.5,
        tries: int = 10,
    ) -> None:
        if mutation_rate is not None and not 0.0 < mutation_rate <= 1.0:
            raise ValueError(f"mutation_rate must lie in (0, 1], got {mutation_rate}")
        if not 0.0 <= step_prob <= 1.0:
            raise ValueError(f"step_prob must lie in [0, 1], got {step_prob}")
        self.codec = codec
        self.mutation_rate, self.step_prob, self.tries = mutation_rate, step_prob, tries
        self.upper = np.array(codec.bounds()[1], dtype=np.int64)
        self.counts: Counter[str] = Counter()
        self._active: dict[int, np.ndarray] = {}

    def settings(self) -> dict[str, object]:
        """The operators' settings, for the engine's ``settings()``."""
        return {
            "crossover": "uniform",
            "mutation": "active genes, +-1 step or reset",
            "mutation_rate": "1/n_active" if self.mutation_rate is None else self.mutation_rate,
            "step_prob": self.step_prob,
            "duplicate_tries": self.tries,
        }

    def tally(self) -> dict[str, int]:
        """Counts so far: mutated genes, re-mutations of duplicates, fresh fallbacks."""
        return {k: int(self.counts[k]) for k in ("mutated_genes", "re_mutations", "fresh")}

    # ------------------------------------------------------------------ genes
    def active(self, genome: Sequence[int]) -> np.ndarray:
        """Positions of the genes that shape ``genome``'s subnet and have more than one choice."""
        depth = self.codec.depth_of(genome)
        if depth not in self._active:
            n = self.codec.active_length(depth)
            positions = np.arange(n)
            self._active[depth] = positions[self.upper[:n] > 0]
        return self._active[depth]

    def key(self, genome: Sequence[int]) -> Genome:
        """The dedup key: the canonical genome."""
        return self.codec.canonical(genome)

    # ------------------------------------------------------------------ variation
    def crossover(
        self, a: Sequence[int], b: Sequence[int], rng: np.random.Generator
    ) -> tuple[Genome, Genome]:
        """Uniform crossover: two complementary children, each gene from either parent."""
        x, y = np.asarray(a, dtype=np.int64), np.asarray(b, dtype=np.int64)
        swap = rng.random(len(x)) < 0.5
        return _genome(np.where(swap, y, x)), _genome(np.where(swap, x, y))

    def mutate(self, genome: Sequence[int], rng: np.random.Generator) -> Genome:
        """``genome`` with at least one active gene changed (inert genes untouched)."""
        child = np.asarray(genome, dtype=np.int64).copy()
        positions = self.active(child)
        if not len(positions):
            return _genome(child)
        rate = self.mutation_rate if self.mutation_rate is not None else 1.0 / len(positions)
        chosen = positions[rng.random(len(positions)) < rate]
        if not len(chosen):
            chosen = positions[[rng.integers(len(positions))]]
        for pos in chosen:
            child[pos] = self._changed(int(child[pos]), int(self.upper[pos]), rng)
        self.counts["mutated_genes"] += len(chosen)
        return _genome(child)

    def _changed(self, index: int, upper: int, rng: np.random.Generator) -> int:
        """Another valid index than ``index``: a +-1 step or a uniform reset."""
        if rng.random() < self.step_prob:
            if index == 0:
                return 1
            if index == upper:
                return upper - 1
            return index + (1 if rng.random() < 0.5 else -1)
        other = int(rng.integers(upper))  # uniform over the `upper` other choices
        return other + 1 if other >= index else other

    def sample(self, rng: np.random.Generator) -> Genome:
        """A uniformly random genome (every gene independent: the depth is uniform)."""
        return _genome(rng.integers(self.upper + 1))

    def fresh(self, rng: np.random.Generator, seen: Container[Genome], tries: int = 200) -> Genome:
        """A uniformly random genome whose key is not in ``seen`` (if one is found)."""
        genome = self.sample(rng)
        for _ in range(tries):
            if self.key(genome) not in seen:
                break
            genome = self.sample(rng)
        return genome

    def novel(
        self, genome: Sequence[int], rng: np.random.Generator, seen: Container[Genome]
    ) -> Genome:
        """``genome`` if its key is new; else re-mutated until new; as a last resort fresh."""
        child = _genome(np.asarray(genome, dtype=np.int64))
        if self.key(child) not in seen:
            return child
        for _ in range(self.tries):
            child = self.mutate(child, rng)
            self.counts["re_mutations"] += 1
            if self.key(child) not in seen:
                return child
        self.counts["fresh"] += 1
        return self.fresh(rng, seen)

    def extremes(self) -> list[Genome]:
        """The two corners of the space: every gene's first choice, then every gene's last.

        Choice lists run from small to large, so these are the smallest and the largest subnet
        (fewest and most blocks, width, MLP ratio, heads and time steps).
        """
        return [_genome(np.zeros_like(self.upper)), _genome(self.upper)]


def _genome(x: np.ndarray) -> Genome:
    return tuple(int(v) for v in x)
