"""One study's front under two energy conventions: stored energies, recomputed ones, the overlap."""

from __future__ import annotations

from pathlib import Path

import pytest

from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.objectives.baseline import uniform_rates
from evosnn.objectives.energy import EnergyModel
from evosnn.reporting.conventions import Candidate, candidates, compare, conventions_figure
from evosnn.storage.ledger import Ledger


def cand(trial: int, acc: float, spikformer: float, memory: float, t: int = 2) -> Candidate:
    energy = {"spikformer": spikformer, "memory": memory}
    return Candidate(trial, acc, energy, time_steps=t, embed_dim=16, depth=1)


def test_fronts_under_each_convention_and_their_overlap() -> None:
    # trial 1 is cheap by operation count but not in memory traffic; trial 2 the reverse
    cands = [
        cand(0, 0.9, 1.0, 10.0, t=4),
        cand(1, 0.8, 0.5, 20.0, t=4),
        cand(2, 0.8, 0.9, 5.0, t=2),
        cand(3, 0.7, 2.0, 30.0),
    ]
    comparison = compare(cands)
    assert [c.trial for c in comparison.fronts["spikformer"]] == [1, 0]
    assert [c.trial for c in comparison.fronts["memory"]] == [2, 0]
    assert comparison.shared == {0}
    lines = comparison.lines()
    assert "front under spikformer: 2 architectures; time steps mean 4.00 (values [4])" in lines[1]
    assert "time steps mean 3.00 (values [2, 4])" in lines[2]
    assert lines[-1] == "1 of the 3 architectures on either front are on both (Jaccard 0.33)."
    assert len(conventions_figure(cands, comparison).data) == 4  # two panels: points + front


def test_energies_missing_from_a_trial_are_recomputed_from_its_stored_rates(
    tmp_path: Path, tiny_space: SearchSpace
) -> None:
    codec = GenomeCodec(tiny_space)
    ledger = Ledger.open(f"sqlite:///{tmp_path / 'ledger.db'}", "demo", codec)
    genome = (0,) * len(codec.genes)
    config = codec.decode(genome)
    rates = uniform_rates(config, 0.2)
    trial = ledger.start(genome, {"generation": 0, "engine": "random"})
    stored = Evaluation(
        status="ok", accuracy=0.5, energy_mj=1e-3, f_aeb=0.5, sops=1.0, macs=1.0,
        energy_mj_spikformer=1e-3, firing_rates=rates,
    )  # fmt: skip
    ledger.finish(trial, stored, {"worker": 0})
    (got,) = candidates(ledger.records(), codec)
    assert got.energy_mj["spikformer"] == 1e-3  # stored: kept as recorded
    model = EnergyModel.from_spec(tiny_space.energy).with_convention("memory")
    expected = model.estimate(config, tiny_space.geometry, rates=rates)
    assert got.energy_mj["memory"] == pytest.approx(expected.energy_mj)
    assert compare([got]).compared == 1
