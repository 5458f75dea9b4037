"""NeuroBench on a real stand-alone Spikformer, layer by layer beside evosnn's counts (issue 41
item 3), and ``evosnn benchmark``.

Where the two must agree they are asserted equal; where they differ by construction the difference
is asserted as the structural quantity it is (computed here from the layers' actual inputs):

* spike-fed linear layers (``proj``, ``fc2``): NeuroBench's effective ACs = evosnn's SOPs;
* residual-fed layers (``qkv``, ``fc1``; inputs 0, 1, 2, ...): NeuroBench counts MACs on the
  nonzero inputs, evosnn value-weighted ACs; the ratio is nonzero count / value sum;
* padded 3x3 convs fed spikes: NeuroBench counts each spike's real fan-out (4 at a corner, 6 on an
  edge, 9 inside), evosnn ``rate x FLOPs`` (9 everywhere);
* the first conv on real pixels: NeuroBench counts it once per image on nonzero pixels, evosnn
  ``T x FLOPs`` MACs;
* the attention products and the classifier: evosnn counts them, NeuroBench does not see them.

The NeuroBench tests are skipped unless the optional ``evosnn[neurobench]`` extra is installed; the
error-message tests always run.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from evosnn.cli import main
from evosnn.core.config import SubnetConfig
from evosnn.core.sizes import count_params
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits, normalize
from evosnn.evaluate.models import build_standalone
from evosnn.objectives.energy import EnergyModel
from evosnn.reporting.neurobench import NeuroBenchResult, benchmark
from supernet.lif import LIF
from tests.api.exported import write_export
from tests.conftest import tiny_dict

needs_neurobench = pytest.mark.skipif(
    importlib.util.find_spec("neurobench") is None,
    reason="neurobench is not installed (pip install 'evosnn[neurobench]')",
)


def _active_model() -> tuple[nn.Module, SubnetConfig, SearchSpace]:
    """The tiny space's largest subnet, its BatchNorms set so that every layer fires (an
    untrained network is nearly silent) and the residual stream holds 2s and 3s."""
    space = SearchSpace.from_dict(tiny_dict())
    config = SubnetConfig.largest(space)
    torch.manual_seed(0)
    model = build_standalone(config, space).eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.fill_(4.0)
                m.bias.fill_(1.8)
    return model, config, space


def _fan_out(x: torch.Tensor, layer: nn.Module) -> float:
    """Operations on the nonzero entries of ``x`` at their real fan-out through ``layer``."""
    nonzero = (x != 0).double()
    if isinstance(layer, nn.Linear):
        return float(nonzero.sum()) * layer.out_features
    assert isinstance(layer, nn.Conv2d) and layer.kernel_size == (3, 3) and layer.padding == (1, 1)
    ones = torch.ones(1, 1, *x.shape[-2:], dtype=torch.float64)
    fan = F.conv2d(ones, torch.ones(1, 1, 3, 3, dtype=torch.float64), padding=1)[0, 0]
    return float((nonzero * fan).sum()) * layer.out_channels


#: NeuroBench's result; per layer, nonzero inputs at real fan-out and input sum x fan-out; the
#: firing rate of every LIF output; the subnet
Measured = tuple[NeuroBenchResult, dict[str, float], dict[str, float], float, SubnetConfig]


@pytest.fixture(scope="module")
def measured() -> Measured:
    """NeuroBench on the tiny model's validation images, and from the same layers' inputs: each
    evosnn layer's nonzero-input count at real fan-out, its input value sum x fan-out, and the
    firing rate of every LIF output."""
    pytest.importorskip("neurobench")
    from evosnn.reporting.neurobench import evosnn_layer

    model, config, space = _active_model()
    splits = load_splits(space.dataset)
    images = normalize(splits.val.images, splits.mean, splits.std)
    fanned: dict[str, float] = {}
    summed: dict[str, float] = {}
    spikes = [0.0, 0.0]

    # NeuroBench runs deep copies of each layer (hooks included, a module in them copied too)
    # on binarised inputs: only the model's own calls count here
    def record(
        name: str, own: int, layer: nn.Linear | nn.Conv2d, args: tuple[torch.Tensor, ...]
    ) -> None:
        if id(layer) != own:
            return
        fanned[name] = fanned.get(name, 0.0) + _fan_out(args[0], layer)
        width = layer.out_features if isinstance(layer, nn.Linear) else 9 * layer.out_channels
        summed[name] = summed.get(name, 0.0) + float(args[0].double().sum()) * width

    def fired(own: int, lif: nn.Module, args: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        if id(lif) != own:
            return
        spikes[0] += float(out.count_nonzero())
        spikes[1] += out.numel()

    handles = []
    for name, module in model.named_modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            layer = evosnn_layer(name, config, space.geometry)
            handles.append(module.register_forward_pre_hook(partial(record, layer, id(module))))
        if isinstance(module, LIF):
            handles.append(module.register_forward_hook(partial(fired, id(module))))
    result = benchmark(model, config, space.geometry, images, splits.val.labels, batch_size=8)
    for handle in handles:
        handle.remove()
    n = len(splits.val)
    per_image = {k: v / n for k, v in fanned.items()}
    sums = {k: v / n for k, v in summed.items()}
    return result, per_image, sums, spikes[0] / spikes[1], config


@needs_neurobench
def test_per_layer_counts_add_up_to_neurobench_and_evosnn_totals(measured: Measured) -> None:
    result, _, _, firing, config = measured
    ops = result.neurobench["SynapticOperations"]
    assert sum(r.nb_acs for r in result.layers) == pytest.approx(ops["Effective_ACs"], rel=1e-12)
    assert sum(r.nb_macs for r in result.layers) == pytest.approx(ops["Effective_MACs"], rel=1e-12)
    assert sum(r.acs for r in result.layers) == pytest.approx(result.acs, rel=1e-12)
    assert sum(r.macs for r in result.layers) == pytest.approx(result.macs, rel=1e-12)
    # evosnn's LIF is registered: ActivationSparsity covers every LIF output the model produced
    assert 1 - result.neurobench["ActivationSparsity"] == pytest.approx(firing, rel=1e-9)
    assert 0.2 < firing < 0.8
    assert result.neurobench["ConnectionSparsity"] == 0.0
    # bytes of the float32 parameters, plus BatchNorm's running statistics
    geometry = SearchSpace.from_dict(tiny_dict()).geometry
    assert result.neurobench["Footprint"] > 4 * count_params(config, geometry)
    assert {r.name for r in result.layers if not r.seen} == {
        *(f"blocks.{i}.{p}" for i in range(config.depth) for p in ("attn_qk", "attn_v")),
        "head",
    }


@needs_neurobench
def test_spike_fed_linear_layers_are_equal(measured: Measured) -> None:
    result, _, _, _, config = measured
    rows = {r.name: r for r in result.layers}
    for i in range(config.depth):
        for layer in ("proj", "fc2"):
            row = rows[f"blocks.{i}.{layer}"]
            assert row.acs > 0 and row.nb_macs == 0 and row.macs == 0
            assert row.nb_acs == pytest.approx(row.acs, rel=1e-9)


@needs_neurobench
def test_residual_fed_layers_count_nonzero_inputs_as_macs(measured: Measured) -> None:
    """q, k, v and fc1 read x, a sum of spike tensors: NeuroBench sees values above 1 and counts
    MACs on the nonzero entries; evosnn counts value-weighted accumulates, more by sum / nonzero."""
    result, fanned, sums, _, config = measured
    rows = {r.name: r for r in result.layers}
    for i in range(config.depth):
        for layer in ("qkv", "fc1"):
            name = f"blocks.{i}.{layer}"
            row = rows[name]
            assert row.nb_acs == 0 and row.macs == 0
            assert row.nb_macs == pytest.approx(fanned[name], rel=1e-9)
            assert row.acs == pytest.approx(sums[name], rel=1e-9)
            assert result.rates[name] > 1  # residual values 2, 3, ... are present
            assert row.nb_macs < row.acs


@needs_neurobench
def test_padded_convs_count_border_spikes_at_their_real_fan_out(measured: Measured) -> None:
    result, fanned, _, _, _ = measured
    rows = {r.name: r for r in result.layers}
    for name in ("sps.conv1", "sps.conv2", "sps.conv3", "sps.rpe"):
        row = rows[name]
        assert row.nb_macs == 0 and row.acs > 0
        assert row.nb_acs == pytest.approx(fanned[name], rel=1e-9)
        assert 4 / 9 * row.acs <= row.nb_acs < row.acs  # a corner reaches 4 of 9 outputs
    # the token grid of the tiny space is 2 x 2: every rpe input sits in a corner
    assert rows["sps.rpe"].nb_acs == pytest.approx(4 / 9 * rows["sps.rpe"].acs, rel=1e-9)


@needs_neurobench
def test_first_conv_on_pixels_is_counted_once_per_image(measured: Measured) -> None:
    result, fanned, _, _, config = measured
    row = next(r for r in result.layers if r.name == "sps.conv0")
    assert row.nb_acs == 0 and row.acs == 0
    assert row.nb_macs == pytest.approx(fanned["sps.conv0"], rel=1e-9)
    assert config.time_steps * row.nb_macs <= row.macs


@needs_neurobench
def test_unseen_terms_are_evosnns_attention_products_and_classifier(measured: Measured) -> None:
    result, _, _, _, config = measured
    geometry = SearchSpace.from_dict(tiny_dict()).geometry
    unseen = [r for r in result.layers if not r.seen]
    assert all(r.nb_acs == r.nb_macs == 0 for r in unseen)
    assert all(r.acs > 0 for r in unseen if r.name != "head")
    head = next(r for r in unseen if r.name == "head")
    assert head.macs == config.embed_dim * geometry.num_classes
    model = EnergyModel().with_convention("spikformer")
    estimate = model.estimate(config, geometry, rates=result.rates)
    assert (estimate.sops, estimate.macs) == (result.acs, result.macs)


@needs_neurobench
def test_benchmark_command_prints_both_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_export(tmp_path)
    assert main(["benchmark", str(path), "--limit", "16", "--batch-size", "8"]) == 0
    out = capsys.readouterr().out
    assert "NeuroBench on 16 validation images" in out
    for text in ("Effective_ACs", "ActivationSparsity", "Footprint", "SOPs", "blocks.0.fc2"):
        assert text in out
    assert "not seen" in out


def test_benchmark_without_neurobench_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "neurobench", None)  # import fails as if not installed
    assert main(["benchmark", str(write_export(tmp_path))]) == 2
    err = capsys.readouterr().err.strip()
    assert err == ("evosnn: error: NeuroBench is not installed: pip install 'evosnn[neurobench]'")


def test_benchmark_refuses_what_is_not_an_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "trial-00001.yaml"
    bad.write_text("format: something-else\n")
    assert main(["benchmark", str(bad)]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"evosnn: error: {bad}: not an evosnn architecture file (format 'evosnn-architecture/1')"
    )
