"""Lookup landscapes: every subnet of a space with a known outcome, so the exact Pareto front is known.

A search engine is judged by how close its evaluated subnets come to the best front the space holds;
on a real supernet that front is unknown. Here the outcome of a subnet is computed from its
configuration by models calibrated on real evaluations of a trained supernet:

* **energy** from evosnn's own :class:`~evosnn.objectives.energy.EnergyModel`, fed per-layer input firing
  rates from a log-linear :class:`RateModel` (fitted to measured rates);
* **accuracy** (noise-free) from a logistic :class:`AccuracyModel` over the genes plus, for the
  exhaustive landscape, an idiosyncratic per-subnet term whose size is measured by split-half
  reliability (what the genes do not explain but two halves of the validation set agree on);
* the accuracy a search **sees** is the noise-free one plus the binomial noise of a validation set
  of ``n_val`` images, drawn per subnet from a noise seed (:func:`binomial_seen`).

Two landscapes: :class:`LookupLandscape` enumerates a small space (digits-tiny: 47,304 subnets)
and finds the exact front by sorting; :class:`AdditiveLandscape` makes accuracy and energy sums of
per-block parts given the global genes (depth, embed dim, time steps), so the exact front of a
space of billions of subnets (cifar10-spikformer) follows by dynamic programming over blocks: a sum
is Pareto-optimal only if each of its parts is, so merging per-block Pareto sets loses nothing.

:class:`FrontScorer` scores a set of evaluated subnets against an exact front: hypervolume in
(accuracy, log energy) with a fixed reference point, regret ``1 - HV/HV*`` and IGD+. Core module:
numpy and the energy model only (no torch, no Ray).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from evosnn.core.config import SubnetConfig
from evosnn.core.genome import BLOCK_GENES, Genome, GenomeCodec
from evosnn.objectives.energy import EnergyModel
from evosnn.objectives.front import hypervolume_2d, igd_plus, pareto_indices, pareto_sum

__all__ = [
    "BLOCK_KINDS",
    "SPS_KINDS",
    "AccuracyModel",
    "AdditiveLandscape",
    "Calibration",
    "FrontScorer",
    "LookupLandscape",
    "RateModel",
    "accuracy_design",
    "binomial_seen",
    "enumerate_genomes",
    "rank_mapped",
    "rate_features",
]

#: Rate entries of the patch-splitting stem (one per network).
SPS_KINDS = ("sps.conv1", "sps.conv2", "sps.conv3", "sps.rpe")
#: Rate entries of each block (``blocks.{i}.{kind}``).
BLOCK_KINDS = ("qkv", "attn_qk", "attn_v", "proj", "fc1", "fc2")


@dataclass(frozen=True)
class FrontScorer:
    """Scores evaluated subnets against an exact front in (accuracy, log energy).

    Attributes:
        front: the exact front, ``[n, 2]`` as (accuracy, energy mJ).
        reference: the hypervolume reference point (accuracy, log energy), fixed per landscape.
        scale: the objective ranges IGD+ divides by.
    """

    front: np.ndarray
    reference: tuple[float, float]
    scale: np.ndarray

    @classmethod
    def for_front(
        cls, front: np.ndarray, *, reference: tuple[float, float] | None = None
    ) -> FrontScorer:
        """A scorer whose reference point is the front's nadir widened by 1 % of its range."""
        acc, log_e = front[:, 0], np.log(front[:, 1])
        span = np.array([np.ptp(acc), np.ptp(log_e)])
        span = np.where(span > 0, span, 1.0)
        if reference is None:
            reference = (
                float(acc.min() - 0.01 * span[0]),
                float(log_e.max() + 0.01 * span[1]),
            )
        return cls(front=front, reference=reference, scale=span)

    @property
    def best(self) -> float:
        """HV* of the exact front."""
        return self.hypervolume(self.front[:, 0], self.front[:, 1])

    def hypervolume(self, accuracy: np.ndarray, energy: np.ndarray) -> float:
        """Hypervolume of the points (accuracy, energy mJ) in log energy."""
        return hypervolume_2d(np.asarray(accuracy), np.log(np.asarray(energy)), self.reference)

    def regret(self, accuracy: np.ndarray, energy: np.ndarray) -> float:
        """``1 - HV / HV*``: 0 for the exact front, 1 for nothing inside the reference box."""
        return 1.0 - self.hypervolume(accuracy, energy) / self.best

    def igd_plus(self, accuracy: np.ndarray, energy: np.ndarray) -> float:
        """IGD+ of the points to the exact front (0: every front point is matched)."""
        pts = np.column_stack([np.asarray(accuracy), np.log(np.asarray(energy))])
        ref = np.column_stack([self.front[:, 0], np.log(self.front[:, 1])])
        return igd_plus(ref, pts, self.scale)


# ---------------------------------------------------------------------------------------- noise
def binomial_seen(accuracy: np.ndarray, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Accuracies as measured on ``n_val`` validation images: ``Binomial(n_val, p) / n_val``."""
    p = np.clip(np.asarray(accuracy, dtype=float), 0.0, 1.0)
    return rng.binomial(n_val, p) / n_val


# ---------------------------------------------------------------------------------------- models
def enumerate_genomes(codec: GenomeCodec) -> list[Genome]:
    """Every canonical genome of the space (one per distinct subnet), depth by depth."""
    upper = codec.bounds()[1]
    out: list[Genome] = []
    for depth_index, depth in enumerate(codec.space.choices.depth):
        n_active = codec.active_length(int(depth))
        ranges = [range(u + 1) for u in upper[1:n_active]]
        for rest in itertools.product(*ranges):
            out.append((depth_index, *rest) + (0,) * (len(upper) - n_active))
    return out


def rank_mapped(value_index: int, n_choices: int, reference: Sequence[float]) -> float:
    """The value of ``reference`` at the same relative position as choice ``value_index`` of
    ``n_choices`` (linear interpolation): carries a model calibrated on one space's choice list
    to another's without extrapolating."""
    if n_choices == 1:
        return float(reference[-1])
    x = value_index / (n_choices - 1) * (len(reference) - 1)
    lo = min(math.floor(x), len(reference) - 2)
    frac = x - lo
    return float(reference[lo] * (1 - frac) + reference[lo + 1] * frac)


def rate_features(kind: str, values: Mapping[str, float], block: int) -> list[float]:
    """Features of the log firing rate of a layer kind: the stem sees the global genes, a block's
    layers also its own genes and its position."""
    base = [1.0, float(values["time_steps"]), math.log2(float(values["embed_dim"]))]
    if kind in SPS_KINDS:
        return base
    return [
        *base,
        float(values["threshold"]),
        math.log(float(values["tau"])),
        float(values["mlp_ratio"]),
        math.log2(float(values["num_heads"])),
        float(block),
    ]


@dataclass(frozen=True)
class RateModel:
    """Log-linear firing rates per layer kind (see :func:`rate_features`).

    Attributes:
        coef: per kind (``sps.conv1`` ... or a block kind such as ``qkv``), the coefficients.
    """

    coef: dict[str, list[float]]

    def rate(self, kind: str, values: Mapping[str, float], block: int) -> float:
        """The predicted input firing rate of one layer."""
        x = rate_features(kind, values, block)
        return float(math.exp(float(np.dot(self.coef[kind], x))))

    def rates(
        self, config: SubnetConfig, *, values: Mapping[str, Sequence[float]] | None = None
    ) -> dict[str, float]:
        """Every rate entry of ``config``; ``values`` (field -> per-block values, globals as one
        entry) overrides the gene values the model sees (a rank-mapped space)."""
        v = values if values is not None else _values_of(config)
        out: dict[str, float] = {}
        glob = {f: v[f][0] for f in ("time_steps", "embed_dim")}
        for kind in SPS_KINDS:
            out[kind] = self.rate(kind, glob, 0)
        for i in range(config.depth):
            own = {**glob, **{f: v[f][i] for f in BLOCK_GENES}}
            for kind in BLOCK_KINDS:
                out[f"blocks.{i}.{kind}"] = self.rate(kind, own, i)
        return out


def _values_of(config: SubnetConfig) -> dict[str, Sequence[float]]:
    return {
        "time_steps": (float(config.time_steps),),
        "embed_dim": (float(config.embed_dim),),
        "mlp_ratio": config.mlp_ratio,
        "num_heads": tuple(float(h) for h in config.num_heads),
        "threshold": config.threshold,
        "tau": config.tau,
    }


def accuracy_design(codec: GenomeCodec, genomes: np.ndarray) -> np.ndarray:
    """The logistic accuracy model's design matrix for canonical ``genomes`` ``[n, genes]``.

    Columns: an intercept; one indicator per gene and choice other than choice 0 (inert genes are
    0, the baseline, so they add nothing); per block, one indicator per (threshold, tau) pair whose
    indices are both non-zero (how a block's neurons fire depends on the two together).
    """
    g = np.asarray(genomes, dtype=int)
    cols = [np.ones(len(g))]
    for k, gene in enumerate(codec.genes):
        for c in range(1, gene.upper + 1):
            cols.append((g[:, k] == c).astype(float))
    n_thr = len(codec.space.choices.threshold)
    n_tau = len(codec.space.choices.tau)
    for block in range(codec.space.max_depth):
        t = g[:, codec.index(f"threshold_{block}")]
        u = g[:, codec.index(f"tau_{block}")]
        for a in range(1, n_thr):
            for b in range(1, n_tau):
                cols.append(((t == a) & (u == b)).astype(float))
    return np.column_stack(cols)


@dataclass(frozen=True)
class AccuracyModel:
    """Noise-free accuracy ``sigmoid(design @ coef + u)`` (see :func:`accuracy_design`).

    Attributes:
        coef: the fitted logistic coefficients.
        residual_sd: sd of the idiosyncratic per-subnet logit term ``u`` that the genes do not
            explain but both halves of the validation set agree on (split-half covariance).
    """

    coef: list[float]
    residual_sd: float

    def logit(self, codec: GenomeCodec, genomes: np.ndarray) -> np.ndarray:
        return np.asarray(accuracy_design(codec, genomes) @ np.asarray(self.coef))


@dataclass(frozen=True)
class Calibration:
    """What the landscapes are calibrated with (written by ``benchmarks.experiments.bench_landscape``).

    Attributes:
        space: the name of the space the evaluations came from (digits-tiny).
        n_val: validation images per evaluation (the size of the seen accuracy's noise).
        accuracy: the accuracy model.
        rates: the firing-rate model.
        figures: calibration figures (reliability, noise share, fit quality ...), for the report.
    """

    space: str
    n_val: int
    accuracy: AccuracyModel
    rates: RateModel
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "n_val": self.n_val,
            "accuracy": {"coef": self.accuracy.coef, "residual_sd": self.accuracy.residual_sd},
            "rates": self.rates.coef,
            "figures": self.figures,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Calibration:
        return cls(
            space=str(data["space"]),
            n_val=int(data["n_val"]),
            accuracy=AccuracyModel(
                coef=[float(c) for c in data["accuracy"]["coef"]],
                residual_sd=float(data["accuracy"]["residual_sd"]),
            ),
            rates=RateModel(coef={k: [float(c) for c in v] for k, v in data["rates"].items()}),
            figures=dict(data.get("figures", {})),
        )


def _energy(
    codec: GenomeCodec,
    config: SubnetConfig,
    rates: Mapping[str, float],
    model: EnergyModel,
) -> tuple[float, dict[str, float]]:
    est = model.estimate(config, codec.space.geometry, rates=rates)
    return est.energy_mj, est.per_layer_mj


class _BlockEnergies:
    """Per-layer energies of the energy model summed per part: the stem and head per (embed dim,
    time steps), each block per (embed dim, time steps, position, block genes). With rates that
    depend on a block's own genes only, a subnet's energy is exactly the sum of its parts; this
    turns 47,304 energy-model calls into about a thousand."""

    def __init__(self, codec: GenomeCodec, stem: np.ndarray, blocks: np.ndarray) -> None:
        self.codec, self.stem, self.blocks = codec, stem, blocks

    def energy(self, genomes: np.ndarray) -> np.ndarray:
        g = np.asarray(genomes, dtype=int)
        ch = self.codec.space.choices
        depth = np.asarray(ch.depth, dtype=int)[g[:, 0]]
        out = self.stem[g[:, 1], g[:, 2]].copy()
        dims = (len(ch.mlp_ratio), len(ch.num_heads), len(ch.threshold), len(ch.tau))
        for i in range(self.codec.space.max_depth):
            s = self.codec.block_slice(i)
            option = np.ravel_multi_index(tuple(g[:, s].T), dims)
            part = self.blocks[g[:, 1], g[:, 2], i, option]
            out += np.where(depth > i, part, 0.0)
        return out


def _block_energies(
    codec: GenomeCodec,
    rates: RateModel,
    *,
    mapped: Callable[[SubnetConfig, tuple[int, ...]], Mapping[str, Sequence[float]]] | None = None,
) -> _BlockEnergies:
    """The energy model's per-layer energies summed into stem and per-block parts (see
    :class:`_BlockEnergies`); ``mapped`` gives the gene values the rate model sees."""
    ch = codec.space.choices
    model = EnergyModel.for_space(codec.space)
    depth = codec.space.max_depth
    options = list(
        itertools.product(
            range(len(ch.mlp_ratio)),
            range(len(ch.num_heads)),
            range(len(ch.threshold)),
            range(len(ch.tau)),
        )
    )
    n_e, n_t = len(ch.embed_dim), len(ch.time_steps)
    stem = np.zeros((n_e, n_t))
    blocks = np.zeros((n_e, n_t, depth, len(options)))
    for ei, ti in itertools.product(range(n_e), range(n_t)):
        for o, (m, h, t, u) in enumerate(options):
            config = SubnetConfig(
                depth=depth,
                embed_dim=int(ch.embed_dim[ei]),
                time_steps=int(ch.time_steps[ti]),
                mlp_ratio=(float(ch.mlp_ratio[m]),) * depth,
                num_heads=(int(ch.num_heads[h]),) * depth,
                threshold=(float(ch.threshold[t]),) * depth,
                tau=(float(ch.tau[u]),) * depth,
            )
            values = mapped(config, (ei, ti, m, h, t, u)) if mapped is not None else None
            _, per_layer = _energy(codec, config, rates.rates(config, values=values), model)
            for i in range(depth):
                prefix = f"blocks.{i}."
                blocks[ei, ti, i, o] = sum(v for k, v in per_layer.items() if k.startswith(prefix))
            if o == 0:
                stem[ei, ti] = sum(v for k, v in per_layer.items() if not k.startswith("blocks."))
    return _BlockEnergies(codec, stem, blocks)


# ---------------------------------------------------------------------------------------- lookup
class LookupLandscape:
    """Every subnet of a small space with its noise-free accuracy and energy (exact front by sort).

    Args:
        codec: the space's codec (digits-tiny: 47,304 subnets).
        calibration: the accuracy and rate models and the validation size.
        seed: the seed of the idiosyncratic accuracy term (fixed: it is part of the landscape).
    """

    def __init__(self, codec: GenomeCodec, calibration: Calibration, *, seed: int = 0) -> None:
        self.codec, self.calibration = codec, calibration
        self.n_val = calibration.n_val
        self.genomes: list[Genome] = enumerate_genomes(codec)
        self.row = {g: i for i, g in enumerate(self.genomes)}
        matrix = np.asarray(self.genomes, dtype=int)
        rng = np.random.default_rng(seed)
        logit = calibration.accuracy.logit(codec, matrix)
        logit = logit + rng.normal(0.0, calibration.accuracy.residual_sd, size=len(logit))
        self.accuracy = 1.0 / (1.0 + np.exp(-logit))
        self.energy = _block_energies(codec, calibration.rates).energy(matrix)
        self.front_rows = pareto_indices(self.accuracy, self.energy)

    def __len__(self) -> int:
        return len(self.genomes)

    def seen(self, noise_seed: int) -> np.ndarray:
        """Every subnet's accuracy as a search sees it under validation noise ``noise_seed``."""
        return binomial_seen(self.accuracy, self.n_val, np.random.default_rng(noise_seed))

    def front(self, accuracy: np.ndarray | None = None) -> np.ndarray:
        """The exact front ``[n, 2]`` (accuracy, energy) of ``accuracy`` (default noise-free)."""
        acc = self.accuracy if accuracy is None else accuracy
        rows = self.front_rows if accuracy is None else pareto_indices(acc, self.energy)
        return np.column_stack([acc[rows], self.energy[rows]])


# ---------------------------------------------------------------------------------------- additive
class AdditiveLandscape:
    """Accuracy and energy as sums over blocks given the global genes: exact front by DP.

    ``accuracy = base[depth, embed, T] + sum_i block_acc[i][option_i]`` and ``energy =
    stem[embed, T] + sum_i block_energy[embed, T, i][option_i]``, where a block's option is its
    (mlp ratio, heads, threshold, tau) index tuple. Energy is evosnn's energy model with rates from
    the calibrated :class:`RateModel` (a block's rates depend on its own genes, the globals and its
    position only, so the energy model's per-layer sum is additive); accuracy effects are the
    digits calibration's, carried to this space's choices by :func:`rank_mapped` and turned into
    accuracy units at the calibration's mean accuracy, plus a fixed random effect per block position
    and option (sd ``block_sd``) so that positions differ. ``top`` is the largest subnet's
    accuracy; the seen accuracy adds the binomial noise of ``n_val`` images.

    Args:
        codec: the space's codec (e.g. cifar10-spikformer's).
        calibration: the digits calibration (its codec is ``reference``).
        reference: the codec of the space the calibration was fitted on.
        n_val: validation images (noise of the seen accuracy).
        top: accuracy of the largest subnet.
        block_sd: sd of the per-position random effects (accuracy units).
        seed: seed of those random effects.
    """

    def __init__(
        self,
        codec: GenomeCodec,
        calibration: Calibration,
        reference: GenomeCodec,
        *,
        n_val: int,
        top: float = 0.95,
        block_sd: float = 0.004,
        seed: int = 0,
    ) -> None:
        self.codec, self.n_val = codec, n_val
        ch, ref = codec.space.choices, reference.space.choices
        self.depths = [int(d) for d in ch.depth]
        self.max_depth = max(self.depths)
        coef = np.asarray(calibration.accuracy.coef)
        mean_acc = float(calibration.figures.get("mean_accuracy", 0.9))
        slope = mean_acc * (1 - mean_acc)  # d accuracy / d logit at the calibration's mean
        effects = _gene_effects(reference, coef)

        def effect(field_: str, k: int, n: int, *, block: int | None = None) -> float:
            table = effects[field_] if block is None else effects[f"{field_}_b"]
            return slope * rank_mapped(k, n, table)

        n_d, n_e, n_t = len(ch.depth), len(ch.embed_dim), len(ch.time_steps)
        self.options = list(
            itertools.product(
                range(len(ch.mlp_ratio)),
                range(len(ch.num_heads)),
                range(len(ch.threshold)),
                range(len(ch.tau)),
            )
        )
        rng = np.random.default_rng(seed)
        n_opt = len(self.options)
        pair = effects["pair"]  # [n_thr_ref, n_tau_ref]
        block_acc = np.zeros((self.max_depth, n_opt))
        for o, (m, h, t, u) in enumerate(self.options):
            tt = rank_mapped(t, len(ch.threshold), range(pair.shape[0]))
            uu = rank_mapped(u, len(ch.tau), range(pair.shape[1]))
            block_acc[:, o] = (
                effect("mlp_ratio", m, len(ch.mlp_ratio), block=0)
                + effect("num_heads", h, len(ch.num_heads), block=0)
                + slope * _bilinear(pair, tt, uu)
            )
        block_acc += rng.normal(0.0, block_sd, size=block_acc.shape)
        base = np.zeros((n_d, n_e, n_t))
        for di, ei, ti in itertools.product(range(n_d), range(n_e), range(n_t)):
            base[di, ei, ti] = (
                effect("depth", di, n_d)
                + effect("embed_dim", ei, n_e)
                + effect("time_steps", ti, n_t)
            )
        # the largest subnet (last choice everywhere, default neurons approximated by the best
        # block option) reaches ``top``
        best_blocks = float(np.sum(np.max(block_acc, axis=1)))
        shift = top - (float(base[-1, -1, -1]) + best_blocks)
        self.base = base + shift
        self.block_acc = block_acc
        low = float(self.base.min()) + float(np.sum(np.min(block_acc, axis=1)))
        if low <= 0.0:
            raise ValueError(f"additive accuracy model reaches {low:.3f} <= 0; reduce the effects")

        # energy: stem + head per (embed, T); per block per (embed, T, position, option), with
        # the rate model seeing the calibration space's values at the same relative positions
        def mapped(config: SubnetConfig, idx: tuple[int, ...]) -> Mapping[str, Sequence[float]]:
            ei, ti, m, h, t, u = idx
            d = config.depth
            return {
                "time_steps": (rank_mapped(ti, n_t, ref.time_steps),),
                "embed_dim": (rank_mapped(ei, n_e, ref.embed_dim),),
                "mlp_ratio": (rank_mapped(m, len(ch.mlp_ratio), ref.mlp_ratio),) * d,
                "num_heads": (rank_mapped(h, len(ch.num_heads), ref.num_heads),) * d,
                "threshold": (rank_mapped(t, len(ch.threshold), ref.threshold),) * d,
                "tau": (rank_mapped(u, len(ch.tau), ref.tau),) * d,
            }

        parts = _block_energies(codec, calibration.rates, mapped=mapped)
        self.stem, self.block_energy = parts.stem, parts.blocks
        self._option_index: dict[tuple[int, ...], int] = {
            opt: o for o, opt in enumerate(self.options)
        }

    @property
    def size(self) -> int:
        """Number of distinct subnets."""
        n_opt = len(self.options)
        return int(self.base[0].size * sum(n_opt**d for d in self.depths))

    def _parts(self, genome: Sequence[int]) -> tuple[int, int, int, list[int]]:
        g = self.codec.canonical(genome)
        depth = self.depths[g[0]]
        opts = [self._option_index[tuple(g[self.codec.block_slice(i)])] for i in range(depth)]
        return g[0], g[1], g[2], opts

    def outcome(self, genome: Sequence[int]) -> tuple[float, float]:
        """(noise-free accuracy, energy mJ) of ``genome``."""
        d, e, t, opts = self._parts(genome)
        acc = float(self.base[d, e, t]) + sum(
            float(self.block_acc[i, o]) for i, o in enumerate(opts)
        )
        energy = float(self.stem[e, t]) + sum(
            float(self.block_energy[e, t, i, o]) for i, o in enumerate(opts)
        )
        return acc, energy

    def seen(self, genome: Sequence[int], noise_seed: int) -> float:
        """The accuracy a search sees for ``genome`` under validation noise ``noise_seed`` (fixed
        per subnet and seed)."""
        acc, _ = self.outcome(genome)
        rng = np.random.default_rng([noise_seed, *self.codec.canonical(genome)])
        return float(binomial_seen(np.array([acc]), self.n_val, rng)[0])

    def front(self) -> tuple[np.ndarray, list[Genome]]:
        """The exact front ``[n, 2]`` (accuracy, energy) and one genome per front point, by DP."""
        accs: list[np.ndarray] = []
        ens: list[np.ndarray] = []
        who: list[Genome] = []
        for di, ei, ti in itertools.product(*(range(n) for n in self.base.shape)):
            acc, en, picks = self._global_front(di, ei, ti)
            accs.append(acc)
            ens.append(en)
            who += [self._genome(di, ei, ti, p) for p in picks]
        acc_all, en_all = np.concatenate(accs), np.concatenate(ens)
        keep = pareto_indices(acc_all, en_all)
        return np.column_stack([acc_all[keep], en_all[keep]]), [who[k] for k in keep]

    def _global_front(
        self, di: int, ei: int, ti: int
    ) -> tuple[np.ndarray, np.ndarray, list[list[int]]]:
        depth = self.depths[di]
        acc = np.array([float(self.base[di, ei, ti])])
        en = np.array([float(self.stem[ei, ti])])
        picks: list[list[int]] = [[]]
        for i in range(depth):
            part_a, part_e = self.block_acc[i], self.block_energy[ei, ti, i]
            own = pareto_indices(part_a, part_e)  # a sum is optimal only if each part is
            acc, en, left, right = pareto_sum((acc, en), (part_a[own], part_e[own]))
            picks = [picks[a] + [int(own[b])] for a, b in zip(left, right, strict=True)]
        return acc, en, picks

    def _genome(self, di: int, ei: int, ti: int, options: list[int]) -> Genome:
        genome = [0] * len(self.codec)
        genome[0], genome[1], genome[2] = di, ei, ti
        for i, o in enumerate(options):
            genome[self.codec.block_slice(i)] = self.options[o]
        return tuple(genome)

    def all_outcomes(self) -> Iterable[tuple[Genome, float, float]]:
        """Every subnet with its outcome (brute force: only for reduced spaces)."""
        for genome in enumerate_genomes(self.codec):
            acc, en = self.outcome(genome)
            yield genome, acc, en


def _gene_effects(codec: GenomeCodec, coef: np.ndarray) -> dict[str, Any]:
    """The logistic model's effects per global gene choice, per block gene choice (averaged over
    block positions) and per (threshold, tau) pair, in logit units (choice 0 is 0)."""
    out: dict[str, Any] = {}
    pos = 1
    per_field: dict[str, list[list[float]]] = {}
    for gene in codec.genes:
        values = [0.0] + [float(c) for c in coef[pos : pos + gene.upper]]
        pos += gene.upper
        if gene.block is None:
            out[gene.field] = values
        else:
            per_field.setdefault(gene.field, []).append(values)
    for name, rows in per_field.items():
        out[f"{name}_b"] = list(np.mean(rows, axis=0))
    n_thr, n_tau = len(codec.space.choices.threshold), len(codec.space.choices.tau)
    pair = np.zeros((n_thr, n_tau))
    thr, tau = out["threshold_b"], out["tau_b"]
    inter = np.zeros((n_thr, n_tau))
    blocks = codec.space.max_depth
    for _ in range(blocks):
        for a in range(1, n_thr):
            for b in range(1, n_tau):
                inter[a, b] += float(coef[pos]) / blocks
                pos += 1
    for a in range(n_thr):
        for b in range(n_tau):
            pair[a, b] = thr[a] + tau[b] + inter[a, b]
    out["pair"] = pair
    return out


def _bilinear(table: np.ndarray, x: float, y: float) -> float:
    """``table`` at fractional indices (x, y)."""
    x0 = min(math.floor(x), table.shape[0] - 2) if table.shape[0] > 1 else 0
    y0 = min(math.floor(y), table.shape[1] - 2) if table.shape[1] > 1 else 0
    fx, fy = x - x0, y - y0
    x1 = min(x0 + 1, table.shape[0] - 1)
    y1 = min(y0 + 1, table.shape[1] - 1)
    return float(
        table[x0, y0] * (1 - fx) * (1 - fy)
        + table[x1, y0] * fx * (1 - fy)
        + table[x0, y1] * (1 - fx) * fy
        + table[x1, y1] * fx * fy
    )
