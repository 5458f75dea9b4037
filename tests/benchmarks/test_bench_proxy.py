"""The proxy benchmark's own statistics: the tilt a reference's seed noise alone gives, and where
``longrun`` reads each remedy's inherited accuracies from."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from benchmarks.experiments.bench_proxy import _checks, _equal_tilt, _mean_tilt, _tilt_noise


def test_tilt_noise_is_zero_for_agreeing_seeds_and_scales_with_their_spread() -> None:
    rng = np.random.default_rng(1)
    truth = rng.uniform(0.6, 0.9, size=8)
    agreeing = [[float(t)] * 3 for t in truth]
    assert _tilt_noise(agreeing, bins=4)["q90"] == pytest.approx(0.0, abs=1e-12)
    runs = truth[:, None] + rng.normal(0.0, 0.03, size=(8, 3))  # [subnet, seed]
    noise = _tilt_noise(runs.tolist(), bins=4)
    doubled = _tilt_noise((truth[:, None] + 2 * (runs - truth[:, None])).tolist(), bins=4)
    assert noise == _tilt_noise(runs.tolist(), bins=4)  # seeded
    assert doubled["seed_sd"] == pytest.approx(2 * noise["seed_sd"])
    assert doubled["mean"] == pytest.approx(2 * noise["mean"])
    # bins of two subnets, each a 3-seed mean: the largest of four |tilts| is of the order of sd
    per_bin = noise["seed_sd"] / np.sqrt(3 * 2)
    assert per_bin < noise["mean"] < noise["q90"] < 3 * per_bin
    # more seeds of some subnets: their means are less noisy, so is the tilt
    more = [
        list(r) + list(t + rng.normal(0.0, 0.03, size=9)) for r, t in zip(runs, truth, strict=True)
    ]
    assert _tilt_noise(more[:4] + runs[4:].tolist(), bins=4)["mean"] < noise["mean"]
    # the trend pools all eight subnets, so the noise moves its tilt less than two-subnet bins'
    log_energy = np.linspace(-2.0, 1.0, 8).tolist()
    both = _tilt_noise(runs.tolist(), bins=4, log_energy=log_energy)
    assert both["mean"] == noise["mean"] and "trend_mean" not in noise
    assert 0 < both["trend_mean"] < both["mean"] and both["trend_mean"] < both["trend_q90"]


def test_longrun_reads_checks_from_result_rows_and_folders(tmp_path: Path) -> None:
    rows = [
        {"remedy": "smallest-120", "seed": 0, "inherited": [0.5, 0.6], "energy_mj": [1.0, 2.0]},
        {"remedy": "uniform-120", "seed": 1, "inherited": [0.4, 0.7], "energy_mj": [1.5, 2.5]},
    ]
    results = tmp_path / "run.json"
    results.write_text(json.dumps({"rows": rows}))
    folder = tmp_path / "root" / "check-uniform-120-s1"  # a check folder wins over a row
    folder.mkdir(parents=True)
    (folder / "rank_check.json").write_text("{}")
    subnets = [{"inherited": 0.45, "energy_mj": 1.5}, {"inherited": 0.75, "energy_mj": 2.5}]
    (folder / "subnets.json").write_text(json.dumps({"subnets": subnets}))
    (tmp_path / "root" / "check-uniform-40-s0").mkdir()  # unfinished: left out
    found = {(name, seed): s for name, seed, s in _checks(tmp_path / "root", [str(results)])}
    assert set(found) == {("smallest-120", 0), ("uniform-120", 1)}
    assert [s["inherited"] for s in found[("smallest-120", 0)]] == [0.5, 0.6]
    assert found[("uniform-120", 1)] == subnets
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"rows": [{"remedy": "uniform-40", "seed": 0}]}))
    with pytest.raises(SystemExit, match="inherited accuracy"):
        _checks(None, [str(old)])


def test_the_tilt_of_the_seed_mean_bias_comes_with_its_standard_error_over_seeds() -> None:
    # three seeds, each with a common offset and a tilt toward the highest-energy bin
    biases = [
        [-0.16, -0.15, -0.14, -0.11],
        [-0.17, -0.18, -0.15, -0.15],
        [-0.14, -0.11, -0.1, -0.07],
    ]
    rows = [{"bias": b} for b in biases]  # old rows: the tilt is recomputed from the bias
    tilt, se = _mean_tilt(rows)
    mean_bias = np.mean(biases, axis=0).tolist()
    assert abs(tilt) == pytest.approx(max(abs(t) for t in _equal_tilt(mean_bias)))
    assert tilt > 0  # the last bin, rated above the offset
    last = [_equal_tilt(b)[3] for b in biases]
    assert se == pytest.approx(np.std(last, ddof=1) / np.sqrt(3))
    # an offset alone is no tilt, and one seed has no error
    assert _mean_tilt([{"bias": [-0.2] * 4}] * 2) == pytest.approx((0.0, 0.0), abs=1e-12)
    assert _mean_tilt(rows[:1])[1] == 0.0
