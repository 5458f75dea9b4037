"""Optuna's NSGAIISampler over the same integer genes, constraints included.

The engine keeps its own in-memory Optuna study as its state (the search's ledger is a different,
persistent study written only by the driver). Optuna's NSGA-II accepts partial results: asking
while a generation is incomplete continues that generation.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import optuna
from optuna.samplers import NSGAIISampler
from optuna.trial import Trial

from evosnn.engines.base import Outcome
from evosnn.genome import Genome, GenomeCodec

__all__ = ["OptunaEngine"]


class OptunaEngine:
    """Optuna NSGA-II, driven by ask and tell."""

    name = "optuna"

    def __init__(self, codec: GenomeCodec, *, population: int, seed: int) -> None:
        self.codec, self.population, self.seed = codec, population, seed
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = NSGAIISampler(population_size=population, seed=seed)
        self._study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
        self._asked: deque[Trial] = deque()
        self._told = 0

    @property
    def generation(self) -> int:
        return self._told // self.population

    def ask(self) -> Genome | None:
        trial = self._study.ask()
        genome = tuple(trial.suggest_int(g.name, 0, g.upper) for g in self.codec.genes)
        self._asked.append(trial)
        return genome

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        trial = self._asked.popleft()
        trial.set_constraint("limits", outcome.violation)
        self._study.tell(trial, [outcome.accuracy, outcome.energy_mj])
        self._told += 1

    def settings(self) -> dict[str, Any]:
        return {"population": self.population, "seed": self.seed, "sampler": "NSGAIISampler"}
