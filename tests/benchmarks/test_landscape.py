"""The exact-front lookup landscapes of the search-quality benchmark (benchmarks.experiments.landscape and
benchmarks/bench_landscape.py): exact fronts, metrics, and the runner through the real SearchLoop."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import numpy as np
import pytest
from pymoo.indicators.hv import HV
from pymoo.indicators.igd_plus import IGDPlus

from benchmarks.experiments.bench_landscape import (
    BENCH_ENGINES,
    CALIBRATION,
    DIGITS_SPACE,
    FREE_EVALUATIONS,
    TRUE_MODEL_FREE,
    DigitsBench,
    TrueModelPredictors,
    _LogisticPredictor,
    _TruePredictor,
    cifar_bench,
    digits_bench,
    load_calibration,
    oracle_surrogate,
    report,
    run_search,
    score_run,
    true_model_surrogate,
)
from benchmarks.experiments.landscape import (
    AdditiveLandscape,
    Calibration,
    FrontScorer,
)
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.objectives.energy import EnergyModel
from evosnn.objectives.front import hypervolume_2d, igd_plus, pareto_indices


@pytest.fixture(scope="module")
def digits() -> DigitsBench:
    return digits_bench(load_calibration(CALIBRATION))


def _reduced_cifar_codec() -> GenomeCodec:
    """cifar10-spikformer with fewer choices: 17,472 subnets, small enough for brute force."""
    data = load_space(DIGITS_SPACE.parent / "cifar10-spikformer.yaml").to_dict()
    data["choices"].update(
        depth=[1, 2, 3],
        embed_dim=[192, 384],
        mlp_ratio=[3.0, 4.0],
        num_heads=[6, 12],
        time_steps=[2, 4],
        threshold=[0.6, 2.0],
        tau=[1.25, 10.0],
    )
    data["supernet"]["depth"] = 3
    data["neuron_defaults"].update(threshold=2.0, tau=10.0, time_steps=4)
    return GenomeCodec(SearchSpace.from_dict(data))


def _dominated_or_equal(front: np.ndarray, acc: np.ndarray, energy: np.ndarray) -> bool:
    """Every point (acc, energy) is matched or beaten by a front point."""
    order = np.argsort(front[:, 1])
    f_e, f_a = front[order, 1], np.maximum.accumulate(front[order, 0])
    pos = np.searchsorted(f_e, energy, side="right") - 1
    best = np.where(pos >= 0, f_a[np.clip(pos, 0, None)], -np.inf)
    return bool(np.all(best >= acc))


def test_dp_front_equals_brute_force_on_a_reduced_space() -> None:
    codec = _reduced_cifar_codec()
    reference = GenomeCodec(load_space(DIGITS_SPACE))
    land = AdditiveLandscape(codec, load_calibration(CALIBRATION), reference, n_val=5000)
    assert land.size == 2 * 2 * (16 + 16**2 + 16**3)
    rows = list(land.all_outcomes())
    assert len(rows) == land.size
    acc = np.array([r[1] for r in rows])
    energy = np.array([r[2] for r in rows])
    brute = pareto_indices(acc, energy)
    front, genomes = land.front()
    brute_front = np.column_stack([acc[brute], energy[brute]])
    np.testing.assert_allclose(front, brute_front, rtol=1e-12, atol=1e-15)
    # every DP front point names a subnet that has exactly that outcome
    for point, genome in zip(front, genomes, strict=True):
        np.testing.assert_allclose(land.outcome(genome), point, rtol=1e-12)


def test_additive_energy_is_the_energy_model_of_the_subnet() -> None:
    codec = _reduced_cifar_codec()
    reference = GenomeCodec(load_space(DIGITS_SPACE))
    calibration = load_calibration(CALIBRATION)
    land = AdditiveLandscape(codec, calibration, reference, n_val=5000)
    rng = random.Random(0)
    model = EnergyModel.from_spec(codec.space.energy)
    for _ in range(20):
        genome = codec.sample(rng)
        config = codec.decode(genome)
        rates = {k: v for k, v in land_rates(land, calibration, reference, genome).items()}
        direct = model.estimate(config, codec.space.geometry, rates=rates).energy_mj
        assert land.outcome(genome)[1] == pytest.approx(direct, rel=1e-9)


def land_rates(
    land: AdditiveLandscape, calibration: Calibration, reference: GenomeCodec, genome: Genome
) -> dict[str, float]:
    """The rates the additive landscape feeds the energy model for ``genome`` (rank-mapped)."""
    from benchmarks.experiments.landscape import rank_mapped

    codec = land.codec
    ch, ref = codec.space.choices, reference.space.choices
    config = codec.decode(genome)
    g = codec.canonical(genome)
    blocks = [g[codec.block_slice(i)] for i in range(config.depth)]
    values = {
        "time_steps": (rank_mapped(g[2], len(ch.time_steps), ref.time_steps),),
        "embed_dim": (rank_mapped(g[1], len(ch.embed_dim), ref.embed_dim),),
        "mlp_ratio": tuple(rank_mapped(b[0], len(ch.mlp_ratio), ref.mlp_ratio) for b in blocks),
        "num_heads": tuple(rank_mapped(b[1], len(ch.num_heads), ref.num_heads) for b in blocks),
        "threshold": tuple(rank_mapped(b[2], len(ch.threshold), ref.threshold) for b in blocks),
        "tau": tuple(rank_mapped(b[3], len(ch.tau), ref.tau) for b in blocks),
    }
    return calibration.rates.rates(config, values=values)


def test_digits_exact_front_dominates_or_equals_every_subnet(digits: DigitsBench) -> None:
    table = digits.table
    assert len(table) == 47_304
    front = table.front()
    assert _dominated_or_equal(front, table.accuracy, table.energy)
    # and no front point is dominated by any subnet
    for acc, energy in front:
        assert not np.any(
            (table.accuracy >= acc)
            & (table.energy <= energy)
            & ((table.accuracy > acc) | (table.energy < energy))
        )
    seen = table.seen(3)
    assert _dominated_or_equal(table.front(seen), seen, table.energy)
    # the seen accuracy is a count out of the validation size around the noise-free one
    assert np.allclose(seen * table.n_val, np.round(seen * table.n_val))
    assert abs(float(np.mean(seen - table.accuracy))) < 0.002


def test_digits_energy_is_evosnns_energy_model(digits: DigitsBench) -> None:
    table, codec = digits.table, digits.codec
    model = EnergyModel.from_spec(codec.space.energy)
    for row in np.random.default_rng(1).integers(0, len(table), 25):
        config = codec.decode(table.genomes[row])
        direct = model.estimate(
            config, codec.space.geometry, rates=table.calibration.rates.rates(config)
        ).energy_mj
        assert table.energy[row] == pytest.approx(direct, rel=1e-9)


def test_regret_is_zero_for_the_exact_front_and_one_for_nothing(digits: DigitsBench) -> None:
    scorer = digits.clean
    front = scorer.front
    assert scorer.regret(front[:, 0], front[:, 1]) == pytest.approx(0.0, abs=1e-12)
    assert scorer.igd_plus(front[:, 0], front[:, 1]) == pytest.approx(0.0, abs=1e-12)
    # the whole space is the front plus dominated points: still regret 0
    table = digits.table
    assert scorer.regret(table.accuracy, table.energy) == pytest.approx(0.0, abs=1e-12)
    # a point outside the reference box contributes nothing
    assert scorer.regret(np.array([0.0]), np.array([1e9])) == pytest.approx(1.0)
    # dropping a front point strictly loses hypervolume
    assert scorer.regret(front[1:, 0], front[1:, 1]) > 0


def test_hypervolume_and_igd_plus_match_pymoo() -> None:
    rng = np.random.default_rng(0)
    acc = rng.uniform(0.5, 1.0, 60)
    log_e = rng.uniform(-3.0, 0.0, 60)
    ref = (0.45, 0.1)
    ours = hypervolume_2d(acc, log_e, ref)
    theirs = HV(ref_point=np.array([-ref[0], ref[1]])).do(np.column_stack([-acc, log_e]))
    assert ours == pytest.approx(float(theirs), rel=1e-12)
    front = np.column_stack([rng.uniform(0.8, 1.0, 15), rng.uniform(-3.0, 0.0, 15)])
    pts = np.column_stack([acc, log_e])
    scale = np.array([1.0, 1.0])
    theirs_igd = IGDPlus(np.column_stack([-front[:, 0], front[:, 1]])).do(
        np.column_stack([-acc, log_e])
    )
    assert igd_plus(front, pts, scale) == pytest.approx(float(theirs_igd), rel=1e-12)


@pytest.mark.parametrize("engine", BENCH_ENGINES)
def test_runner_drives_the_search_loop_and_a_run_is_its_longer_runs_prefix(
    digits: DigitsBench, engine: str, tmp_path: Path
) -> None:
    short = run_search(digits, engine, 3, 10, population=6, db_dir=tmp_path)
    long = run_search(digits, engine, 3, 24, population=6, db_dir=tmp_path)
    assert len(short.keys) == 10 and len(long.keys) == 24
    assert len(set(long.keys)) == 24  # the loop evaluates every subnet once
    assert long.keys[:10] == short.keys  # so one run at 512 scores every smaller budget
    for key, seen, clean, energy in zip(long.keys, long.seen, long.clean, long.energy, strict=True):
        row = digits.table.row[key]
        assert energy == digits.table.energy[row] and clean == digits.table.accuracy[row]
        assert seen == digits.table.seen(3)[row]
    scores = score_run(long, digits.scorers(3), [10, 24])
    for budget in ("10", "24"):
        s = scores[budget]
        assert 0.0 < s["regret_clean"] < 1.0 and 0.0 < s["regret_seen"] < 1.0
        assert s["igd_clean"] > 0.0 and s["igd_seen"] > 0.0
    # more evaluations never lose hypervolume
    assert scores["24"]["hv_clean"] >= scores["10"]["hv_clean"]
    assert scores["24"]["regret_seen"] <= scores["10"]["regret_seen"]


def test_the_oracle_engine_is_told_the_landscapes_truth(
    digits: DigitsBench, tmp_path: Path
) -> None:
    result = run_search(digits, "surrogate-oracle", 5, 40, population=8, db_dir=tmp_path)
    assert len(set(result.keys)) == 40 and result.taus and set(result.taus) == {1.0}
    X = np.array(result.keys)
    seen = np.array(result.seen)
    accuracy = _TruePredictor(digits, 5, "accuracy", X, seen)
    assert np.array_equal(accuracy.predict(X), np.array(result.clean))
    assert accuracy.resid_sd == pytest.approx(float(np.sqrt(np.mean((seen - result.clean) ** 2))))
    energy = _TruePredictor(digits, 5, "energy", X, np.log(result.energy))
    assert np.allclose(energy.predict(X), np.log(result.energy))


def test_the_accuracy_oracle_fits_its_energy_predictor(digits: DigitsBench, tmp_path: Path) -> None:
    """``surrogate-oracle-accuracy`` is told the true accuracy only; its energy predictor is one
    of the engine's own model kinds, fitted on the outcomes."""
    from evosnn.engines.predictors import MODEL_KINDS

    result = run_search(digits, "surrogate-oracle", 7, 24, population=8, db_dir=tmp_path)
    X, seen = np.array(result.keys), np.array(result.seen)
    engine = oracle_surrogate(digits.codec, bench=digits, population=8, seed=7, told=("accuracy",))
    assert engine.name == "surrogate-oracle-accuracy"
    info: dict[str, object] = {}
    accuracy = engine.fit_predictor("accuracy", X, seen, info)
    energy = engine.fit_predictor("energy", X, np.log(result.energy), info)
    assert info["accuracy_model"] == "oracle" and info["energy_model"] in MODEL_KINDS
    assert np.array_equal(accuracy.predict(X), np.array(result.clean))
    assert not np.allclose(energy.predict(X), np.log(result.energy))  # fitted, not looked up


def test_front_scorer_reference_is_the_widened_nadir() -> None:
    front = np.array([[0.8, 0.01], [0.9, 0.1], [0.95, 1.0]])
    scorer = FrontScorer.for_front(front)
    span_a, span_e = 0.15, float(np.log(1.0) - np.log(0.01))
    assert scorer.reference[0] == pytest.approx(0.8 - 0.01 * span_a)
    assert scorer.reference[1] == pytest.approx(0.0 + 0.01 * span_e)
    # a lone point's box
    hv = scorer.hypervolume(np.array([0.9]), np.array([0.1]))
    assert hv == pytest.approx((0.9 - scorer.reference[0]) * (scorer.reference[1] - np.log(0.1)))
    assert list(itertools.islice(pareto_indices(front[:, 0], front[:, 1]), 3)) == [0, 1, 2]


@pytest.mark.slow  # over 10 s on 2 cores (2026-12-08, --durations)
def test_report_merges_overlapping_result_files_and_refuses_disagreeing_ones(
    digits: DigitsBench, tmp_path: Path
) -> None:
    def document(seeds: list[int], engines: tuple[str, ...] = ("random", "pymoo")) -> dict:
        runs = {
            name: [
                {
                    "seed": seed,
                    "seconds": 0.0,
                    "stats": {},
                    "accuracy_tau": [],
                    "scores": score_run(
                        run_search(digits, name, seed, 16, population=4, db_dir=tmp_path),
                        digits.scorers(seed),
                        [8, 16],
                    ),
                }
                for seed in seeds
            ]
            for name in engines
        }
        return {
            "landscape": "digits",
            "subnets": digits.size,
            "population": 4,
            "window": 4,
            "budgets": [8, 16],
            "runs": runs,
        }

    paths = []
    for name, seeds in (("a", [0, 1]), ("b", [1, 2])):  # seed 1 in both: a rerun, counted once
        paths.append(tmp_path / f"{name}.json")
        paths[-1].write_text(json.dumps(document(seeds)))
    text = report(paths, default="pymoo")
    assert "16 evaluations, seeds 3," in text and "| pymoo |" in text and "| random |" in text
    short = document([0], engines=("deap",))  # a file at the smaller budget only
    short["budgets"] = [8]
    for run in short["runs"]["deap"]:
        del run["scores"]["16"]
    (tmp_path / "short.json").write_text(json.dumps(short))
    mixed = report([*paths, tmp_path / "short.json"], default="pymoo")
    at_8, at_16 = mixed.split("16 evaluations")
    assert "| deap |" in at_8 and "| deap |" not in at_16
    only = tmp_path / "only.json"  # an engine without random runs: no ratio, no p-value
    only.write_text(json.dumps(document([0], engines=("pymoo",))))
    assert "| pymoo |" in report([only], default="pymoo")
    disagreeing = document([2])
    disagreeing["runs"]["pymoo"][0]["scores"]["16"]["regret_seen"] += 0.01
    paths.append(tmp_path / "c.json")
    paths[-1].write_text(json.dumps(disagreeing))
    with pytest.raises(SystemExit, match="pymoo seed 2 differs"):
        report(paths, default="pymoo")


def test_the_true_model_class_learns_the_landscape_from_enough_noisy_evaluations(
    digits: DigitsBench,
) -> None:
    """``surrogate-true-model``'s predictor is the landscape's own logistic model class: fitted to
    the seen accuracies of many random subnets it ranks held-out subnets' true accuracies nearly as
    well as the landscape's own gene model does (the ceiling: each subnet's idiosyncratic term is
    unpredictable) and far better than fitted to few (the diagnostic measures what those few cost
    the search)."""
    from evosnn.engines.predictors import kendall_tau

    keys = list(digits.table.row)
    rows = np.random.default_rng(0).permutation(len(keys))
    X = np.array([keys[i] for i in rows[:1600]])
    seen = digits.table.seen(0)[rows[:1600]]
    truth = digits.table.accuracy[rows[1600:2600]]
    held_out = np.array([keys[i] for i in rows[1600:2600]])
    many = _LogisticPredictor(digits.codec, X, seen, n_val=digits.n_val, seed=0)
    few = _LogisticPredictor(digits.codec, X[:40], seen[:40], n_val=digits.n_val, seed=0)
    assert many.kind == "logistic" and many.tau is not None and many.resid_sd is not None
    tau_many = kendall_tau(many.predict(held_out), truth)
    tau_few = kendall_tau(few.predict(held_out), truth)

    def genes_only(genomes: np.ndarray) -> np.ndarray:  # the landscape's model without its residual
        return 1.0 / (1.0 + np.exp(-digits.table.calibration.accuracy.logit(digits.codec, genomes)))

    ceiling = kendall_tau(genes_only(held_out), truth)
    assert ceiling > 0.75 and tau_many > ceiling - 0.05 and tau_many > tau_few + 0.1
    # out-of-fold RMS error is what the gene model leaves (validation noise + residual) once learnt
    left = float(np.sqrt(np.mean((seen - genes_only(X)) ** 2)))
    assert many.resid_sd == pytest.approx(left, rel=0.15)


@pytest.mark.slow  # over 10 s on 2 cores (2026-12-08, --durations)
def test_free_evaluations_reach_the_predictor_but_not_the_ledger(
    digits: DigitsBench, tmp_path: Path
) -> None:
    assert TRUE_MODEL_FREE[-1] == "surrogate-true-model-free64" and FREE_EVALUATIONS[-1] == 64
    result = run_search(digits, TRUE_MODEL_FREE[-1], 4, 24, population=8, db_dir=tmp_path)
    assert len(result.keys) == 24 == len(set(result.keys))  # the free ones cost no evaluation
    engine = true_model_surrogate(digits.codec, bench=digits, population=8, seed=4, free=64)
    free = TrueModelPredictors(digits.codec, bench=digits, seed=4, free=64)
    assert engine.name == TRUE_MODEL_FREE[-1] and len(free.free_y) == 64
    keys = [tuple(int(v) for v in x) for x in free.free_X]
    assert list(free.free_y) == [digits.lookup(k, 4)[0] for k in keys]  # seen, not true
    info: dict[str, object] = {}
    X, seen = np.array(result.keys[:8]), np.array(result.seen[:8])
    predictor = engine.fit_predictor("accuracy", X, seen, info)
    assert info["accuracy_model"] == "logistic" and info["accuracy_free"] == 64
    alone = _LogisticPredictor(digits.codec, X, seen, n_val=digits.n_val, seed=0)
    assert not np.allclose(predictor.predict(X), alone.predict(X))  # the free points count
    with pytest.raises(ValueError, match="needs the digits landscape"):
        TrueModelPredictors(cifar_bench().codec, bench=cifar_bench(), seed=0)
