"""The conventions benchmark runs both searches for real and reads their studies back: the memory
search minimises the memory-aware energy, the spikformer search Spikformer's count."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
import yaml

from benchmarks.experiments.bench_conventions import main, merge
from tests.conftest import tiny_dict


@pytest.mark.slow
def test_both_searches_minimise_their_own_convention(tiny_checkpoint: Path, tmp_path: Path) -> None:
    space = tmp_path / "tiny.yaml"
    space.write_text(yaml.safe_dump(tiny_dict()))
    out = tmp_path / "runs"
    result = tmp_path / "conventions.json"
    main(
        [
            "--space", str(space), "--supernet", str(tiny_checkpoint), "--seeds", "0",
            "--engine", "pymoo", "--population", "4", "--generations", "2",
            "--out", str(out), "--json", str(result),
        ]
    )  # fmt: skip
    run = json.loads(result.read_text())["runs"][0]
    assert run["evaluations"] == {"spikformer": 8, "memory": 8}
    assert 0.0 <= run["jaccard_within_spikformer_study"] <= 1.0
    assert all(hv > 0 for hv in run["memory_hv"].values())
    for conv in ("spikformer", "memory"):
        study = optuna.load_study(
            study_name=f"{conv}-s0", storage=f"sqlite:///{out}/tiny-synthetic-{conv}-s0.db"
        )
        done = [t for t in study.trials if t.values]
        assert len(done) == 8
        for t in done:  # the objective the engine saw is the study's own convention's energy
            assert t.values[1] == pytest.approx(t.user_attrs[f"energy_mj_{conv}"])
            assert t.user_attrs["energy_mj_memory"] > t.user_attrs["energy_mj_spikformer"]


def test_merge_joins_seeds_and_refuses_a_seed_twice_or_another_space(tmp_path: Path) -> None:
    def write(name: str, space: str, seeds: list[int]) -> Path:
        path = tmp_path / name
        path.write_text(json.dumps({"space": space, "runs": [{"seed": s} for s in seeds]}))
        return path

    a, b = write("a.json", "digits-tiny", [0, 2]), write("b.json", "digits-tiny", [1])
    assert [r["seed"] for r in merge([a, b])["runs"]] == [0, 1, 2]
    with pytest.raises(SystemExit, match="seed occurs twice"):
        merge([a, write("c.json", "digits-tiny", [2])])
    with pytest.raises(SystemExit, match="different spaces"):
        merge([a, write("d.json", "digit-pairs-tiny", [5])])
