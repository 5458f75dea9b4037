"""Optuna's NSGAIISampler over the same integer genes, constraints included, with deduplication.

The engine keeps its own in-memory Optuna study as its state (the search's ledger is a different,
persistent study written only by the driver). Optuna's NSGA-II accepts partial results: asking
while a generation is incomplete continues that generation.

Deduplication happens here, so the driver only sees new subnets. When the sampler proposes a
genome whose subnet was already proposed (evaluated or still pending), that internal trial is told
FAIL (Optuna's NSGA-II ignores failed trials: neither population nor generation count sees it; the
subnet's first trial already carries its outcome), the genome is re-mutated with the shared index
operators (:meth:`~evosnn.engines.operators.GeneOperators.novel`) and enqueued as the next trial.
``stats()["re_proposals"]`` counts these.

All genes are suggested in every trial, inert ones included: Optuna's NSGA-II samples a parameter
that is missing from some trials at random (its intersection search space), so suggesting only the
active genes would turn the block genes into random search. The sampler therefore still mutates
inert genes now and then; such a child is a duplicate and is re-mutated on its active genes.
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
import optuna
from optuna.samplers import NSGAIISampler
from optuna.trial import Trial, TrialState

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.engines.base import EvolutionaryEngine, Outcome

__all__ = ["OptunaEngine"]


class OptunaEngine(EvolutionaryEngine):
    """Optuna NSGA-II, driven by ask and tell, never proposing a subnet twice.

    Args:
        codec: the genome layout.
        population: Optuna's ``population_size``.
        seed: seeds the sampler and the re-mutation operators.
        duplicate_tries: re-mutations of a duplicate before a fresh random genome.
        extremes: the first two trials are the smallest and the largest subnet.
        rng: the re-mutation operators' random source (default: seeded with ``[seed, 2]``).
    """

    name = "optuna"

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        population: int,
        seed: int,
        duplicate_tries: int = 10,
        extremes: bool = True,
        rng: np.random.Generator | None = None,
    ) -> None:
        super().__init__(
            codec,
            population=population,
            seed=seed,
            rng=rng,
            stream=(2,),
            duplicate_tries=duplicate_tries,
            extremes=extremes,
        )
        optuna.logging.set_verbosity(optuna.logging.WARNING)
        sampler = NSGAIISampler(population_size=population, seed=seed)
        self._study = optuna.create_study(directions=["maximize", "minimize"], sampler=sampler)
        self._asked: deque[Trial] = deque()
        self._told = 0
        self._re_proposals = 0
        for genome in self._ops.extremes() if extremes else []:
            self._study.enqueue_trial(self._params(genome))

    @property
    def generation(self) -> int:
        return self._told // self.population

    def ask(self) -> Genome | None:
        trial = self._study.ask()
        genome = self._suggest(trial)
        if self.codec.canonical(genome) in self._seen:
            self._re_proposals += 1
            self._study.tell(trial, state=TrialState.FAIL)
            self._study.enqueue_trial(self._params(self._ops.novel(genome, self._rng, self._seen)))
            trial = self._study.ask()
            genome = self._suggest(trial)
        self._seen.add(self.codec.canonical(genome))
        self._asked.append(trial)
        return genome

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        trial = self._asked.popleft()
        trial.set_constraint("limits", outcome.violation)
        self._study.tell(trial, [outcome.accuracy, outcome.energy_mj])
        self._told += 1

    def settings(self) -> dict[str, Any]:
        return {
            "population": self.population,
            "seed": self.seed,
            "sampler": "NSGAIISampler",
            "dedup": "FAIL + re-mutation",
            "duplicate_tries": self._ops.tries,
            "extremes": self.extremes,
        }

    def stats(self) -> dict[str, int]:
        """Sampler re-proposals caught here, and what the re-mutation operators did."""
        return {
            "proposed": len(self._seen),
            "re_proposals": self._re_proposals,
            **self._ops.tally(),
        }

    def _suggest(self, trial: Trial) -> Genome:
        return tuple(trial.suggest_int(g.name, 0, g.upper) for g in self.codec.genes)

    def _params(self, genome: Genome) -> dict[str, Any]:
        return {g.name: int(v) for g, v in zip(self.codec.genes, genome, strict=True)}
