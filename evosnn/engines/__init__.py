"""Search engines: pure ask/tell over genomes (no Ray, no storage, no torch)."""

from __future__ import annotations

from typing import Any

from evosnn.core.errors import EvosnnError
from evosnn.core.genome import GenomeCodec
from evosnn.engines.base import FAILED_ENERGY, Engine, Outcome

__all__ = ["ENGINES", "FAILED_ENERGY", "Engine", "Outcome", "make_engine"]

ENGINES = ("pymoo", "deap", "optuna", "random", "surrogate")


def make_engine(
    name: str, codec: GenomeCodec, *, population: int, seed: int, **options: Any
) -> Engine:
    """Build the engine called ``name`` (one of :data:`ENGINES`)."""
    if population < 2:
        raise EvosnnError(f"population must be at least 2, got {population}")
    if name == "pymoo":
        from evosnn.engines.pymoo_engine import PymooEngine

        return PymooEngine(codec, population=population, seed=seed, **options)
    if name == "deap":
        from evosnn.engines.deap_engine import DeapEngine

        return DeapEngine(codec, population=population, seed=seed, **options)
    if name == "optuna":
        from evosnn.engines.optuna_engine import OptunaEngine

        return OptunaEngine(codec, population=population, seed=seed, **options)
    if name == "random":
        from evosnn.engines.random_engine import RandomEngine

        return RandomEngine(codec, population=population, seed=seed, **options)
    if name == "surrogate":
        from evosnn.engines.surrogate_engine import SurrogateEngine

        return SurrogateEngine(codec, population=population, seed=seed, **options)
    raise EvosnnError(f"unknown engine {name!r}; choose one of {', '.join(ENGINES)}")
