"""Gene sensitivity: does changing one gene change the network, and which paths are silent?

A searched gene that cannot change the logits is wasted search: the engine pays for networks it has
already seen. For ``subnets`` random subnets of a space this module evaluates the subnet on a fixed
set of validation images (with BN recalibrated exactly as the search's evaluator does), then, one
gene kind at a time, a copy with only that gene changed to another random choice (per-block genes:
in one random active block), and counts the subnets whose logits changed (bit-wise: an inert gene
gives identical logits). It also counts, per synaptic path, the block evaluations in which the
path's input was zero on every image (the attention output ``proj`` silent means the block's
attention LIF never fired: its heads gene cannot matter).

Without a trained supernet (e.g. at the CIFAR geometry on this machine) it measures a freshly
initialised one, and with ``synthetic`` data the space's geometry is kept but images are made in
memory; the report says which.

Example:
    >>> result = measure_sensitivity(net, space, splits, SensitivitySettings(subnets=8))  # doctest: +SKIP
    >>> result.gene_share("num_heads")  # doctest: +SKIP
    1.0
"""

from __future__ import annotations

import logging
import random
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from evosnn.core.config import SubnetConfig
from evosnn.core.evaluation import EvalSettings, silent_paths
from evosnn.core.genome import GLOBAL_GENES, Genome, GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.evaluate.evaluator import prepare_subnet
from evosnn.evaluate.models import build_supernet, load_supernet
from supernet.batches import Splits, normalize
from supernet.model import SpikformerSupernet
from supernet.spike_stats import SpikeStats

__all__ = [
    "GENE_KINDS",
    "SensitivityResult",
    "SensitivitySettings",
    "load_for_sensitivity",
    "measure_sensitivity",
]

log = logging.getLogger(__name__)

#: Every kind of searched gene, in the order the table lists them.
GENE_KINDS = (
    "depth",
    "embed_dim",
    "mlp_ratio",
    "num_heads",
    "threshold",
    "tau",
    "time_steps",
    "mixer",
    "neuron",
    "level",
)
_BLOCK = re.compile(r"^blocks\.\d+\.")


@dataclass(frozen=True)
class SensitivitySettings:
    """How the measurement runs.

    Attributes:
        subnets: random subnets (every gene uniform, as the search's first generation draws them).
        images: validation images the logits are compared on.
        seed: the subnet and variant draw.
        eval: BN recalibration settings (the search's defaults).
    """

    subnets: int = 40
    images: int = 256
    seed: int = 0
    eval: EvalSettings = field(default_factory=EvalSettings)


@dataclass
class SensitivityResult:
    """Counts of one measurement (plain data; :meth:`to_markdown` renders the table).

    ``changed[kind]`` / ``tried[kind]``: subnets whose logits changed when only a gene of that kind
    changed (a kind with one choice is not tried). ``silent[path]`` / ``evaluated[path]``: subnet
    evaluations (block paths: per active block) whose ``path`` input was zero on every image;
    ``attention_silent_subnets``: subnets with at least one block whose attention never fired.
    """

    space: str
    supernet: str
    data: str
    subnets: int
    images: int
    changed: Counter[str] = field(default_factory=Counter)
    tried: Counter[str] = field(default_factory=Counter)
    silent: Counter[str] = field(default_factory=Counter)
    evaluated: Counter[str] = field(default_factory=Counter)
    attention_silent_subnets: int = 0
    #: Block evaluations, and those whose attention output was silent, by the block's tau.
    blocks_by_tau: Counter[float] = field(default_factory=Counter)
    silent_by_tau: Counter[float] = field(default_factory=Counter)

    def gene_share(self, kind: str) -> float:
        """Share of subnets whose logits changed with a gene of ``kind`` (NaN if not tried)."""
        return self.changed[kind] / self.tried[kind] if self.tried[kind] else float("nan")

    def silent_share(self, path: str) -> float:
        """Share of evaluations in which ``path`` was silent on every image."""
        return self.silent[path] / self.evaluated[path] if self.evaluated[path] else float("nan")

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe counts and shares."""
        return {
            "space": self.space,
            "supernet": self.supernet,
            "data": self.data,
            "subnets": self.subnets,
            "images": self.images,
            "genes": {
                k: {"changed": self.changed[k], "tried": self.tried[k]}
                for k in GENE_KINDS
                if self.tried[k]
            },
            "silent": {
                p: {"silent": self.silent[p], "evaluated": n} for p, n in self.evaluated.items()
            },
            "attention_silent_subnets": self.attention_silent_subnets,
            "attention_silent_by_tau": {
                str(t): {"silent": self.silent_by_tau[t], "blocks": n}
                for t, n in sorted(self.blocks_by_tau.items())
            },
        }

    def to_markdown(self) -> str:
        """Two tables: gene sensitivity, then path silence."""
        lines = [
            f"**{self.space}** ({self.supernet}; {self.data}; {self.subnets} subnets, "
            f"{self.images} images): attention silent in at least one block of "
            f"{self.attention_silent_subnets} of {self.subnets} subnets "
            f"({100 * self.attention_silent_subnets / max(1, self.subnets):.0f} %)",
            "",
            "| gene | logits changed | share |",
            "|---|---|---|",
        ]
        for kind in GENE_KINDS:
            if self.tried[kind]:
                share = 100 * self.gene_share(kind)
                lines.append(
                    f"| {kind} | {self.changed[kind]} / {self.tried[kind]} | {share:.0f} % |"
                )
        lines += ["", "| path | silent on every image | share |", "|---|---|---|"]
        for path, n in self.evaluated.items():
            share = 100 * self.silent_share(path)
            lines.append(f"| {path} | {self.silent[path]} / {n} | {share:.0f} % |")
        lines += ["", "| block's tau | attention silent |", "|---|---|"]
        for tau, n in sorted(self.blocks_by_tau.items()):
            lines.append(f"| {tau:g} | {self.silent_by_tau[tau]} / {n} |")
        return "\n".join(lines)


def load_for_sensitivity(
    space: SearchSpace,
    supernet: str | Path | None,
    *,
    synthetic: bool = False,
    data_root: str | Path | None = None,
    seed: int = 0,
) -> tuple[SpikformerSupernet, Splits, str, str]:
    """The supernet (trained, or initialised with ``seed`` when ``supernet`` is None), the data
    (the space's, or synthetic images of its geometry) and a description of each."""
    if supernet is not None:
        net, _ = load_supernet(supernet, space)
        what = f"trained supernet {Path(supernet).name}"
    else:
        torch.manual_seed(seed)
        net, what = build_supernet(space).eval(), f"untrained supernet (seed {seed})"
    spec = space.dataset
    if synthetic:
        spec = spec.model_copy(update={"name": "synthetic", "synthetic_size": 2000})
    splits = load_splits(spec, root=data_root)
    data = (
        f"synthetic {spec.image_size}x{spec.image_size}x{spec.channels}" if synthetic else spec.name
    )
    return net, splits, what, data


def measure_sensitivity(
    net: SpikformerSupernet,
    space: SearchSpace,
    splits: Splits,
    settings: SensitivitySettings,
    *,
    supernet: str = "supernet",
    data: str = "",
    progress: bool = False,
) -> SensitivityResult:
    """Measure gene sensitivity and path silence on ``settings.subnets`` random subnets."""
    codec = GenomeCodec(space)
    rng = random.Random(settings.seed)
    x = normalize(splits.val.images[: settings.images], splits.mean, splits.std)
    x = x.to(settings.eval.device)
    result = SensitivityResult(
        space.name, supernet, data or space.dataset.name, settings.subnets, len(x)
    )
    for _ in tqdm(range(settings.subnets), disable=None if progress else True, desc="subnets"):
        genome = codec.sample(rng)
        config = codec.decode(genome)
        logits, rates = _run(net, config, x, splits, settings.eval)
        _count_silence(result, rates, config)
        for kind in GENE_KINDS:
            variant = _change_one(codec, genome, kind, rng)
            if variant is None:
                continue
            other, _ = _run(net, codec.decode(variant), x, splits, settings.eval)
            result.tried[kind] += 1
            result.changed[kind] += int(not torch.equal(logits, other))
    return result


def _run(
    net: SpikformerSupernet,
    config: SubnetConfig,
    x: torch.Tensor,
    splits: Splits,
    settings: EvalSettings,
) -> tuple[torch.Tensor, dict[str, float]]:
    """Logits and per-path input rates of ``config``, BN recalibrated as the evaluator does."""
    prepare_subnet(net, config, splits, settings, device=settings.device)
    stats = SpikeStats()
    with torch.inference_mode():
        logits = net(x, config, stats)
    return logits, stats.rates()


def _count_silence(
    result: SensitivityResult, rates: dict[str, float], config: SubnetConfig
) -> None:
    """Add one subnet's silent paths (block paths pooled over its active blocks)."""
    silent = set(silent_paths(rates))
    for block, tau in enumerate(config.tau):
        result.blocks_by_tau[tau] += 1
        result.silent_by_tau[tau] += f"blocks.{block}.proj" in silent
    attention_dead = False
    for name in rates:
        path = _BLOCK.sub("blocks.*.", name)
        result.evaluated[path] += 1
        if name in silent:
            result.silent[path] += 1
            attention_dead |= name.endswith(".proj")
    result.attention_silent_subnets += int(attention_dead)


def _change_one(codec: GenomeCodec, genome: Genome, kind: str, rng: random.Random) -> Genome | None:
    """``genome`` with one gene of ``kind`` (in a random active block) set to another choice."""
    if kind in GLOBAL_GENES:
        position = codec.index(kind)
    elif kind not in codec.block_genes:  # one choice in this space: not a gene (no draw)
        return None
    else:  # a block where the gene is live (e.g. the level of an integer neuron)
        config = codec.decode(genome)
        live = [b for b in range(config.depth) if config.live(kind, b)]
        if not live:
            return None
        block = rng.choice(live)
        position = codec.index(f"{kind}_{block}")
    upper = codec.genes[position].upper
    if upper == 0:
        return None
    value = rng.choice([i for i in range(upper + 1) if i != genome[position]])
    return (*genome[:position], value, *genome[position + 1 :])
