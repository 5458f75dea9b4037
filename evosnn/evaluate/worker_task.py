"""What an evaluator worker runs: decode a genome, evaluate the subnet with inherited weights.

The search driver hands :class:`EvaluationTaskFactory` (small and picklable) to its executor; each
worker calls it once with the supernet checkpoint's bytes and then evaluates many genomes with the
:class:`EvaluationTask` it built. Ray workers (``workers/``) thus run application code they never
import by name, and ``evosnn search --workers 0`` runs the same task in the driver's process.

:func:`energy_target` and :func:`reference` are the two questions the driver asks one worker once
(through ``RayExecutor.call``, or directly in process): the F_AEB energy target and the largest
subnet's evaluation, the report's baseline.

Example:
    >>> factory = EvaluationTaskFactory(space, EvalSettings())  # doctest: +SKIP
    >>> factory(Path("runs/demo/supernet.pt").read_bytes()).evaluate(genome).status  # doctest: +SKIP
    'ok'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from evosnn.core.config import SubnetConfig
from evosnn.core.evaluation import EvalSettings, Evaluation
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.evaluate.evaluator import Evaluator
from evosnn.objectives.energy import EnergyModel

__all__ = ["EvaluationTask", "EvaluationTaskFactory", "energy_target", "reference"]


class EvaluationTask:
    """Evaluates genomes of one space with one loaded supernet (see the module docstring)."""

    def __init__(self, evaluator: Evaluator) -> None:
        self.evaluator = evaluator
        self.codec = GenomeCodec(evaluator.space)

    def evaluate(self, genome: Genome, *, split: Literal["val", "test"] = "val") -> Evaluation:
        """Decode ``genome`` and evaluate its subnet (ConfigError if it is not of this space);
        the search uses the validation split, the held-out test split re-scores its front."""
        return self.evaluator.evaluate(self.codec.decode(genome), split=split)

    def energy_target(self) -> float:
        """The F_AEB energy target (measured on the largest subnet if the space sets none)."""
        return self.evaluator.energy_target_mj

    def reference(self, *, split: Literal["val", "test"] = "val") -> Evaluation:
        """The Evaluation of the largest subnet at default neurons (the report's baseline)."""
        return self.evaluator.evaluate(SubnetConfig.largest(self.evaluator.space), split=split)


@dataclass(frozen=True)
class EvaluationTaskFactory:
    """Builds an :class:`EvaluationTask` from checkpoint bytes; picklable, so Ray can ship it.

    Attributes:
        space: the search space (the checkpoint must have been trained for it).
        settings: how candidates are evaluated.
        data_root: data folder, which must exist on every node for on-disk data sets.
        energy_target_mj: the F_AEB target (None: each task measures it on first use).
    """

    space: SearchSpace
    settings: EvalSettings
    data_root: str | None = None
    energy_target_mj: float | None = None

    def __post_init__(self) -> None:
        # a wrong hardware profile is one error here, in the driver, not in every worker
        EnergyModel.for_space(self.space)

    def __call__(self, checkpoint: bytes) -> EvaluationTask:
        evaluator = Evaluator(
            checkpoint,
            self.space,
            data_root=self.data_root,
            settings=self.settings,
            energy_target_mj=self.energy_target_mj,
        )
        return EvaluationTask(evaluator)


def energy_target(task: EvaluationTask) -> float:
    """Ask ``task`` for the energy target (a picklable function for ``RayExecutor.call``)."""
    return task.energy_target()


def reference(task: EvaluationTask) -> Evaluation:
    """Ask ``task`` for the reference evaluation (a picklable function for ``RayExecutor.call``)."""
    return task.reference()
