"""Real stand-ins for the search loop's collaborators: no torch, no Ray, known values.

``FakeEvaluator`` is a deterministic function of the genome (it may fail or raise for chosen
genomes); ``RecordingEngine`` logs every ask and tell of a real engine; ``ScriptedEngine`` asks a
fixed list; ``ShuffledExecutor`` returns results out of order (reversed, or shuffled by a seed).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Hashable, Sequence
from typing import Any

from evosnn.core.evaluation import Evaluation
from evosnn.core.executor import Finished, InProcessExecutor
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.engines import Engine, Outcome

Event = tuple[str, Genome, Outcome | None]


class FakeEvaluator:
    """Accuracy and energy computed from the genes; genomes whose canonical form ``fail`` or
    ``raise_for`` selects return a failed Evaluation or raise; after ``stop_after`` evaluations
    it raises :class:`DriverKilled`; ``silent`` names the paths an evaluation reports silent.
    ``calls`` lists every genome evaluated."""

    def __init__(
        self,
        codec: GenomeCodec,
        *,
        fail: Callable[[Genome], bool] = lambda key: False,
        raise_for: Callable[[Genome], bool] = lambda key: False,
        stop_after: int | None = None,
        silent: Callable[[Genome], list[str]] = lambda key: [],
    ) -> None:
        self.codec = codec
        self.silent = silent
        self.fail, self.raise_for = fail, raise_for
        self.stop_after = stop_after
        self.calls: list[Genome] = []

    def values(self, genome: Genome) -> tuple[float, float]:
        """The (accuracy, energy) this evaluator gives ``genome``."""
        c = self.codec.decode(genome)
        size = c.depth * c.embed_dim * c.time_steps * sum(c.mlp_ratio)
        accuracy = 0.5 + 0.4 * size / (100 + size) + 0.001 * sum(c.threshold) - 0.0005 * sum(c.tau)
        energy = 1e-4 * size * (2.0 - sum(c.threshold) / c.depth) + 1e-6 * sum(c.num_heads)
        return accuracy, energy

    def __call__(self, genome: Genome) -> Evaluation:
        if self.stop_after is not None and len(self.calls) >= self.stop_after:
            raise DriverKilled
        self.calls.append(tuple(genome))
        key = self.codec.canonical(genome)
        if self.raise_for(key):
            raise RuntimeError(f"boom on {list(key)}")
        if self.fail(key):
            return Evaluation(status="failed", error="the network produced NaN logits")
        accuracy, energy = self.values(genome)
        return Evaluation(
            status="ok",
            accuracy=accuracy,
            energy_mj=energy,
            f_aeb=accuracy / (1 + energy),
            sops=energy * 1e9,
            macs=1e5,
            params=1000,
            correct=int(1000 * accuracy),
            total=1000,
            silent_paths=self.silent(key),
        )


class DriverKilled(BaseException):
    """Stands for a SIGKILL: not an Exception, so the executor does not catch it as a failure."""


class RecordingEngine:
    """A real engine whose every ask and tell is logged in ``events``."""

    def __init__(self, engine: Engine) -> None:
        self.inner = engine
        self.name = engine.name
        self.events: list[Event] = []

    @property
    def generation(self) -> int:
        return self.inner.generation

    def ask(self) -> Genome | None:
        genome = self.inner.ask()
        if genome is not None:
            self.events.append(("ask", genome, None))
        return genome

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        self.events.append(("tell", genome, outcome))
        self.inner.tell(genome, outcome)

    def settings(self) -> dict[str, Any]:
        return self.inner.settings()


class ScriptedEngine:
    """Asks ``genomes`` in order (then ``after`` forever, or None), logging what it is told."""

    name = "scripted"

    def __init__(
        self, genomes: Sequence[Genome], *, population: int = 4, after: Genome | None = None
    ) -> None:
        self.genomes = list(genomes)
        self.population = population
        self.after = after
        self.asked = 0
        self.told: list[tuple[Genome, Outcome]] = []

    @property
    def generation(self) -> int:
        return len(self.told) // self.population

    def ask(self) -> Genome | None:
        if self.asked < len(self.genomes):
            self.asked += 1
            return self.genomes[self.asked - 1]
        return self.after

    def tell(self, genome: Genome, outcome: Outcome) -> None:
        self.told.append((genome, outcome))

    def settings(self) -> dict[str, Any]:
        return {}


class ShuffledExecutor:
    """Evaluates in process but hands results back out of order.

    Each poll evaluates every queued job, then returns a random non-empty part of all results held
    (``seed`` None: all of them, newest first), so results come back reversed, shuffled and late.
    """

    def __init__(
        self, evaluate: Callable[[Genome], Evaluation], *, seed: int | None, max_attempts: int = 3
    ) -> None:
        self.inner = InProcessExecutor(evaluate, max_attempts=max_attempts)
        self.rng = random.Random(seed) if seed is not None else None
        self.held: list[Finished] = []
        self.submitted: list[Hashable] = []
        self.returned: list[Hashable] = []

    @property
    def replaced(self) -> int:
        return 0

    def submit(self, key: Hashable, genome: Genome) -> None:
        self.submitted.append(key)
        self.inner.submit(key, genome)

    def poll(self, timeout: float) -> list[Finished]:
        self.held += self.inner.poll(timeout)
        if not self.held:
            return []
        if self.rng is None:
            out, self.held = self.held[::-1], []
        else:
            self.rng.shuffle(self.held)
            n = self.rng.randint(1, len(self.held))
            out, self.held = self.held[:n], self.held[n:]
        self.returned += [f.key for f in out]
        return out

    def shutdown(self) -> None:
        self.held = []
        self.inner.shutdown()
