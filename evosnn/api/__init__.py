"""The Python API: the same functions the ``evosnn`` commands run, for scripts and notebooks.

Each step of a search is one call; the CLI is a thin layer over these functions. Every problem with
the input is an :class:`~evosnn.core.errors.EvosnnError` naming the thing at fault.

Example (the whole pipeline on the embedded default, with tiny budgets; ``tests/api`` runs it):

    >>> import evosnn
    >>> space = evosnn.load_space("digits-tiny")                    # doctest: +SKIP
    >>> trained = evosnn.train_supernet(space, "runs/nb", epochs=2) # doctest: +SKIP
    >>> result = evosnn.run_search(space, trained.checkpoint, population=4, generations=2,
    ...                            workers=0)                       # doctest: +SKIP
    >>> files = evosnn.export(result, "runs/nb/export", pick="knee",
    ...                       supernet=trained.checkpoint)          # doctest: +SKIP
    >>> model = evosnn.load_model(files[0])                         # doctest: +SKIP
"""

from __future__ import annotations

from evosnn.api.exports import export
from evosnn.api.model import load_model, model_inputs
from evosnn.api.retraining import retrain
from evosnn.api.search import SearchResult, run_search
from evosnn.api.spaces import list_spaces, load_space
from evosnn.api.supernets import TrainedSupernet, train_supernet

__all__ = [
    "SearchResult",
    "TrainedSupernet",
    "export",
    "list_spaces",
    "load_model",
    "load_space",
    "model_inputs",
    "retrain",
    "run_search",
    "train_supernet",
]
