"""The rules every setting is checked by, declared once beside its default.

A settings record (``SearchSettings``, ``EvalSettings``, ``RayResources``, ``TrainSettings``, ...)
declares each checked field with :func:`setting`, which stores the field's :class:`Rule` in its
metadata, and calls :func:`check_fields` from ``__post_init__``. So the Python API, which builds or
``replace``-s these records, and the CLI, whose flag types come from the same rules
(:func:`rule_of`, ``evosnn.cli._args.flag``), apply one rule in one place: ``population=10**20``
and ``--population 1e20`` are refused by the same bound, as a :class:`SettingError`.

Example:
    >>> from dataclasses import dataclass
    >>> @dataclass(frozen=True)
    ... class Budget:
    ...     population: int = setting(16, Whole(2, 100))
    ...     def __post_init__(self) -> None:
    ...         check_fields(self)
    >>> Budget(population=1000)
    Traceback (most recent call last):
    ...
    evosnn.core.errors.SettingError: population=1000: must be from 2 to 100, got 1000
    >>> rule_of(Budget, "population").parse("50")
    50
"""

from __future__ import annotations

import math
import numbers
import re
from dataclasses import dataclass, field, fields
from typing import Any, Protocol

from evosnn.core.errors import SettingError

__all__ = [
    "COUNT",
    "CPUS",
    "DEFAULT_DEVICE",
    "DEFAULT_GPUS",
    "DEFAULT_SEED",
    "GPUS",
    "INIT",
    "LEARNING_RATE",
    "MAX_COUNT",
    "MAX_RESOURCE",
    "MAX_SEED",
    "MAX_WORKERS",
    "NON_NEGATIVE",
    "PICK",
    "SEED",
    "WORKERS",
    "Choice",
    "Device",
    "Real",
    "Rule",
    "Whole",
    "check_fields",
    "check_text",
    "check_value",
    "rule_of",
    "setting",
]

#: Upper bounds of counts: far above any real use, low enough that a typo (``1e20``) is refused
#: instead of running for ever.
MAX_COUNT = 1_000_000
MAX_WORKERS = 4096
MAX_RESOURCE = 1024.0
#: Seeds are 32-bit (NumPy's and Python's generators both take them).
MAX_SEED = 2**32 - 1

_RULE = "evosnn.rule"


class Rule(Protocol):
    """One setting's rule: :meth:`check` a Python value, :meth:`parse` a command-line text.

    Both raise ``ValueError`` with the reason only ("must be from 2 to 100, got 1000"); the caller
    names the setting (:func:`check_value`, the CLI's flag types)."""

    def check(self, value: object) -> None: ...

    def parse(self, text: str) -> Any: ...


def _finite(text: str, kind: type[int] | type[float]) -> float:
    """``text`` as a finite number of ``kind`` (an integer refuses ``1e3`` and ``2.5``)."""
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(
            f"must be {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise ValueError(f"must be a finite number, got {text!r}")
    return value


@dataclass(frozen=True)
class Whole:
    """An integer in ``[low, high]`` (None too with ``optional``); never a bool or a float."""

    low: int
    high: int = MAX_COUNT
    optional: bool = False
    #: Why the bounds are what they are, added to the message ("a correlation needs 6").
    why: str = ""

    def _reason(self, shown: object) -> str:
        return f"must be from {self.low} to {self.high}, got {shown}" + (
            f" ({self.why})" if self.why else ""
        )

    def check(self, value: object) -> None:
        if value is None and self.optional:
            return
        if isinstance(value, bool) or not isinstance(value, numbers.Integral):
            raise ValueError(f"must be an integer from {self.low} to {self.high}, got {value!r}")
        if not self.low <= int(value) <= self.high:
            raise ValueError(self._reason(value))

    def parse(self, text: str) -> int:
        value = int(_finite(text, int))
        if not self.low <= value <= self.high:
            raise ValueError(self._reason(text))
        return value


@dataclass(frozen=True)
class Real:
    """A finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""

    low: float
    high: float
    low_open: bool = False

    def _reason(self, shown: object) -> str:
        above = "above" if self.low_open else "at least"
        return f"must be a number {above} {self.low:g} and at most {self.high:g}, got {shown}"

    def check(self, value: object) -> None:
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise ValueError(self._reason(repr(value)))
        number = float(value)
        if (
            not math.isfinite(number)
            or not self.low <= number <= self.high
            or (self.low_open and number == self.low)
        ):
            raise ValueError(self._reason(value))

    def parse(self, text: str) -> float:
        value = _finite(text, float)
        try:
            self.check(value)
        except ValueError:
            raise ValueError(self._reason(text)) from None
        return value


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of names."""

    choices: tuple[str, ...]

    def check(self, value: object) -> None:
        if value not in self.choices:
            raise ValueError(f"must be one of {', '.join(self.choices)}; got {value!r}")

    def parse(self, text: str) -> str:
        self.check(text)
        return text


_DEVICE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


@dataclass(frozen=True)
class Device:
    """A device name: ``cpu``, ``cuda`` or ``cuda:N`` (whether it exists here is asked of torch
    where it is used: ``evosnn.evaluate.device.check_device``)."""

    def split(self, value: object) -> tuple[str, int | None]:
        """``(kind, index)`` of a device name, without asking the hardware."""
        match = _DEVICE.match(value.strip().lower()) if isinstance(value, str) else None
        if match is None or (match.group(1) == "cpu" and match.group(2) is not None):
            raise ValueError("not a device; use cpu, cuda or cuda:N")
        return match.group(1), None if match.group(2) is None else int(match.group(2))

    def check(self, value: object) -> None:
        self.split(value)

    def parse(self, text: str) -> str:
        self.check(text)
        return text


#: The defaults several settings records share (and the CLI's flags take): one each.
DEFAULT_SEED = 0
DEFAULT_DEVICE = "cpu"
DEFAULT_GPUS = 0.0

#: The rules several settings share (a seed is a seed wherever it is given).
SEED = Whole(0, MAX_SEED)
COUNT = Whole(1)
NON_NEGATIVE = Whole(0)
LEARNING_RATE = Real(0.0, 1e9, low_open=True)
CPUS = Real(0.0, MAX_RESOURCE, low_open=True)
GPUS = Real(0.0, MAX_RESOURCE)
WORKERS = Whole(0, MAX_WORKERS)
#: What an export picks (``evosnn export --pick``, ``evosnn.export(pick=)``).
PICK = Choice(("pareto", "knee", "best-faeb", "trial"))
#: How a retraining starts (``evosnn train --init``, ``evosnn.retrain(init=)``).
INIT = Choice(("scratch", "inherited"))


def setting(default: Any, rule: Rule) -> Any:
    """A dataclass field with ``default`` whose values :func:`check_fields` checks by ``rule``."""
    return field(default=default, metadata={_RULE: rule})


def rule_of(record: type, name: str) -> Rule:
    """The rule of field ``name`` of the dataclass ``record`` (for the CLI's flag types).

    Raises:
        KeyError: the field has no rule.
    """
    for item in fields(record):
        if item.name == name and _RULE in item.metadata:
            rule: Rule = item.metadata[_RULE]
            return rule
    raise KeyError(f"{record.__name__}.{name} has no rule")


def check_value(name: str, value: object, rule: Rule) -> None:
    """Check one value by ``rule``.

    Raises:
        SettingError: ``name=value: reason``.
    """
    try:
        rule.check(value)
    except ValueError as exc:
        raise SettingError(f"{name}={value!r}: {exc}") from None


def check_text(name: str, value: object) -> None:
    """An optional text argument (a storage URL, a study name): None (its default) or non-empty.

    Raises:
        SettingError: an empty or blank string, or not a string.
    """
    if value is not None and not (isinstance(value, str) and value.strip()):
        raise SettingError(f"{name}={value!r}: give a non-empty text, or leave it out")


def check_fields(record: object) -> None:
    """Check every field of the dataclass instance ``record`` that was declared with a rule.

    Raises:
        SettingError: the first field out of its rule, named with its value and the rule.
    """
    for item in fields(record):  # type: ignore[arg-type]
        rule = item.metadata.get(_RULE)
        if rule is not None:
            check_value(item.name, getattr(record, item.name), rule)
