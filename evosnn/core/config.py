"""SubnetConfig: one decoded candidate, its architecture and neuron settings.

This is what the supernet computes with, what is exported, and what ``evosnn train`` consumes.

Example:
    >>> cfg = SubnetConfig(depth=1, embed_dim=32, mlp_ratio=(2.0,), num_heads=(2,),
    ...                    threshold=(1.0,), tau=(2.0,), time_steps=4)
    >>> SubnetConfig.from_dict(cfg.to_dict()) == cfg
    True
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING, Any

import yaml

from evosnn.core.errors import ConfigError
from evosnn.core.mixers import DEFAULT_MIXER, MIXERS
from evosnn.core.neurons import DEFAULT_LEVEL, DEFAULT_NEURON, NEURONS

if TYPE_CHECKING:
    from evosnn.core.space import SearchSpace

__all__ = [
    "SubnetConfig",
    "inert_block_genes",
    "mlp_hidden",
    "sps_pool_after",
    "sps_sides",
    "sps_widths",
]


def inert_block_genes(mixer: str, neuron: str) -> frozenset[str]:
    """The per-block genes a block with this token mixer and neuron model does not use.

    ``threshold`` and ``tau`` reach a block's mixer neurons (q, k, v or the token linear, and the
    attention neuron's tau) whatever its neuron model, so they are inert only where neither the
    mixer's neurons nor the projection and MLP neurons use them (no registered mixer).

    Example:
        >>> sorted(inert_block_genes("sdsa", "ilif")), sorted(inert_block_genes("ssa", "lif"))
        (['num_heads'], ['level'])
    """
    m, n = MIXERS[mixer], NEURONS[neuron]
    unused = {
        "num_heads": not m.uses_heads,
        "threshold": not (n.uses_threshold or m.block_neurons),
        "tau": not (n.uses_tau or m.block_neurons),
        "level": not n.uses_level,
    }
    return frozenset(gene for gene, inert in unused.items() if inert)


def sps_widths(embed_dim: int) -> tuple[int, int, int, int]:
    """Channels of the four patch-splitting stages: D/8, D/4, D/2, D.

    Part of the architecture's definition: the supernet, the stand-alone network and the size and
    energy counts all derive the patch splitter's widths from here.
    """
    return embed_dim // 8, embed_dim // 4, embed_dim // 2, embed_dim


def sps_pool_after(pools: int) -> tuple[bool, bool, bool, bool]:
    """Which of the four patch-splitting stages end in Spikformer's 3x3 stride-2 max-pool.

    ``pools=2``: the last two (the CIFAR geometry, 32x32 -> 8x8 tokens); ``pools=4``: every stage
    (the event geometry of Spikformer's CIFAR10-DVS / DVS128 Gesture models, 128x128 -> 8x8).
    """
    if pools == 2:
        return False, False, True, True
    if pools == 4:
        return True, True, True, True
    raise ValueError(f"the patch splitter pools 2 or 4 times, not {pools}")


def sps_sides(image_size: int, pools: int) -> tuple[int, int, int, int, int]:
    """Side of the feature map each patch-splitting stage reads, then the token grid's side.

    Example:
        >>> sps_sides(32, 2), sps_sides(128, 4)
        ((32, 32, 32, 16, 8), (128, 64, 32, 16, 8))
    """
    sides = [image_size]
    for pooled in sps_pool_after(pools):
        sides.append(sides[-1] // 2 if pooled else sides[-1])
    return sides[0], sides[1], sides[2], sides[3], sides[4]


def mlp_hidden(embed_dim: int, mlp_ratio: float) -> int:
    """Hidden width of a block's MLP: ``round(embed_dim * mlp_ratio)``, at least 1."""
    return max(1, round(embed_dim * mlp_ratio))


@dataclass(frozen=True)
class SubnetConfig:
    """A Spikformer subnet: one embed dim and T per network, the rest per block.

    Attributes:
        depth: number of transformer blocks.
        embed_dim: token width D (the patch stages use D/8, D/4, D/2, D channels).
        mlp_ratio: per block, MLP hidden width / D.
        num_heads: per block, attention heads (must divide D).
        threshold: per block, firing threshold of the block's LIF neurons.
        tau: per block, membrane time constant of the block's LIF neurons.
        time_steps: T, how often the static image is presented.
        mixer: per block, the token mixer (:mod:`evosnn.core.mixers`); left out, every block
            uses Spikformer's ``ssa`` (so configs and exports written before the gene existed
            read as all-``ssa``).
        neuron: per block, the neuron model of its projection and MLP (:mod:`evosnn.core.neurons`);
            left out, ``lif``.
        level: per block, the largest spike value ``D`` of an integer neuron (``ilif``); left out,
            4 (it means nothing for binary neurons).
    """

    depth: int
    embed_dim: int
    mlp_ratio: tuple[float, ...]
    num_heads: tuple[int, ...]
    threshold: tuple[float, ...]
    tau: tuple[float, ...]
    time_steps: int
    mixer: tuple[str, ...] = ()
    neuron: tuple[str, ...] = ()
    level: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.depth, int) or self.depth < 1:
            raise ConfigError(f"depth: must be a positive integer, got {self.depth!r}")
        if not isinstance(self.embed_dim, int) or self.embed_dim < 8 or self.embed_dim % 8:
            raise ConfigError(
                f"embed_dim: must be a positive multiple of 8, got {self.embed_dim!r}"
            )
        if not isinstance(self.time_steps, int) or self.time_steps < 1:
            raise ConfigError(f"time_steps: must be a positive integer, got {self.time_steps!r}")
        for name, default in _LATE_FIELDS.items():
            if getattr(self, name) == ():
                object.__setattr__(self, name, (default,) * self.depth)
        for name in ("mlp_ratio", "num_heads", "threshold", "tau", *_LATE_FIELDS):
            values = getattr(self, name)
            if not isinstance(values, tuple) or len(values) != self.depth:
                raise ConfigError(
                    f"{name}: needs one value per block ({self.depth}), got {values!r}"
                )
        for i, heads in enumerate(self.num_heads):
            if not isinstance(heads, int) or heads < 1 or self.embed_dim % heads:
                raise ConfigError(
                    f"num_heads[{i}]: {heads!r} does not divide embed_dim {self.embed_dim}"
                )
        for name, known in (("mixer", MIXERS), ("neuron", NEURONS)):
            for i, value in enumerate(getattr(self, name)):
                if value not in known:
                    raise ConfigError(f"{name}[{i}]: {value!r} is not one of {list(known)}")
        for i, level in enumerate(self.level):
            if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 64:
                raise ConfigError(f"level[{i}]: must be an integer in 1..64, got {level!r}")
        for name, low in (("mlp_ratio", 0.0), ("threshold", 0.0), ("tau", 1.0)):
            for i, value in enumerate(getattr(self, name)):
                ok = isinstance(value, float) and math.isfinite(value)
                if not ok or value < low or (low == 0.0 and value == 0.0):
                    bound = ">= 1" if low else "> 0"
                    raise ConfigError(
                        f"{name}[{i}]: must be a finite number {bound}, got {value!r}"
                    )

    # ------------------------------------------------------------------ sizes
    def mlp_hidden(self, block: int) -> int:
        """MLP hidden width of ``block``."""
        return mlp_hidden(self.embed_dim, self.mlp_ratio[block])

    # ------------------------------------------------------------------ (de)serialisation
    def to_dict(self) -> dict[str, Any]:
        """Plain lists and numbers, safe for YAML and JSON; ``mixer`` is left out when every
        block uses the default (so such a config writes what it wrote before the gene existed)."""
        data = asdict(self)
        for key, value in data.items():
            if isinstance(value, tuple):
                data[key] = list(value)
        for name, default in _LATE_FIELDS.items():
            if all(v == default for v in getattr(self, name)):
                del data[name]
        return data

    def live(self, gene: str, block: int) -> bool:
        """Whether ``block``'s per-block ``gene`` changes the network (its models use it)."""
        return gene not in inert_block_genes(self.mixer[block], self.neuron[block])

    def levels(self, block: int) -> int:
        """The largest spike value of ``block``'s projection and MLP neurons (1 if binary)."""
        return NEURONS[self.neuron[block]].levels(self.level[block])

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "config") -> SubnetConfig:
        """Build from a mapping (e.g. a YAML file edited by hand); errors name ``source``."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping, got {type(data).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(str(k) for k in set(data) - names)
        if unknown:
            raise ConfigError(f"{source}: unknown field(s) {unknown}")
        missing = sorted(names - set(data) - set(_LATE_FIELDS))
        if missing:
            raise ConfigError(f"{source}: missing field(s) {missing}")
        try:
            return cls(
                depth=_int(data["depth"], "depth"),
                embed_dim=_int(data["embed_dim"], "embed_dim"),
                mlp_ratio=_floats(data["mlp_ratio"], "mlp_ratio"),
                num_heads=tuple(_int(v, "num_heads") for v in _seq(data["num_heads"], "num_heads")),
                threshold=_floats(data["threshold"], "threshold"),
                tau=_floats(data["tau"], "tau"),
                time_steps=_int(data["time_steps"], "time_steps"),
                mixer=tuple(_str(v, "mixer") for v in _seq(data.get("mixer", []), "mixer")),
                neuron=tuple(_str(v, "neuron") for v in _seq(data.get("neuron", []), "neuron")),
                level=tuple(_int(v, "level") for v in _seq(data.get("level", []), "level")),
            )
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from exc

    def to_yaml(self) -> str:
        """YAML text (flow-style lists) that :meth:`from_yaml` reads back to an equal config."""
        return yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None)

    @classmethod
    def from_yaml(cls, text: str, *, source: str = "config") -> SubnetConfig:
        """Parse YAML text with the safe loader."""
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{source}: not valid YAML ({exc.__class__.__name__})") from exc
        return cls.from_dict(data, source=source)

    # ------------------------------------------------------------------ the space
    def check_in(self, space: SearchSpace) -> None:
        """Raise ConfigError naming the first value that is not a choice of ``space``."""
        ch = space.choices
        scalars = (
            ("depth", self.depth, ch.depth),
            ("embed_dim", self.embed_dim, ch.embed_dim),
            ("time_steps", self.time_steps, ch.time_steps),
        )
        for name, value, allowed in scalars:
            if value not in allowed:
                raise ConfigError(
                    f"{name}: {value} is not a choice of space {space.name!r} {allowed}"
                )
        for name in ("mlp_ratio", "num_heads", "threshold", "tau", *_LATE_FIELDS):
            allowed = getattr(ch, name)
            for i, value in enumerate(getattr(self, name)):
                if value not in allowed and self.live(name, i):
                    raise ConfigError(
                        f"{name}[{i}]: {value} is not a choice of space {space.name!r} {allowed}"
                    )

    @classmethod
    def largest(cls, space: SearchSpace) -> SubnetConfig:
        """The largest subnet of ``space`` at its default neuron settings (the energy reference)."""
        ch, d = space.choices, space.max_depth
        return cls(
            depth=d,
            embed_dim=max(ch.embed_dim),
            mlp_ratio=(max(ch.mlp_ratio),) * d,
            num_heads=(max(ch.num_heads),) * d,
            threshold=(space.neuron_defaults.threshold,) * d,
            tau=(space.neuron_defaults.tau,) * d,
            time_steps=space.neuron_defaults.time_steps,
            mixer=(ch.mixer[0],) * d,
            neuron=(ch.neuron[0],) * d,
            level=(ch.level[0],) * d,
        )

    @classmethod
    def smallest(cls, space: SearchSpace) -> SubnetConfig:
        """The smallest subnet of ``space`` at its default neuron settings."""
        ch, d = space.choices, min(space.choices.depth)
        return cls(
            depth=d,
            embed_dim=min(ch.embed_dim),
            mlp_ratio=(min(ch.mlp_ratio),) * d,
            num_heads=(min(ch.num_heads),) * d,
            threshold=(space.neuron_defaults.threshold,) * d,
            tau=(space.neuron_defaults.tau,) * d,
            time_steps=space.neuron_defaults.time_steps,
            mixer=(ch.mixer[0],) * d,
            neuron=(ch.neuron[0],) * d,
            level=(ch.level[0],) * d,
        )


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name}: expected an integer, got {value!r}")
    return value


#: Per-block fields added after configs were first written, with the value a config that leaves
#: them out has (written out only where some block differs, so older files read back equal).
_LATE_FIELDS: dict[str, Any] = {
    "mixer": DEFAULT_MIXER,
    "neuron": DEFAULT_NEURON,
    "level": DEFAULT_LEVEL,
}


def _str(value: Any, name: str) -> str:
    if not isinstance(value, str):
        raise ConfigError(f"{name}: expected a name, got {value!r}")
    return value


def _seq(value: Any, name: str) -> list[Any]:
    if not isinstance(value, (list, tuple)):
        raise ConfigError(f"{name}: expected a list, got {value!r}")
    return list(value)


def _floats(value: Any, name: str) -> tuple[float, ...]:
    out = []
    for v in _seq(value, name):
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise ConfigError(f"{name}: expected numbers, got {v!r}")
        out.append(float(v))
    return tuple(out)
