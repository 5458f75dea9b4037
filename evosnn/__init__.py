"""evosnn: evolutionary search of energy-efficient spiking transformers.

The names defined here import neither torch, Ray nor Optuna, so that every other layer can use
them cheaply. The Python API (:mod:`evosnn.api`: ``train_supernet``, ``run_search``, ``export``,
``retrain``, ``load_model``, ...) is re-exported lazily: ``evosnn.run_search`` imports it (and
torch) on first use, and ``import evosnn`` stays light.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    EvosnnError,
    Interrupted,
    SettingError,
    SpaceError,
    StorageError,
)
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace, load_space

if TYPE_CHECKING:
    from evosnn.api import (
        SearchResult as SearchResult,
    )
    from evosnn.api import (
        TrainedSupernet as TrainedSupernet,
    )
    from evosnn.api import (
        export as export,
    )
    from evosnn.api import (
        list_spaces as list_spaces,
    )
    from evosnn.api import (
        load_model as load_model,
    )
    from evosnn.api import (
        model_inputs as model_inputs,
    )
    from evosnn.api import (
        retrain as retrain,
    )
    from evosnn.api import (
        run_search as run_search,
    )
    from evosnn.api import (
        train_supernet as train_supernet,
    )

__version__ = "0.1.0"

#: Names of :mod:`evosnn.api` importable from ``evosnn`` (loaded on first access).
_API = (
    "SearchResult",
    "TrainedSupernet",
    "export",
    "list_spaces",
    "load_model",
    "model_inputs",
    "retrain",
    "run_search",
    "train_supernet",
)

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EvosnnError",
    "Genome",
    "GenomeCodec",
    "Interrupted",
    "SearchSpace",
    "SettingError",
    "SpaceError",
    "StorageError",
    "SubnetConfig",
    "__version__",
    "load_space",
    *_API,
]


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module("evosnn.api"), name)
    raise AttributeError(f"module 'evosnn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
