"""Search engines: pure ask/tell over genomes (no Ray, no storage, no torch)."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import fields
from typing import Any

from evosnn.core.errors import EvosnnError
from evosnn.core.genome import GenomeCodec
from evosnn.engines.base import FAILED_ENERGY, Engine, Outcome

__all__ = ["ENGINES", "FAILED_ENERGY", "Engine", "Outcome", "make_engine"]

#: The one engine registry: name -> ``module:Class`` (imported on first use, so that naming the
#: engines loads none of pymoo, DEAP or Optuna). The CLI's ``--engine`` choices are its keys.
ENGINES: dict[str, str] = {
    "pymoo": "evosnn.engines.pymoo_engine:PymooEngine",
    "deap": "evosnn.engines.deap_engine:DeapEngine",
    "optuna": "evosnn.engines.optuna_engine:OptunaEngine",
    "random": "evosnn.engines.random_engine:RandomEngine",
    "surrogate": "evosnn.engines.surrogate_engine:SurrogateEngine",
}


def make_engine(
    name: str, codec: GenomeCodec, *, population: int, seed: int, **options: Any
) -> Engine:
    """Build the engine called ``name`` (a key of :data:`ENGINES`).

    Examples:
        >>> from evosnn.core.space import load_space
        >>> engine = make_engine("random", GenomeCodec(load_space("digits-tiny")),
        ...                      population=4, seed=0)
        >>> type(engine).__name__
        'RandomEngine'
    """
    if population < 2:
        raise EvosnnError(f"population must be at least 2, got {population}")
    if name not in ENGINES:
        raise EvosnnError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
    module, cls = ENGINES[name].split(":")
    engine_class: Callable[..., Engine] = getattr(importlib.import_module(module), cls)
    record = getattr(engine_class, "Settings", None)  # an engine's own settings record
    if record is not None:
        known = {item.name for item in fields(record)}
        packed = {key: options.pop(key) for key in sorted(known & set(options))}
        if packed:
            options["settings"] = record(**packed)
    return engine_class(codec, population=population, seed=seed, **options)
