"""The Ray actor that evaluates genomes: builds its task once (supernet and data), evaluates many.

The task comes from a picklable factory the application supplies (see
:data:`evosnn.core.executor.TaskFactory`), so this module imports no application code. The actor returns
:class:`~evosnn.core.evaluation.Evaluation` objects and never writes the ledger (only the search driver
does).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable
from typing import Any, TypeVar

import ray

from evosnn.core.evaluation import Evaluation
from evosnn.core.executor import Task, TaskFactory
from evosnn.core.genome import Genome

__all__ = ["EvaluatorActor"]

R = TypeVar("R")


@ray.remote
class EvaluatorActor:
    """Holds one task built by ``factory(checkpoint)``.

    Args:
        checkpoint: the supernet checkpoint's bytes (passed as a top-level ObjectRef, which Ray
            resolves: shipped once through the object store, so workers on other machines need no
            shared file system).
        factory: builds the task from the bytes.
        threads: torch CPU threads for this worker.
        index: the worker's number.
    """

    def __init__(self, checkpoint: bytes, factory: TaskFactory, threads: int, index: int) -> None:
        import torch

        torch.set_num_threads(max(1, threads))
        self.index = index
        self.task: Task = factory(checkpoint)

    def ready(self) -> dict[str, Any]:
        """Where this worker runs (its construction has succeeded when this answers)."""
        return {"index": self.index, "pid": os.getpid(), "host": socket.gethostname()}

    def evaluate(self, genome: Genome) -> Evaluation:
        """Evaluate a genome with the task."""
        evaluation = self.task.evaluate(genome)
        if not isinstance(evaluation, Evaluation):
            raise TypeError(f"the task returned {type(evaluation).__name__}, not an Evaluation")
        return evaluation

    def call(self, fn: Callable[[Any], R]) -> R:
        """``fn(task)``: a one-off question to this worker's task (e.g. its energy target)."""
        return fn(self.task)
