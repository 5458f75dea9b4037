"""Gene sensitivity on the tiny space: real supernet, real BN recalibration, real logits."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from evosnn.cli import main
from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace
from evosnn.proxy.sensitivity import (
    GENE_KINDS,
    SensitivitySettings,
    load_for_sensitivity,
    measure_sensitivity,
)
from tests.conftest import tiny_dict, write_space

SETTINGS = SensitivitySettings(
    subnets=4, images=32, seed=1, eval=EvalSettings(recal_batches=1, recal_batch_size=16)
)


def test_every_gene_kind_is_tried_on_every_subnet(tiny_checkpoint: Path) -> None:
    space = SearchSpace.from_dict(tiny_dict())
    net, splits, what, data = load_for_sensitivity(space, tiny_checkpoint)
    result = measure_sensitivity(net, space, splits, SETTINGS, supernet=what, data=data)
    operators = ("mixer", "neuron", "level")  # one choice each in this space: not genes
    genes = [k for k in GENE_KINDS if k not in operators]
    assert [k for k in GENE_KINDS if result.tried[k] == 4] == genes
    assert all(result.tried[k] == 0 for k in operators)
    assert all(0 <= result.changed[k] <= 4 for k in GENE_KINDS)
    assert result.changed["embed_dim"] == result.changed["time_steps"] == 4
    assert result.evaluated["sps.conv1"] == 4 and result.evaluated["blocks.*.attn_k"] >= 4
    assert "| num_heads |" in result.to_markdown() and "trained supernet" in result.supernet


def test_a_gene_made_inert_changes_no_logits(tiny_checkpoint: Path) -> None:
    space = SearchSpace.from_dict(tiny_dict())
    net, splits, _, _ = load_for_sensitivity(space, tiny_checkpoint)
    with torch.no_grad():
        for block in net.blocks:
            # v never fires: attention is off in every block
            block.get_parameter("v.bn.bias").fill_(-100.0)
    result = measure_sensitivity(net, space, splits, SETTINGS)
    assert result.tried["num_heads"] == 4 and result.changed["num_heads"] == 0
    assert result.silent_share("blocks.*.attn_v") == result.silent_share("blocks.*.proj") == 1.0
    assert result.attention_silent_subnets == 4
    assert result.silent_by_tau == result.blocks_by_tau  # every block, whatever its tau
    assert sum(result.blocks_by_tau.values()) == result.evaluated["blocks.*.proj"]
    assert result.changed["threshold"] > 0  # the rest of the network still responds


def test_the_command_measures_an_untrained_supernet_on_synthetic_images(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny_dict()
    data["dataset"] = {**data["dataset"], "name": "digits", "num_classes": 10}  # not used
    space = write_space(tmp_path, data)
    out = tmp_path / "sensitivity.json"
    argv = ["supernet", "sensitivity", "--space", str(space), "--subnets", "2", "--images", "8"]
    assert main([*argv, "--synthetic", "--recal-batches", "1", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    assert "untrained supernet (seed 0)" in table and "synthetic 8x8x1" in table
    assert "| depth | " in table and "| blocks.*.proj |" in table
    assert '"genes"' in out.read_text()


@pytest.mark.parametrize(
    ("genes", "choices"),
    [(["mixer"], {"mixer": ["ssa", "sdsa", "mlp"]}),
     (["neuron", "level"], {"neuron": ["lif", "ilif"], "level": [2, 4]})],
    ids=["mixer", "neuron"],
)  # fmt: skip
def test_operator_genes_are_measured_where_the_space_searches_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], genes: list[str], choices: dict[str, Any]
) -> None:
    data = tiny_dict()
    data["choices"] |= choices
    space = write_space(tmp_path, data)
    out = tmp_path / "sensitivity.json"
    argv = ["supernet", "sensitivity", "--space", str(space), "--subnets", "3", "--images", "8"]
    assert main([*argv, "--synthetic", "--recal-batches", "1", "--json", str(out)]) == 0
    table = capsys.readouterr().out
    tried = json.loads(out.read_text())["genes"]
    assert f"| {genes[0]} | " in table and tried[genes[0]]["tried"] == 3
    # D is tried only on subnets with an integer neuron somewhere
    assert all(0 < tried[g]["tried"] <= 3 for g in genes if g in tried) and genes[0] in tried
