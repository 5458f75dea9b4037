"""evosnn: evolutionary search of energy-efficient spiking transformers.

The names exported here import neither torch, Ray nor Optuna, so that every other layer can use
them cheaply.
"""

from __future__ import annotations

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    EvosnnError,
    SpaceError,
    StorageError,
)
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace, load_space

__version__ = "0.1.0"

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EvosnnError",
    "Genome",
    "GenomeCodec",
    "SearchSpace",
    "SpaceError",
    "StorageError",
    "SubnetConfig",
    "__version__",
    "load_space",
]
