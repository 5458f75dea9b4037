"""The mixers benchmark's pure parts on made-up data: forcing a mixer, energy bands, the
hypervolumes and the summaries over seeds (no training, no search)."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from benchmarks.experiments.bench_mixers import (
    band_counts,
    band_edges,
    band_of,
    force_mixer,
    front_hv,
    merge,
    spread,
    summarise_search,
    summarise_weights,
)
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import load_space


def test_force_mixer_sets_every_block_and_keeps_the_other_genes() -> None:
    codec = GenomeCodec(load_space("digits-tiny-mixers"))
    rng = random.Random(3)
    for _ in range(20):
        genome = codec.sample(rng)
        for mixer in ("ssa", "sdsa", "mlp"):
            config = codec.decode(force_mixer(codec, genome, mixer))
            original = codec.decode(genome)
            assert set(config.mixer) == {mixer}
            assert (config.depth, config.embed_dim, config.time_steps, config.tau) == (
                original.depth,
                original.embed_dim,
                original.time_steps,
                original.tau,
            )


def test_bands_split_by_log_energy_quantiles() -> None:
    edges = band_edges([1.0, 2.0, 4.0, 8.0, 16.0, 32.0])
    assert len(edges) == 2
    assert [band_of(e, edges) for e in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0)] == [0, 0, 1, 1, 2, 2]
    assert band_of(edges[0], edges) == 0  # on an edge: the lower band
    members = [
        {"energy_mj": 1.0, "mixer": ["mlp"]},
        {"energy_mj": 4.0, "mixer": ["sdsa", "ssa"]},
        {"energy_mj": 32.0, "mixer": ["ssa", "ssa"]},
    ]
    counts = band_counts(members, edges, ["ssa", "sdsa", "mlp"])
    assert counts == [
        {"members": 1, "ssa": 0, "sdsa": 0, "mlp": 1},
        {"members": 1, "ssa": 1, "sdsa": 1, "mlp": 0},
        {"members": 1, "ssa": 2, "sdsa": 0, "mlp": 0},
    ]


def test_front_hv_is_the_staircase_area() -> None:
    # 0.9 x (4 - 2) + 0.8 x (2 - 1); the dominated point adds nothing
    assert front_hv([(0.9, 2.0), (0.8, 1.0), (0.7, 3.0)], 4.0) == pytest.approx(2.6)
    assert front_hv([], 4.0) == 0.0


def _run(seed: int, hv_m: float, hv_s: float) -> dict:
    def study(hv: float, mixers: list[list[str]]) -> dict:
        front = [{"energy_mj": 1.0 + i, "mixer": m} for i, m in enumerate(mixers)]
        return {"hv": {"val": hv, "test": hv - 0.1}, "front": front}

    return {
        "seed": seed,
        "studies": {
            "mixers": study(hv_m, [["mlp"], ["sdsa", "ssa"], ["ssa", "ssa"]]),
            "ssa": study(hv_s, [["ssa"], ["ssa", "ssa"], ["ssa", "ssa"]]),
        },
    }


def test_summarise_search_pairs_seeds_and_counts_blocks_per_band() -> None:
    runs = [_run(0, 0.5, 0.4), _run(1, 0.3, 0.4)]
    out = summarise_search(runs, ["ssa", "sdsa", "mlp"])
    assert out["hv"]["val"]["mixers"]["mean"] == pytest.approx(0.4)
    diff = out["hv_mixers_minus_ssa"]["test"]
    assert diff["mean"] == pytest.approx(0.0)
    assert diff["mixers_higher"] == 1
    bands = out["bands"]["mixers"]
    assert sum(b["members"] for b in bands) == 6
    assert bands[0]["mlp"] == 2  # the cheapest members (1 mJ) are the mlp ones
    assert sum(b["ssa"] for b in out["bands"]["ssa"]) == 10


def test_summarise_weights_reports_the_paired_difference() -> None:
    doc = {
        "accuracy": {
            "shared": {"ssa": [0.9, 0.8], "mixed": [0.5, 0.6]},
            "separate": {"ssa": [0.95, 0.7], "mixed": [0.5, 0.7]},
        }
    }
    out = summarise_weights(doc)
    assert out["ssa"]["separate_minus_shared"]["mean"] == pytest.approx(-0.025)
    assert (out["ssa"]["separate_better"], out["ssa"]["shared_better"]) == (1, 1)
    assert (out["mixed"]["separate_better"], out["mixed"]["shared_better"]) == (1, 0)
    assert spread([1.0])["sd"] == 0.0


def test_merge_joins_seeds_and_refuses_a_seed_twice(tmp_path: Path) -> None:
    def write(name: str, seeds: list[int], space: str = "digits-tiny-mixers") -> Path:
        path = tmp_path / name
        doc = {
            "space": {"mixers": space, "ssa": "digits-tiny"},
            "runs": [{"seed": s} for s in seeds],
        }
        path.write_text(json.dumps(doc))
        return path

    a, b = write("a.json", [0, 2]), write("b.json", [1])
    merged = merge([a, b])
    assert [r["seed"] for r in merged["runs"]] == merged["seeds"] == [0, 1, 2]
    with pytest.raises(SystemExit, match="seed occurs twice"):
        merge([a, write("c.json", [2])])
    with pytest.raises(SystemExit, match="different spaces"):
        merge([a, write("d.json", [5], "digit-pairs-tiny-mixers")])
