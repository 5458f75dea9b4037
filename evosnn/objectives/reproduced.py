"""Published energy figures recomputed through evosnn's energy model with their sources' constants.

Three sources whose constants *and* printed results can both be read (issue 41, item 2); the side
by side tables and every term that differs are in ``docs/concepts/hardware-energy.md``:

* :func:`keras_spiking_energy`: nengo/keras-spiking's worked example (``keras_spiking/
  model_energy.py`` at 1384ec3, ``docs/examples/model-energy.ipynb``): a Conv2D 7x7 -> Dense 128
  -> Dense 10 network, its layers as :class:`LayerOps`, priced by :func:`layer_terms` with the
  ``keras-spiking-loihi`` profile's lumped event costs (or a non-spiking device's).
* :func:`syops_energy_mj`: iCGY96/syops-counter's README benchmark (4232f77), ACs and MACs of four
  ImageNet networks at E_AC 0.9 and E_MAC 4.6 pJ: evosnn's ``spikformer`` arithmetic on the
  printed counts (it checks the arithmetic, not the op counting).
* :func:`lemaire_terms` / :func:`lemaire_script_terms`: Lemaire et al.'s memory-aware model as
  HuuYuLong/Complementary-LIF's ``calculating_energy.py`` (8dd3364) runs it on a spiking
  ResNet-18 (CIFAR-10, LIF, T = 6), beside evosnn's memory convention with the ``lemaire``
  profile, term by term and layer by layer.

Example:
    >>> f"{keras_spiking_energy('cpu')['total']:.2e}"  # the notebook: 1.49e-03 J per inference
    '1.49e-03'
    >>> round(syops_energy_mj(acs_g=0.10, macs_g=0.14), 3)  # spiking ResNet-18: 0.734 mJ
    0.734
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from evosnn.core.layer_ops import LayerOps
from evosnn.objectives.hardware import EventCosts, HardwareProfile, load_profile
from evosnn.objectives.memory import MemoryTerms, layer_terms

__all__ = [
    "KERAS_SPIKING_DEVICES",
    "KERAS_SPIKING_RATES",
    "LEMAIRE_RESNET18",
    "SYOPS_COUNTER_ROWS",
    "KerasDevice",
    "LemaireLayer",
    "ScriptTerms",
    "keras_spiking_energy",
    "keras_spiking_ops",
    "lemaire_comparison",
    "lemaire_e_func",
    "lemaire_ops",
    "lemaire_rates",
    "lemaire_script_terms",
    "lemaire_script_totals",
    "lemaire_terms",
    "syops_energy_mj",
]

PJ = 1e-12

# --------------------------------------------------------------------------------------------
# (a) nengo/keras-spiking's ModelEnergy worked example


@dataclass(frozen=True)
class KerasDevice:
    """One device of keras-spiking's ``ModelEnergy.devices``: joules per synaptic op and per
    neuron update, and whether it is event-driven (spiking)."""

    synop_j: float
    neuron_j: float
    spiking: bool
    source: str


_DEGNAN = "Degnan, Marr, Hasler, IEEE TVLSI 24(1) 2015 (as keras-spiking cites it)"
#: keras-spiking's device table (``keras_spiking/model_energy.py`` @ 1384ec3), with its sources.
KERAS_SPIKING_DEVICES: dict[str, KerasDevice] = {
    "cpu": KerasDevice(8.6e-9, 8.6e-9, False, f"Intel i7-4960X; {_DEGNAN}"),
    "gpu": KerasDevice(0.3e-9, 0.3e-9, False, f"Nvidia GTX Titan Black; {_DEGNAN}"),
    "arm": KerasDevice(0.9e-9, 0.9e-9, False, f"ARM Cortex-A; {_DEGNAN}"),
    "loihi": KerasDevice((23.6 + 3.5) * PJ, 81 * PJ, True, "Davies et al., IEEE Micro 38(1) 2018"),
    "spinnaker": KerasDevice(13.3e-9, 26e-9, True, "Hoppner et al., IEEE TCAS-I 66(8) 2019"),
    "spinnaker2": KerasDevice(450 * PJ, 2.19e-9, True, "Hoppner et al., IEEE TCAS-I 66(8) 2019"),
    # the notebook registers this one itself: register_device("my-gpu", 1e-9, 2e-9, False)
    "my-gpu": KerasDevice(1e-9, 2e-9, False, "model-energy.ipynb, register_device example"),
}

#: Input rates (Hz) of the notebook's layers for ``example_data = np.ones(...)``. It prints them
#: to two digits only (conv2d 1, dense 0.26, dense_1 0.18; for 5 x the input 5, 1.3, 0.91: the
#: untrained model has zero biases and ReLUs, so its rates scale exactly with the input). The
#: printed energies pin the next digit: every rate and energy the notebook prints comes out to
#: its printed digits for any dense rate in [0.2577, 0.2590] and dense_1 rate in
#: [0.1810, 0.1816] (to 4 digits), and for no rate outside (at the rounded 0.26 and 0.18, dense's Loihi synop
#: energy at 5 x the input would print 4.4e-09, not 4.3e-09, and dense_1's 6.2e-12, not 6.3e-12).
#: These are the band's middles. conv2d's input is the data itself, exactly 1.
KERAS_SPIKING_RATES: dict[str, float] = {"conv2d": 1.0, "dense": 0.2583, "dense_1": 0.1813}


def keras_spiking_ops() -> list[LayerOps]:
    """The notebook's network (input 28x28x1; Conv2D 2 filters 7x7 -> 22x22x2, ReLU; Dense 128,
    ReLU; Dense 10) as evosnn's layer terms: ``flops`` are keras-spiking's connections (kernel
    size x input channels x output size), ``neurons`` the ReLU that follows (none after the
    output layer). keras-spiking prices no spike traffic, so no outputs are written."""
    conv = 22 * 22 * 2
    return [
        LayerOps("conv2d", conv * 7 * 7 * 1, "sop", "conv2d", inputs=28 * 28, weights=98,
                 neurons=conv),
        LayerOps("dense", conv * 128, "sop", "dense", inputs=conv, weights=conv * 128,
                 neurons=128),
        LayerOps("dense_1", 128 * 10, "sop", "dense_1", inputs=128, weights=1280),
    ]  # fmt: skip


def keras_spiking_energy(
    device: str,
    *,
    rates_hz: Mapping[str, float] | None = None,
    timesteps: int = 1,
    dt: float = 0.001,
) -> dict[str, float]:
    """Energy per inference in joules as keras-spiking's ModelEnergy gives it, computed by
    evosnn's :func:`layer_terms` (event-driven, lumped event costs): ``"<layer> synop"`` and
    ``"<layer> neuron"`` for each layer, and ``"total"``.

    On a spiking device a layer's synaptic events per step are its connections x input rate (Hz)
    x ``dt``, over ``timesteps`` steps; a non-spiking device computes every connection once per
    inference (keras-spiking's ``input_rate = 1/dt`` and one step). The ``loihi`` device is the
    shipped ``keras-spiking-loihi`` profile; the others carry the table's constants as its
    lumped costs.
    """
    spec = KERAS_SPIKING_DEVICES[device]
    base = load_profile("keras-spiking-loihi")
    profile: HardwareProfile = base
    if device != "loihi":
        costs = EventCosts(
            synaptic_op_pj=spec.synop_j / PJ,
            neuron_update_pj=spec.neuron_j / PJ,
            spike_pj=0.0,
            source=spec.source,
        )
        profile = base.model_copy(update={"events": costs})
    given = KERAS_SPIKING_RATES if rates_hz is None else rates_hz
    rates = {k: (v * dt if spec.spiking else 1.0) for k, v in given.items()}
    steps = timesteps if spec.spiking else 1
    out: dict[str, float] = {}
    for op in keras_spiking_ops():
        assert op.rate is not None
        terms = layer_terms(
            op,
            rate=rates[op.rate],
            rates=rates,
            steps=steps,
            profile=profile,
            dataflow="event-driven",
            weight_bits=8,
            potential_bits=16,
        )
        out[f"{op.name} synop"] = terms.arithmetic * PJ
        out[f"{op.name} neuron"] = terms.neurons * PJ
    out["total"] = sum(out.values())
    return out


# --------------------------------------------------------------------------------------------
# (b) iCGY96/syops-counter's README benchmark

#: Model -> (ACs G, MACs G, energy mJ) as the README (@ 4232f77) prints them.
SYOPS_COUNTER_ROWS: dict[str, tuple[float, float, float]] = {
    "spiking_resnet18": (0.10, 0.14, 0.734),
    "sew_resnet18": (0.50, 2.75, 13.10),
    "DSNN18 (AAP)": (1.69, 0.20, 2.44),
    "resnet18": (0.00, 1.82, 8.372),
}


def syops_energy_mj(
    *, acs_g: float, macs_g: float, e_ac_pj: float = 0.9, e_mac_pj: float = 4.6
) -> float:
    """Energy in mJ of ``acs_g`` G accumulates and ``macs_g`` G multiply-accumulates under the
    ``spikformer`` convention's per-operation energies (:class:`EnergyModel` defaults: 0.9 and
    4.6 pJ): G ops x pJ = mJ."""
    return e_mac_pj * macs_g + e_ac_pj * acs_g


# --------------------------------------------------------------------------------------------
# (c) Lemaire et al.'s model as HuuYuLong/Complementary-LIF's calculating_energy.py runs it


@dataclass(frozen=True)
class LemaireLayer:
    """One synaptic layer of the script's network list: input and output shape (C, H, W; an int
    for a fully connected layer), kernel and stride (0 for fully connected)."""

    c_in: int
    h_in: int
    c_out: int
    h_out: int
    kernel: int = 3
    stride: int = 1

    @property
    def fc(self) -> bool:
        return self.kernel == 0

    @property
    def n_in(self) -> int:
        return self.c_in * self.h_in * self.h_in

    @property
    def n_out(self) -> int:
        return self.c_out * self.h_out * self.h_out


def _stage(c_in: int, c: int, h: int) -> list[LemaireLayer]:
    first = LemaireLayer(c_in, 2 * h if c_in != c else h, c, h, stride=2 if c_in != c else 1)
    return [first, *(LemaireLayer(c, h, c, h) for _ in range(3))]


@dataclass(frozen=True)
class LemaireNetwork:
    """One of the script's networks: its layers, the LIF firing rates it lists (%, the output of
    each layer but the last) and T."""

    layers: tuple[LemaireLayer, ...]
    rates: tuple[float, ...]
    steps: int

    def fr(self, i: int) -> float:
        """Firing rate (fraction) of layer ``i``'s input: the image counts as 1, as the script."""
        return 1.0 if i == 0 else self.rates[i - 1] / 100

    def fr_out(self, i: int) -> float:
        """Firing rate of layer ``i``'s output (0 after the last layer, as the script)."""
        return 0.0 if i == len(self.layers) - 1 else self.rates[i] / 100


_RESNET18_RATES = """27.828 19.727 23.881 17.381 25.658 19.541 18.871 9.919 17.236 14.486 12.91
8.546 9.847 8.887 4.845 6.161 4.651"""

#: The script's ``resnet_18_cifar10_network`` (17 convs, then 512 -> 10 ignoring the pooling),
#: its LIF firing rates (``data['cifar10']['LIF']``) and T (``Timestep['cifar10']``).
LEMAIRE_RESNET18 = LemaireNetwork(
    layers=(
        LemaireLayer(3, 32, 64, 32),
        *_stage(64, 64, 32),
        *_stage(64, 128, 16),
        *_stage(128, 256, 8),
        *_stage(256, 512, 4),
        LemaireLayer(512, 1, 10, 1, kernel=0, stride=0),
    ),
    rates=tuple(float(r) for r in _RESNET18_RATES.split()),
    steps=6,
)


def lemaire_e_func(count: float) -> float:
    """The script's SRAM energy per access in pJ (``E_func``), as it calls it: with a NUMBER of
    accesses where Lemaire et al. put a memory size, on lines through 8 kB 10 pJ, 32 kB 20 pJ,
    1 MB 100 pJ that omit each segment's offset, and 100 pJ beyond."""
    m1, m2, m3 = 8 * 1024, 32 * 1024, 1024 * 1024
    if count <= m1:
        return 10 / m1 * count
    if count <= m2:
        return (20 - 10) / (m2 - m1) * (count - m1)
    if count <= m3:
        return (100 - 20) / (m3 - m2) * (count - m2)
    return 100.0


@dataclass(frozen=True)
class ScriptTerms:
    """One layer's counts as the script makes them (per inference)."""

    synaptic_adds: float  # ACC_w
    leak_macs: float  # MAC of the synaptic op: T x neurons (fully connected: T x outputs)
    bias_reset_adds: float  # ACC_b
    read_in: float
    read_params: float
    read_potential: float
    write_out: float
    write_potential: float
    addr_macs: float
    addr_adds: float


def lemaire_script_terms(
    layer: LemaireLayer, fr_in: float, fr_out: float, steps: int
) -> ScriptTerms:
    """The counts ``calculating_energy.py`` makes for one LIF layer (its ``synaptic_op``,
    ``memory_cost`` and ``addressing_cost``), written from its formulas. ``fr_in``/``fr_out``
    are its firing rates as fractions; its input spikes per inference are ``n_in x fr_in`` (no
    factor T)."""
    s_in, s_out = layer.n_in * fr_in, layer.n_out * fr_out
    if layer.fc:
        n_out = layer.c_out
        return ScriptTerms(
            synaptic_adds=s_in * layer.c_in * n_out,  # the script's extra factor n_in
            leak_macs=steps * n_out,
            bias_reset_adds=steps * s_out,
            read_in=s_in,
            read_params=s_in * n_out + n_out,
            read_potential=(s_in + 1) * s_out,
            write_out=s_out,
            write_potential=s_in * n_out + n_out,
            addr_macs=0.0,
            addr_adds=s_in * n_out,
        )
    k2c = layer.kernel * layer.kernel * layer.c_out
    fan_out_ops = (layer.kernel // layer.stride) ** 2 * layer.c_out
    return ScriptTerms(
        synaptic_adds=s_in * fan_out_ops,
        leak_macs=steps * layer.n_out,
        bias_reset_adds=steps * layer.n_out + s_out,
        read_in=s_in,
        read_params=s_in * k2c + layer.n_out,
        read_potential=s_in * k2c + layer.n_out,
        write_out=s_out,
        write_potential=s_in * k2c + layer.n_out,
        addr_macs=2 * s_in,
        addr_adds=s_in * k2c,
    )


def lemaire_ops(network: LemaireNetwork = LEMAIRE_RESNET18) -> list[LayerOps]:
    """The script's network as evosnn's layer terms: FLOPs, weights and LIF neurons from each
    layer's true geometry; the input of layer ``i`` is rate entry ``l{i}``, and a conv's output
    spikes are the next layer's input (``out_rate``)."""
    layers = network.layers
    ops = []
    for i, layer in enumerate(layers):
        last = i == len(layers) - 1
        if layer.fc:
            flops = weights = layer.c_in * layer.c_out
        else:
            weights = layer.c_out * layer.c_in * layer.kernel**2
            flops = layer.n_out * layer.c_in * layer.kernel**2
        ops.append(
            LayerOps(
                f"layer{i}",
                flops,
                "sop",
                f"l{i}",
                inputs=layer.n_in,
                weights=weights,
                neurons=layer.n_out,
                outputs=layer.n_out,
                out_rate=() if last else ((f"l{i + 1}", 1.0),),
            )
        )
    return ops


def lemaire_rates(network: LemaireNetwork = LEMAIRE_RESNET18) -> dict[str, float]:
    """evosnn's per-step input rates for the script's firing rates: the script counts
    ``n_in x fr`` input spikes per inference, evosnn ``rate x T x n_in``, so ``rate = fr / T``;
    the first layer's input (the image) is one spike per pixel (``fr_in = 1``)."""
    steps = network.steps
    return {f"l{i}": network.fr(i) / steps for i in range(len(network.layers))}


def lemaire_terms(network: LemaireNetwork = LEMAIRE_RESNET18) -> list[MemoryTerms]:
    """evosnn's memory-aware terms (event-driven, ``lemaire`` profile, 32-bit weights and
    potentials) of each layer of the script's network, in pJ per inference."""
    profile = load_profile("lemaire")
    rates = lemaire_rates(network)
    steps = network.steps
    return [
        layer_terms(
            op,
            rate=rates[op.rate or ""],
            rates=rates,
            steps=steps,
            profile=profile,
            dataflow="event-driven",
            weight_bits=32,
            potential_bits=32,
        )
        for op in lemaire_ops(network)
    ]


#: The script's per-operation energies (pJ): an add, and a multiply-accumulate (E_MUL + E_ADD).
E_ADD, E_MAC = 0.1, 3.1 + 0.1


def lemaire_comparison(network: LemaireNetwork = LEMAIRE_RESNET18) -> list[dict[str, float]]:
    """Per layer, the script's energies and evosnn's side by side, in pJ per inference.

    Shared terms (``script <term>`` and ``evosnn <term>``): ``synaptic adds`` (one add per synaptic
    event), ``weight fetch`` (one weight read per synaptic event), ``potential update`` (one
    potential read + write per synaptic event) and ``neuron arithmetic`` (per neuron and step: the
    script's leak multiply-accumulate + bias add, evosnn's leak multiply + charge and threshold
    adds; 3.3 pJ both). The rest is one side's only: ``script other`` (bias reads, one potential
    read + write per neuron per inference, reset adds, spike reads and writes, address
    arithmetic), ``evosnn other`` (a potential read + write per neuron and step, spike address
    reads and writes, the dense write of the logits). The script's memory energy per access is
    ``E_func`` of the network's total count of that kind of access (its totals decide it).
    """
    layers = network.layers
    steps = network.steps
    script = [
        lemaire_script_terms(layer, network.fr(i), network.fr_out(i), steps)
        for i, layer in enumerate(layers)
    ]
    e_params = lemaire_e_func(sum(s.read_params for s in script))
    e_rd_pot = lemaire_e_func(sum(s.read_potential for s in script))
    e_wr_pot = lemaire_e_func(sum(s.write_potential for s in script))
    e_in = lemaire_e_func(sum(s.read_in for s in script))
    e_out = lemaire_e_func(sum(s.write_out for s in script))
    profile = load_profile("lemaire")
    rows = []
    for layer, s, ours in zip(layers, script, lemaire_terms(network), strict=True):
        n_out = layer.c_out if layer.fc else layer.n_out
        neuron_pj = 2 * profile.add_pj(32) + profile.mult_pj(32, 32)
        # the script's per-event potential reads and writes (a conv's and a fully connected
        # layer's writes add one per neuron; its fully connected reads are (s_in + 1) s_out)
        pot_reads = s.read_potential - (0 if layer.fc else n_out)
        script_total = (
            (s.synaptic_adds + s.bias_reset_adds + s.addr_adds) * E_ADD
            + (s.leak_macs + s.addr_macs) * E_MAC
            + s.read_params * e_params
            + s.read_potential * e_rd_pot
            + s.write_potential * e_wr_pot
            + s.read_in * e_in
            + s.write_out * e_out
        )
        row = {
            "script synaptic adds": s.synaptic_adds * E_ADD,
            "evosnn synaptic adds": ours.arithmetic,
            "script weight fetch": (s.read_params - n_out) * e_params,
            "evosnn weight fetch": ours.weights,
            "script potential update": pot_reads * e_rd_pot
            + (s.write_potential - n_out) * e_wr_pot,
            "evosnn potential update": ours.potentials,
            "script neuron arithmetic": s.leak_macs * E_MAC + steps * n_out * E_ADD,
            "evosnn neuron arithmetic": steps * n_out * neuron_pj,
            "script total": script_total,
            "evosnn total": ours.total,
        }
        shared = ("synaptic adds", "weight fetch", "potential update", "neuron arithmetic")
        row["script other"] = script_total - sum(row[f"script {t}"] for t in shared)
        row["evosnn other"] = ours.total - sum(row[f"evosnn {t}"] for t in shared)
        rows.append(row)
    return rows


def lemaire_script_totals(network: LemaireNetwork = LEMAIRE_RESNET18) -> dict[str, float]:
    """The five energies ``calculating_energy.py`` prints (pJ per inference): ``E_op``,
    ``E_addr``, ``E_potential``, ``E_inout``, ``E_params``."""
    layers = network.layers
    steps = network.steps
    script = [
        lemaire_script_terms(layer, network.fr(i), network.fr_out(i), steps)
        for i, layer in enumerate(layers)
    ]

    def total(field: str) -> float:
        return float(sum(getattr(s, field) for s in script))

    def priced(field: str) -> float:
        return total(field) * lemaire_e_func(total(field))

    return {
        "E_op": (total("synaptic_adds") + total("bias_reset_adds")) * E_ADD
        + total("leak_macs") * E_MAC,
        "E_addr": total("addr_adds") * E_ADD + total("addr_macs") * E_MAC,
        "E_potential": priced("read_potential") + priced("write_potential"),
        "E_inout": priced("read_in") + priced("write_out"),
        "E_params": priced("read_params"),
    }
