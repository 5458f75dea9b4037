from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import ConfigError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace
from evosnn.evaluate.evaluator import Evaluator
from tests.conftest import tiny_dict


def same_result(a: Any, b: Any) -> bool:
    timing = {"wall_time_s": 0.0, "recal_s": 0.0, "forward_s": 0.0, "bookkeeping_s": 0.0}
    return replace(a, **timing) == replace(b, **timing)


def test_evaluates_with_inherited_weights(tiny_checkpoint: Path) -> None:
    ev = Evaluator(tiny_checkpoint, settings=EvalSettings(recal_batches=2, recal_batch_size=16))
    largest = SubnetConfig.largest(ev.space)
    result = ev.evaluate(largest)
    assert result.ok and 0 <= result.accuracy <= 1 and result.total == len(ev.splits.val)
    assert result.energy_mj == pytest.approx(ev.energy_target_mj)  # the target is this subnet
    assert result.f_aeb == pytest.approx(result.accuracy)
    assert result.sops > 0 and result.macs > 0 and result.params > 0
    assert "blocks.1.fc2" in result.firing_rates
    assert result.recal_s > 0 and result.forward_s > 0


def test_a_b_a_gives_identical_results(tiny_checkpoint: Path) -> None:
    ev = Evaluator(tiny_checkpoint, settings=EvalSettings(recal_batches=2, recal_batch_size=16))
    a, b = SubnetConfig.largest(ev.space), SubnetConfig.smallest(ev.space)
    first = ev.evaluate(a)
    ev.evaluate(b)
    assert same_result(first, ev.evaluate(a))


def test_parameter_limits_reject_before_any_forward(tiny_checkpoint: Path) -> None:
    data = tiny_dict()
    data["objectives"] = {"max_params_m": 0.01}
    ev = Evaluator(tiny_checkpoint, SearchSpace.from_dict(data))
    result = ev.evaluate(SubnetConfig.largest(ev.space))
    assert result.status == "infeasible" and "max_params_m" in str(result.error)
    assert result.forward_s == 0.0 and result.total == 0


def test_nan_logits_give_a_failed_evaluation(tiny_checkpoint: Path) -> None:
    ev = Evaluator(tiny_checkpoint, settings=EvalSettings(recal_batches=1, recal_batch_size=16))
    assert ev.energy_target_mj > 0  # measured while the weights are still sound
    with torch.no_grad():
        ev.supernet.head.weight.fill_(float("nan"))
    result = ev.evaluate(SubnetConfig.smallest(ev.space))
    assert result.status == "failed" and "NaN" in str(result.error)
    assert result.to_dict()["accuracy"] is None


def test_config_outside_the_space_is_an_error(tiny_checkpoint: Path) -> None:
    ev = Evaluator(tiny_checkpoint)
    outside = replace(SubnetConfig.largest(ev.space), tau=(3.0, 3.0))
    with pytest.raises(ConfigError, match=r"tau\[0\]: 3.0 is not a choice"):
        ev.evaluate(outside)


def test_records_both_energy_conventions_and_an_interval(tiny_checkpoint: Path) -> None:
    from evosnn.core.evaluation import wilson_interval
    from evosnn.objectives.energy import EnergyModel

    ev = Evaluator(tiny_checkpoint, settings=EvalSettings(recal_batches=2, recal_batch_size=16))
    result = ev.evaluate(SubnetConfig.largest(ev.space))
    assert result.energy_convention == "spikformer"
    assert result.energy_mj_spikformer == result.energy_mj
    assert result.energy_mj_strict > result.energy_mj  # residual sums counted as MACs
    data = result.to_dict()
    assert data["accuracy_ci95"] == list(wilson_interval(result.correct, result.total))
    assert data["accuracy_ci95"][0] <= result.accuracy <= data["accuracy_ci95"][1]

    strict = Evaluator(
        tiny_checkpoint,
        settings=EvalSettings(recal_batches=2, recal_batch_size=16),
        energy_model=EnergyModel(convention="strict"),
    ).evaluate(SubnetConfig.largest(ev.space))
    assert strict.energy_convention == "strict"
    assert strict.energy_mj == pytest.approx(result.energy_mj_strict)
    assert strict.energy_mj_spikformer == pytest.approx(result.energy_mj)


def test_scores_the_test_split_on_request(tiny_checkpoint: Path) -> None:
    ev = Evaluator(tiny_checkpoint, settings=EvalSettings(recal_batches=2, recal_batch_size=16))
    config = SubnetConfig.largest(ev.space)
    val, test = ev.evaluate(config), ev.evaluate(config, split="test")
    assert (val.total, test.total) == (len(ev.splits.val), len(ev.splits.test))
    assert test.ok and test.total != val.total


def test_silent_paths_are_recorded(tiny_checkpoint: Path) -> None:
    ev = Evaluator(tiny_checkpoint, settings=EvalSettings(recal_batches=1, recal_batch_size=16))
    config = SubnetConfig.largest(ev.space)
    lively = ev.evaluate(config)
    assert (
        "blocks.0.attn_k" in lively.firing_rates and "blocks.0.attn_qk" not in lively.silent_paths
    )
    with torch.no_grad():
        # block 0's k can never fire
        ev.supernet.get_parameter("blocks.0.k.bn.bias").fill_(-100.0)
    quiet = ev.evaluate(config)
    assert quiet.silent_paths[:2] == ["blocks.0.attn_k", "blocks.0.proj"]  # so attention is off
    assert quiet.silent_paths == [p for p, rate in quiet.firing_rates.items() if rate == 0.0]
    assert quiet.to_dict()["silent_paths"] == quiet.silent_paths
