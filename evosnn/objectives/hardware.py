"""Hardware profiles: energy per operation and per memory access, as data files with sources.

A profile is a YAML file (the shipped ones live in ``evosnn/objectives/profiles/``): integer and
float add / multiply energies by bit width, on-chip memory levels by capacity (a tensor lives in
the smallest level that holds it; the last level has no capacity and holds anything), and
optionally the lumped per-event costs of a neuromorphic core. Every table and level carries a
``source``. A space names a profile by its shipped name or by a path to a YAML file.

Widths between the listed ones scale from the nearest listed width: an adder's energy in
proportion to its width, a multiplier's in proportion to the product of its operand widths (the
usual first-order rule for array adders and multipliers).

Example:
    >>> profile = load_profile("cmos45-horowitz")
    >>> profile.add_pj(32), profile.mult_pj(32, 32, floating=True)
    (0.1, 3.7)
    >>> profile.level(bits=8 * 8192).name, profile.level(bits=8 * 8193).name
    ('sram-8kb', 'sram-32kb')
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Annotated

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evosnn.core.errors import SpaceError

__all__ = [
    "PROFILE_DIR",
    "EventCosts",
    "HardwareProfile",
    "MemoryLevel",
    "OpTable",
    "load_profile",
    "shipped_profiles",
]

#: Where the shipped profiles live.
PROFILE_DIR = Path(__file__).resolve().parent / "profiles"

_Energy = Annotated[float, Field(ge=0.0, le=1e9, allow_inf_nan=False)]
_Source = Annotated[str, Field(min_length=3)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class OpTable(_Strict):
    """Energy in pJ of one operation by operand width in bits."""

    source: _Source
    pj: dict[Annotated[int, Field(ge=1, le=128)], _Energy] = Field(min_length=1)

    def at(self, bits: float, *, power: int) -> float:
        """The energy at ``bits``, scaled from the nearest listed width by ``(bits/w) ** power``."""
        width = min(self.pj, key=lambda w: (abs(w - bits), w))
        return self.pj[width] * (bits / width) ** power


class MemoryLevel(_Strict):
    """One memory level: capacity (None: unbounded) and energy per bit read or written."""

    name: Annotated[str, Field(min_length=1)]
    capacity_bytes: Annotated[int, Field(ge=1)] | None = None
    read_pj_per_bit: _Energy
    write_pj_per_bit: _Energy
    source: _Source


class EventCosts(_Strict):
    """Lumped costs of a neuromorphic core, per synaptic event, neuron update and spike sent."""

    synaptic_op_pj: _Energy
    neuron_update_pj: _Energy
    spike_pj: _Energy
    source: _Source


class HardwareProfile(_Strict):
    """Energies per operation and per access of one kind of hardware."""

    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    int_add: OpTable
    int_mult: OpTable
    fp_add: OpTable
    fp_mult: OpTable
    memory: list[MemoryLevel] = Field(min_length=1)
    events: EventCosts | None = None

    @model_validator(mode="after")
    def _levels_grow(self) -> HardwareProfile:
        caps = [m.capacity_bytes for m in self.memory]
        if any(c is None for c in caps[:-1]):
            raise ValueError("memory: only the last level may omit capacity_bytes")
        bounded = [c for c in caps if c is not None]
        if bounded != sorted(bounded):
            raise ValueError("memory: levels must be listed smallest first")
        return self

    def add_pj(self, bits: float, *, floating: bool = False) -> float:
        """One add (accumulate) of ``bits``-wide operands."""
        return (self.fp_add if floating else self.int_add).at(bits, power=1)

    def mult_pj(self, bits_a: float, bits_b: float, *, floating: bool = False) -> float:
        """One multiply of a ``bits_a``-wide by a ``bits_b``-wide operand."""
        table = self.fp_mult if floating else self.int_mult
        return table.at((bits_a * bits_b) ** 0.5, power=2)

    def level(self, *, bits: float) -> MemoryLevel:
        """The smallest memory level that holds a tensor of ``bits`` bits."""
        for level in self.memory:
            if level.capacity_bytes is None or bits <= 8 * level.capacity_bytes:
                return level
        return self.memory[-1]

    def read_pj(self, bits: float, *, size_bits: float) -> float:
        """Reading ``bits`` bits from the level that holds a tensor of ``size_bits`` bits."""
        return bits * self.level(bits=size_bits).read_pj_per_bit

    def write_pj(self, bits: float, *, size_bits: float) -> float:
        """Writing ``bits`` bits into the level that holds a tensor of ``size_bits`` bits."""
        return bits * self.level(bits=size_bits).write_pj_per_bit


def shipped_profiles() -> list[str]:
    """Names of the profiles shipped with evosnn."""
    return sorted(p.stem for p in PROFILE_DIR.glob("*.yaml"))


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(top level)"


@cache
def load_profile(name_or_path: str) -> HardwareProfile:
    """A shipped profile by name (``cmos45-horowitz``, ``loihi``) or a profile YAML file by path.

    Raises:
        SpaceError: one line naming the file and the field at fault (or the unknown name).
    """
    path = PROFILE_DIR / f"{name_or_path}.yaml"
    if not path.is_file():
        path = Path(name_or_path)
        if path.suffix not in (".yaml", ".yml") or not path.is_file():
            raise SpaceError(
                f"energy.profile: no hardware profile {name_or_path!r} (shipped: "
                f"{', '.join(shipped_profiles())}; or give the path of a profile .yaml file)"
            )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise SpaceError(f"{path}: cannot read hardware profile ({exc})") from exc
    if not isinstance(data, dict):
        raise SpaceError(f"{path}: a hardware profile must be a mapping")
    try:
        return HardwareProfile.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise SpaceError(f"{path}: {_where(first['loc'])}: {first['msg']}") from exc
