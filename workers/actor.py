"""The Ray actor that evaluates genomes: loads the supernet and data once, evaluates many.

It returns Evaluations as plain dicts and never writes the ledger (only the search driver does).
"""

from __future__ import annotations

import os
import socket
from typing import Any

import ray

__all__ = ["EvaluatorActor"]


@ray.remote
class EvaluatorActor:
    """Holds one :class:`evosnn.evaluator.Evaluator`.

    Args:
        checkpoint: the supernet checkpoint's bytes (shipped once through Ray's object store, so
            workers on other machines need no shared file system).
        space: the search space as data.
        settings: :class:`~evosnn.evaluator.EvalSettings` fields.
        data_root: data folder, which must exist on every node for on-disk data sets.
        energy_target_mj: the F_AEB target (None: measure it here).
        threads: torch CPU threads for this worker.
        index: the worker's number, reported with each result.
    """

    def __init__(
        self,
        checkpoint: bytes,
        space: dict[str, Any],
        settings: dict[str, Any],
        data_root: str | None,
        energy_target_mj: float | None,
        threads: int,
        index: int,
    ) -> None:
        import torch

        from evosnn.evaluation import EvalSettings
        from evosnn.evaluator import Evaluator
        from evosnn.genome import GenomeCodec
        from evosnn.space import SearchSpace

        torch.set_num_threads(max(1, threads))
        self.index = index
        self.evaluator = Evaluator(
            checkpoint,
            SearchSpace.from_dict(space),
            data_root=data_root,
            settings=EvalSettings(**settings),
            energy_target_mj=energy_target_mj,
        )
        self.codec = GenomeCodec(self.evaluator.space)

    def ready(self) -> dict[str, Any]:
        """Where this worker runs (its construction has succeeded when this answers)."""
        return {"index": self.index, "pid": os.getpid(), "host": socket.gethostname()}

    def energy_target(self) -> float:
        return self.evaluator.energy_target_mj

    def reference(self) -> dict[str, Any]:
        """The Evaluation of the largest subnet at default neurons (the report's baseline)."""
        from evosnn.config import SubnetConfig

        return self.evaluator.evaluate(SubnetConfig.largest(self.evaluator.space)).to_dict()

    def evaluate(self, genome: list[int]) -> dict[str, Any]:
        """Evaluate a genome; the Evaluation as a dict plus the worker's index and pid."""
        config = self.codec.decode(genome)
        result = self.evaluator.evaluate(config).to_dict()
        result["worker"] = self.index
        result["worker_pid"] = os.getpid()
        return result
