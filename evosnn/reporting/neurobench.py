"""NeuroBench's metrics for a stand-alone Spikformer, beside evosnn's own operation counts.

NeuroBench (``pip install 'evosnn[neurobench]'``) is an independent implementation of the
neuromorphic community's metrics. :func:`benchmark` runs its ``Benchmark`` with
``SynapticOperations``, ``ActivationSparsity``, ``ConnectionSparsity`` and ``Footprint`` on a
model and a data set, with evosnn's :class:`~supernet.lif.LIF` registered as an activation module
(``add_activation_module``, as NeuroBench's docs require for custom neurons), and in the same
forward passes records :class:`~supernet.spike_stats.SpikeStats` so that evosnn's
:class:`~evosnn.objectives.energy.EnergyModel` counts the same images under the ``spikformer``
convention. A per-layer metric written against NeuroBench's own counting function
(``single_layer_MACs``, the one ``SynapticOperations`` sums) puts both side by side per evosnn
layer.

What NeuroBench sees: the ``Linear`` and ``Conv*`` modules the model calls. It does not see the
attention's spike-spike products (``q·kᵀ``, ``(q·kᵀ)·v``, SDSA's masks: no module), nor the
classifier (the model applies its weights with ``F.linear`` on time- and token-averaged features),
nor integer / parametric neurons (``ilif``, ``plif``: functions, not modules) in
``ActivationSparsity``. It counts an input that is not all of {0, 1, -1} as MACs on its nonzero
entries, where ``spikformer`` counts value-weighted accumulates; the first conv once per image
(the model presents its currents T times; evosnn counts its MACs at every step); and each spike's
real fan-out, so a padded 3x3 conv's border spikes reach fewer outputs than ``rate x FLOPs``.

Example:
    >>> result = benchmark(model, config, geometry, images, labels)  # doctest: +SKIP
    >>> result.neurobench["SynapticOperations"]["Effective_ACs"]  # doctest: +SKIP
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import EvosnnError
from evosnn.core.geometry import Geometry
from evosnn.core.mixers import MIXERS
from evosnn.objectives.energy import EnergyModel
from supernet.lif import LIF
from supernet.spike_stats import SpikeStats

__all__ = ["INSTALL", "LayerCounts", "NeuroBenchResult", "benchmark", "evosnn_layer", "require"]

#: What to run when NeuroBench is missing.
INSTALL = "pip install 'evosnn[neurobench]'"


def require() -> None:
    """Raise a one-line :class:`EvosnnError` unless NeuroBench's metrics import."""
    try:
        import neurobench.benchmarks
        import neurobench.metrics.static
        import neurobench.metrics.workload  # noqa: F401
    except ImportError as exc:
        missing = exc.name or "neurobench"
        what = "is not installed" if missing.startswith("neurobench") else f"needs {missing}"
        raise EvosnnError(f"NeuroBench {what}: {INSTALL}") from exc


@dataclass(frozen=True)
class LayerCounts:
    """Operations per image of one evosnn layer: NeuroBench's effective ACs and MACs (0 where it
    does not see the layer) and evosnn's SOPs and MACs (``spikformer`` convention)."""

    name: str
    nb_acs: float
    nb_macs: float
    acs: float
    macs: float
    seen: bool


@dataclass(frozen=True)
class NeuroBenchResult:
    """NeuroBench's results (its metric names), evosnn's per-image counts on the same images, the
    per-layer comparison in network order, and the measured input rates."""

    neurobench: dict[str, Any]
    acs: float
    macs: float
    energy_mj: float
    layers: list[LayerCounts]
    rates: dict[str, float]
    images: int


class _Measured(nn.Module):
    """The model with :class:`SpikeStats` recording every forward pass NeuroBench makes."""

    def __init__(self, net: nn.Module, stats: SpikeStats) -> None:
        super().__init__()
        self.net, self.stats = net, stats

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.net(x, self.stats)
        return out


def evosnn_layer(module: str, config: SubnetConfig, geometry: Geometry) -> str:
    """The :func:`evosnn.core.sizes.layer_ops` entry a NeuroBench-hooked module (its name in the
    stand-alone model, e.g. ``blocks.0.q.linear``) belongs to (q, k and v share ``qkv``)."""
    parts = module.removeprefix("net.").split(".")
    if parts[0] == "sps":
        return f"sps.conv{parts[1]}"
    if parts[0] == "rpe":
        return "sps.rpe"
    if parts[0] == "blocks":
        i, layer = int(parts[1]), parts[2]
        mixer = MIXERS[config.mixer[i]]
        own = {*geometry.qkv_names(mixer.name), "tok"}
        return f"blocks.{i}.{mixer.input if layer in own else layer}"
    return module


def _layer_metric() -> type:
    """A NeuroBench workload metric: ``SynapticOperations``' effective ACs and MACs, by module
    (NeuroBench's ``single_layer_MACs`` on each hooked input, as that metric does)."""
    from neurobench.metrics.abstract.workload_metric import AccumulatedMetric
    from neurobench.metrics.utils.layers import single_layer_MACs

    class LayerSynapticOperations(AccumulatedMetric):
        def __init__(self) -> None:
            super().__init__(requires_hooks=True)
            self.reset()

        def reset(self) -> None:
            self.ops: dict[tuple[str, bool], float] = defaultdict(float)
            self.samples = 0

        def __call__(self, model: Any, preds: Any, data: Any) -> dict[tuple[str, bool], float]:
            names = {id(m): n for n, m in model.__net__().named_modules()}
            for hook in model.connection_hooks:
                for inputs in hook.inputs:
                    hook.hook.remove()  # the binary copy must not re-enter the hook
                    ops, spiking = single_layer_MACs(
                        inputs[0] if len(inputs) == 1 else inputs, hook.layer
                    )
                    hook.register_hook()
                    self.ops[names[id(hook.layer)], bool(spiking)] += ops
            self.samples += data[0].size(0)
            return self.compute()

        def compute(self) -> dict[tuple[str, bool], float]:
            return {key: ops / max(self.samples, 1) for key, ops in self.ops.items()}

    return LayerSynapticOperations


def benchmark(
    model: nn.Module,
    config: SubnetConfig,
    geometry: Geometry,
    images: torch.Tensor,
    labels: torch.Tensor,
    *,
    energy: EnergyModel | None = None,
    batch_size: int = 64,
) -> NeuroBenchResult:
    """Run NeuroBench on ``model`` (a stand-alone :class:`~supernet.standalone.Spikformer` of
    ``config``) over normalised ``images`` and count evosnn's operations on the same passes.

    Raises:
        EvosnnError: NeuroBench is not installed, or one of its metrics failed (NeuroBench
            prints such failures and reports 0; this raises instead).
    """
    require()
    from neurobench.benchmarks import Benchmark
    from neurobench.metrics.static import ConnectionSparsity, Footprint
    from neurobench.metrics.workload import ActivationSparsity, SynapticOperations
    from neurobench.models import TorchModel

    stats = SpikeStats()
    wrapped = TorchModel(_Measured(model, stats))
    wrapped.add_activation_module(LIF)  # evosnn's spiking neurons (before the hooks register)
    per_layer = _layer_metric()
    data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(images, labels), batch_size=batch_size
    )
    workload = [SynapticOperations, ActivationSparsity, per_layer]
    bench = Benchmark(wrapped, data, [], [], [[Footprint, ConnectionSparsity], workload])
    with torch.no_grad():
        results = bench.run(quiet=True)
    bench.workload_metric_manager.cleanup_hooks(wrapped)
    by_module = results.pop(per_layer.__name__)
    if not isinstance(results["SynapticOperations"], dict) or not isinstance(by_module, dict):
        raise EvosnnError("NeuroBench's SynapticOperations failed on this model")
    rates = stats.rates()
    model_ = (energy or EnergyModel()).with_convention("spikformer")
    estimate = model_.estimate(config, geometry, rates=rates)
    return NeuroBenchResult(
        neurobench=results,
        acs=estimate.sops,
        macs=estimate.macs,
        energy_mj=estimate.energy_mj,
        layers=_layers(by_module, model_, config, geometry, rates),
        rates=rates,
        images=len(labels),
    )


def _layers(
    by_module: Mapping[tuple[str, bool], float],
    energy: EnergyModel,
    config: SubnetConfig,
    geometry: Geometry,
    rates: Mapping[str, float],
) -> list[LayerCounts]:
    """Both counts per evosnn layer, in network order (the ``spikformer`` rule of
    :meth:`EnergyModel.estimate`: MAC layers ``T x FLOPs`` or ``FLOPs`` once, the others
    ``rate x T x FLOPs`` accumulates)."""
    nb: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for (module, spiking), ops in by_module.items():
        nb[evosnn_layer(module, config, geometry)][0 if spiking else 1] += ops
    seen = set(nb)
    steps, rows = config.time_steps, []
    for op in energy.ops(config, geometry):
        if op.kind == "mac":
            acs, macs = 0.0, float((steps if op.per_step else 1) * op.flops)
        else:
            assert op.rate is not None
            acs, macs = rates[op.rate] * steps * op.flops, 0.0
        nb_acs, nb_macs = nb.pop(op.name, [0.0, 0.0])
        rows.append(LayerCounts(op.name, nb_acs, nb_macs, acs, macs, seen=op.name in seen))
    return rows + [LayerCounts(n, a, m, 0.0, 0.0, seen=True) for n, (a, m) in nb.items()]
