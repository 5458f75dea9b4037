"""Fingerprints of short real trainings: run before and after a refactor of the training code.

Trains the tiny synthetic space's supernet for 2 epochs three ways (uniform; distill with 2
micro-batches, i.e. the data-parallel arithmetic; sandwich) and retrains its largest subnet for 2
epochs, then prints a sha256 prefix of each run's final weights (and the per-epoch losses). Equal
output before and after a change means the change left every number of training as it was.

Measured for issue 29 (``python -m benchmarks.train_fingerprints``, torch 2.13.0 CPU, 1 thread),
identical at 257efe0 and after the refactor: uniform ``88ec68efb41c97f2``, distill/2 micro-batches
``69551ffc70e303f5``, sandwich ``c23262d0478518d2``, retrain ``baecd9a35a670678``.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any, Literal

import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.reporting.export import Exported
from evosnn.training.retrain import retrain_exported
from evosnn.training.supernet_training import train_supernet_for
from supernet.recipe import TrainSettings
from tests.conftest import tiny_dict


def digest(state: dict[str, Any]) -> str:
    """sha256 prefix of a state dict's tensors, in key order."""
    h = hashlib.sha256()
    for key in sorted(state):
        value = state[key]
        if isinstance(value, torch.Tensor):
            h.update(key.encode())
            h.update(value.detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def main() -> None:
    torch.set_num_threads(1)
    space = SearchSpace.from_dict(tiny_dict(), source="tiny")
    splits = load_splits(space.dataset)
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as folder:
        runs: tuple[tuple[Literal["uniform", "distill", "sandwich"], int], ...] = (
            ("uniform", 1),
            ("distill", 2),
            ("sandwich", 1),
        )
        for sampling, parts in runs:
            settings = TrainSettings(
                epochs=2, batch_size=16, warmup_epochs=1, sampling=sampling, seed=3
            )
            run = train_supernet_for(
                space,
                splits,
                Path(folder) / f"{sampling}{parts}",
                settings,
                progress=False,
                micro_batches=parts,
            )
            losses = [round(m["loss"], 12) for m in run["metrics"]]
            out[f"supernet-{sampling}-{parts}"] = [digest(run["model"]), losses]
        largest = SubnetConfig.largest(space)
        exported = Exported(Path(folder) / "a.yaml", largest, space, {}, {})
        settings = TrainSettings(epochs=2, batch_size=16, warmup_epochs=1, seed=1)
        result = retrain_exported(exported, Path(folder) / "rt", settings, progress=False)
        model = torch.load(result.checkpoint, weights_only=True)["model"]
        out["retrain"] = [digest(model), result.val_accuracy, result.test_accuracy]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
