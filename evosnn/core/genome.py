"""Genomes: a fixed-length vector of choice indices, the one encoding every engine sees.

Layout (``L`` = the space's largest depth)::

    [depth, embed_dim, time_steps,  mlp_ratio_0, num_heads_0, threshold_0, tau_0,  ...  _{L-1}]

A block also carries ``mixer_b``, ``neuron_b`` and ``level_b`` genes (after ``tau_b``, in that
order) where the space offers more than one choice of each; with one choice the genome is exactly
the layout above, so spaces, studies and trained supernets from before these genes existed are
unchanged.

Each gene is an index into the space's choice list. The length never changes with the depth, because
Optuna's NSGA-II samples a parameter that is missing from some trials at random, and pymoo and DEAP
want fixed-length vectors. Genes of blocks at or beyond the decoded depth are *inert*: they do not
change the subnet, and :meth:`GenomeCodec.canonical` zeroes them so that two genomes that decode to
the same subnet share one key and are never evaluated twice. So are the heads gene of a block whose
mixer does not use heads (``sdsa``, ``mlp``) and the level gene of a block with a binary neuron
(:func:`evosnn.core.config.inert_block_genes`).

Example (from the repository root):
    >>> from evosnn.core.space import load_space
    >>> codec = GenomeCodec(load_space("search_spaces/digits-tiny.yaml"))
    >>> genome = codec.sample(random.Random(0))
    >>> len(genome), codec.decode(genome).depth
    (11, 2)
    >>> codec.encode(codec.decode(genome)) == codec.canonical(genome)
    True
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from evosnn.core.config import SubnetConfig, inert_block_genes
from evosnn.core.errors import ConfigError
from evosnn.core.space import SearchSpace

__all__ = [
    "BLOCK_GENES",
    "GLOBAL_GENES",
    "OPTIONAL_BLOCK_GENES",
    "GeneSpec",
    "Genome",
    "GenomeCodec",
]

Genome = tuple[int, ...]

#: Genes carried once per network, in genome order.
GLOBAL_GENES = ("depth", "embed_dim", "time_steps")
#: Genes carried once per block, in genome order.
BLOCK_GENES = ("mlp_ratio", "num_heads", "threshold", "tau")
#: Per-block genes carried (after those) only where the space offers more than one choice.
OPTIONAL_BLOCK_GENES = ("mixer", "neuron", "level")


@dataclass(frozen=True)
class GeneSpec:
    """One variable of the genome: its name (``threshold_2``), field, block and choices."""

    name: str
    field: str
    block: int | None
    choices: tuple[float | int | str, ...]

    @property
    def upper(self) -> int:
        """Largest valid index."""
        return len(self.choices) - 1


class GenomeCodec:
    """Encodes and decodes genomes of one search space."""

    def __init__(self, space: SearchSpace) -> None:
        self.space = space
        ch = space.choices
        #: The per-block genes of this space, in genome order.
        self.block_genes: tuple[str, ...] = BLOCK_GENES + tuple(
            f for f in OPTIONAL_BLOCK_GENES if len(getattr(ch, f)) > 1
        )
        genes = [GeneSpec(f, f, None, tuple(getattr(ch, f))) for f in GLOBAL_GENES]
        for block in range(space.max_depth):
            genes += [
                GeneSpec(f"{f}_{block}", f, block, tuple(getattr(ch, f))) for f in self.block_genes
            ]
        self.genes: tuple[GeneSpec, ...] = tuple(genes)
        self._index = {g.name: i for i, g in enumerate(self.genes)}

    # ------------------------------------------------------------------ shape
    def __len__(self) -> int:
        return len(self.genes)

    @property
    def names(self) -> tuple[str, ...]:
        """Gene names in genome order (these are the Optuna parameter names)."""
        return tuple(g.name for g in self.genes)

    def bounds(self) -> tuple[list[int], list[int]]:
        """Inclusive integer bounds ``(lower, upper)`` for pymoo, DEAP and Optuna."""
        return [0] * len(self.genes), [g.upper for g in self.genes]

    def index(self, name: str) -> int:
        """Position of the gene called ``name``."""
        return self._index[name]

    def block_slice(self, block: int) -> slice:
        """Positions of the genes of ``block``."""
        start = self.active_length(block)
        return slice(start, start + len(self.block_genes))

    def active_length(self, depth: int) -> int:
        """How many leading genes a genome of ``depth`` blocks uses (the rest are inert)."""
        return len(GLOBAL_GENES) + depth * len(self.block_genes)

    # ------------------------------------------------------------------ conversion
    def validate(self, genome: Sequence[int]) -> Genome:
        """Return ``genome`` as a tuple of ints, or raise ConfigError naming the bad gene."""
        if len(genome) != len(self.genes):
            raise ConfigError(f"genome has {len(genome)} genes, space needs {len(self.genes)}")
        out = []
        for gene, value in zip(self.genes, genome, strict=True):
            index = int(value)
            if index != value or not 0 <= index <= gene.upper:
                raise ConfigError(f"gene {gene.name}: index {value!r} outside 0..{gene.upper}")
            out.append(index)
        return tuple(out)

    def depth_of(self, genome: Sequence[int]) -> int:
        """The decoded depth of ``genome``."""
        return int(self.space.choices.depth[int(genome[0])])

    def decode(self, genome: Sequence[int]) -> SubnetConfig:
        """The subnet a genome stands for (inert genes ignored)."""
        genome = self.validate(genome)
        values = [gene.choices[i] for gene, i in zip(self.genes, genome, strict=True)]
        depth = int(values[0])
        ch = self.space.choices
        per_block: dict[str, list[float | int | str]] = {
            f: [] for f in BLOCK_GENES + OPTIONAL_BLOCK_GENES
        }
        for block in range(depth):
            own = dict(zip(self.block_genes, values[self.block_slice(block)], strict=True))
            for field in OPTIONAL_BLOCK_GENES:
                own.setdefault(field, getattr(ch, field)[0])
            for field in inert_block_genes(str(own["mixer"]), str(own["neuron"])):
                own[field] = getattr(ch, field)[0]  # inert: the canonical value
            for field, value in own.items():
                per_block[field].append(value)
        return SubnetConfig(
            depth=depth,
            embed_dim=int(values[1]),
            time_steps=int(values[2]),
            mlp_ratio=tuple(float(v) for v in per_block["mlp_ratio"]),
            num_heads=tuple(int(v) for v in per_block["num_heads"]),
            threshold=tuple(float(v) for v in per_block["threshold"]),
            tau=tuple(float(v) for v in per_block["tau"]),
            mixer=tuple(str(v) for v in per_block["mixer"]),
            neuron=tuple(str(v) for v in per_block["neuron"]),
            level=tuple(int(v) for v in per_block["level"]),
        )

    def encode(self, config: SubnetConfig) -> Genome:
        """The canonical genome of ``config`` (inert genes 0); ConfigError if outside the space."""
        config.check_in(self.space)
        if config.depth > self.space.max_depth:
            raise ConfigError(f"depth {config.depth} exceeds the space's {self.space.max_depth}")
        genome = [0] * len(self.genes)
        for field in GLOBAL_GENES:
            genome[self._index[field]] = self._choice_index(field, getattr(config, field))
        for block in range(config.depth):
            for field in self.block_genes:
                if not config.live(field, block):
                    continue  # inert: index 0, as canonical() sets it
                value = getattr(config, field)[block]
                genome[self._index[f"{field}_{block}"]] = self._choice_index(field, value)
        return self.canonical(genome)

    def canonical(self, genome: Sequence[int]) -> Genome:
        """``genome`` with its inert genes set to 0: equal keys <=> equal subnets."""
        genome = self.validate(genome)
        depth = self.depth_of(genome)
        active = self.active_length(depth)
        out = list(genome[:active]) + [0] * (len(genome) - active)
        for block in range(depth):
            mixer, neuron = self._value(out, "mixer", block), self._value(out, "neuron", block)
            for field in inert_block_genes(mixer, neuron) & set(self.block_genes):
                out[self._index[f"{field}_{block}"]] = 0
        return tuple(out)

    def _value(self, genome: Sequence[int], field: str, block: int) -> str:
        """``block``'s choice of an optional gene (the space's only one where it is not a gene)."""
        choices = getattr(self.space.choices, field)
        gene = self._index.get(f"{field}_{block}")
        return str(choices[0] if gene is None else choices[genome[gene]])

    def _choice_index(self, field: str, value: float | int | str) -> int:
        choices = list(getattr(self.space.choices, field))
        try:
            return choices.index(value)
        except ValueError:
            raise ConfigError(f"{field}: {value} is not one of {choices}") from None

    def describe(self, genome: Sequence[int]) -> str:
        """A one-line description of ``genome``'s subnet (its mixers where the space searches
        them; heads a mixer does not use shown as ``-``)."""
        c = self.decode(genome)

        def shown(field: str) -> str:
            values = getattr(c, field)
            return (
                f"[{', '.join(str(v) if c.live(field, b) else '-' for b, v in enumerate(values))}]"
            )

        text = (
            f"depth {c.depth}, D {c.embed_dim}, T {c.time_steps}, mlp {list(c.mlp_ratio)}, "
            f"heads {shown('num_heads')}, thr {shown('threshold')}, tau {shown('tau')}"
        )
        for field in OPTIONAL_BLOCK_GENES:
            if field in self.block_genes:
                text += f", {field} {shown(field)}"
        return text

    # ------------------------------------------------------------------ sampling
    def sample(self, rng: random.Random) -> Genome:
        """A uniformly random genome (every gene independent and uniform)."""
        return tuple(rng.randint(0, g.upper) for g in self.genes)

    def sample_config(self, rng: random.Random) -> SubnetConfig:
        """A random subnet: depth uniform, then every active gene uniform."""
        return self.decode(self.sample(rng))
