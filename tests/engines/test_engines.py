"""The engines on a synthetic two-objective problem over the digits-tiny genome (no network)."""

from __future__ import annotations

import pytest

from evosnn.core.errors import EvosnnError
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.sizes import count_params
from evosnn.core.space import load_space
from evosnn.engines import ENGINES, Outcome, make_engine
from tests.conftest import SPACES

CODEC = GenomeCodec(load_space(SPACES / "digits-tiny.yaml"))


def objective(genome: Genome) -> Outcome:
    """Bigger is more accurate and costs more; low thresholds cost more too."""
    c = CODEC.decode(genome)
    params = count_params(c, CODEC.space.geometry)
    accuracy = 1 - 1 / (1 + params / 20_000)
    energy = params * c.time_steps * (1.5 - sum(c.threshold) / c.depth) / 1e7
    return Outcome(accuracy, energy)


def run(name: str, asks: int, seed: int = 0) -> list[Genome]:
    engine = make_engine(name, CODEC, population=16, seed=seed)
    asked: list[Genome] = []
    pending: list[Genome] = []
    while len(asked) < asks:
        genome = engine.ask()
        if genome is None:  # pymoo waits for its generation
            done = pending.pop(0)
            engine.tell(done, objective(done))
            continue
        asked.append(genome)
        pending.append(genome)
        if len(pending) >= 4:
            done = pending.pop(0)
            engine.tell(done, objective(done))
    return asked


@pytest.mark.parametrize(
    "name",  # the surrogate engine fits its predictors every generation: over 10 s on 2 cores
    [pytest.param(n, marks=pytest.mark.slow) if n == "surrogate" else n for n in ENGINES],
)
def test_reproducible_for_a_seed(name: str) -> None:
    assert run(name, 80, seed=3) == run(name, 80, seed=3)
    assert run(name, 80, seed=3) != run(name, 80, seed=4)


@pytest.mark.parametrize("name", ["pymoo", "deap", "random"])
def test_never_proposes_a_subnet_twice(name: str) -> None:
    keys = [CODEC.canonical(g) for g in run(name, 400)]
    assert len(set(keys)) == len(keys)


def test_optuna_keeps_finding_new_subnets() -> None:
    keys = [CODEC.canonical(g) for g in run("optuna", 400)]
    assert len(set(keys)) > 200  # it repeats some (the driver answers those from the ledger)


def test_unknown_engine() -> None:
    with pytest.raises(EvosnnError, match="unknown engine"):
        make_engine("cma", CODEC, population=8, seed=0)
