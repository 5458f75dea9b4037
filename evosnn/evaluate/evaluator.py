"""Evaluator: subnet config in, Evaluation out, with weights inherited from a trained supernet.

The function the search calls thousands of times. It loads the checkpoint and the data once, then
for each config: checks the cheap constraints (parameter limits, no network run), recalibrates
BatchNorm on a fixed set of training batches, evaluates the validation split under
``torch.inference_mode()`` while recording each synaptic layer's input activity, and turns the
counts into energy and F_AEB. Nothing carries over between configs: A, B, A gives A's result twice.
What subnets share is computed once: the patch splitter's work per embedding width and T is kept
in a bounded cache (:mod:`evosnn.evaluate.stem_cache`; ``EvalSettings.stem_cache_mib``), which
changes no result, bit for bit.

Example:
    >>> ev = Evaluator("runs/demo/supernet.pt")  # doctest: +SKIP
    >>> ev.evaluate(SubnetConfig.largest(ev.space)).accuracy  # doctest: +SKIP
    0.98
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.constraints import param_violation
from evosnn.core.evaluation import EvalSettings, Evaluation, silent_paths
from evosnn.core.sizes import count_params
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.evaluate.models import checkpoint_space, load_supernet
from evosnn.evaluate.stem_cache import SharedStem
from evosnn.objectives.baseline import Baseline, baseline
from evosnn.objectives.energy import EnergyEstimate, EnergyModel
from evosnn.objectives.fitness import f_aeb
from supernet.batches import Split, Splits
from supernet.checkpoint import file_sha256
from supernet.model import SpikformerSupernet
from supernet.spike_stats import SpikeStats
from supernet.standalone import Spikformer, extract
from supernet.validate import count_correct, recalibrate_on_split

__all__ = ["EvalSettings", "Evaluator", "prepare_subnet"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Measurement:
    correct: int
    total: int
    finite: bool
    rates: dict[str, float]
    estimate: EnergyEstimate
    by_convention: dict[str, float]
    baseline: Baseline
    recal_s: float
    forward_s: float
    bookkeeping_s: float


class Evaluator:
    """Evaluates subnets of a trained supernet on the validation split.

    Args:
        checkpoint: path of ``supernet.pt`` (or its bytes).
        space: the search space (default: the one stored in the checkpoint); the checkpoint must
            have been trained for it.
        data_root: data folder for data sets read from disk.
        settings: evaluation settings.
        energy_model: energy per operation and counting convention (default: the space's
            ``energy`` section); every evaluation also reports every convention's figure and the
            equivalent-ANN baseline (:mod:`evosnn.objectives.baseline`).
        splits: already loaded data (skips loading; must come from the same data seed).
        energy_target_mj: the F_AEB target when already known (e.g. measured by the driver).
    """

    def __init__(
        self,
        checkpoint: str | Path | bytes,
        space: SearchSpace | None = None,
        *,
        data_root: str | Path | None = None,
        settings: EvalSettings | None = None,
        energy_model: EnergyModel | None = None,
        splits: Splits | None = None,
        energy_target_mj: float | None = None,
    ) -> None:
        settings = settings if settings is not None else EvalSettings()
        self.settings = settings
        self.device = torch.device(settings.device)
        net, data = load_supernet(checkpoint, space, map_location=self.device)
        self.supernet = net
        self.space = space if space is not None else checkpoint_space(data, checkpoint)
        self.checkpoint_sha256 = file_sha256(checkpoint)
        self.energy_model = (
            energy_model if energy_model is not None else EnergyModel.for_space(self.space)
        )
        splits = splits if splits is not None else load_splits(self.space.dataset, root=data_root)
        val = splits.val
        if settings.max_val_images is not None:
            val = Split(
                val.images[: settings.max_val_images], val.labels[: settings.max_val_images]
            )
        self.splits = replace(splits, val=val)
        self._energy_target = energy_target_mj or self.space.objectives.energy_target_mj
        #: The stem cache (None when ``settings.stem_cache_mib`` is 0).
        self.stem: SharedStem | None = None
        if settings.stem_cache_mib:
            self.stem = SharedStem(net, settings.stem_cache_mib * 2**20, self.device)

    # ------------------------------------------------------------------ energy target
    @property
    def energy_target_mj(self) -> float:
        """The F_AEB energy target: the space's, else the largest subnet's energy at default neurons.

        Measured once, on first use.
        """
        if self._energy_target is None:
            largest = SubnetConfig.largest(self.space)
            self._energy_target = self._measure(largest).estimate.energy_mj
            log.info(
                "energy target: largest subnet at default neurons, %.6f mJ", self._energy_target
            )
        return self._energy_target

    # ------------------------------------------------------------------ evaluation
    def evaluate(
        self, config: SubnetConfig, *, split: Literal["val", "test"] = "val"
    ) -> Evaluation:
        """Evaluate ``config`` (must be inside the space: ConfigError otherwise).

        ``split="test"`` scores it on the held-out test split, which the search never sees (the
        front is re-scored there when a search ends); energy is measured on the same images.
        """
        started = time.perf_counter()
        config.check_in(self.space)
        params = count_params(config, self.space.geometry)
        violation, why = param_violation(config, self.space)
        if violation > 0:
            return Evaluation(
                status="infeasible",
                params=params,
                error=why,
                wall_time_s=time.perf_counter() - started,
            )
        target = self.energy_target_mj
        m = self._measure(config, split)
        book_start = time.perf_counter()
        if not m.finite:
            return Evaluation(
                status="failed",
                params=params,
                correct=m.correct,
                total=m.total,
                error="the network produced NaN or infinite logits",
                wall_time_s=time.perf_counter() - started,
            )
        accuracy = m.correct / m.total
        obj = self.space.objectives
        fitness = f_aeb(accuracy, m.estimate.energy_mj, target, alpha=obj.alpha, beta=obj.beta)
        bookkeeping = m.bookkeeping_s + time.perf_counter() - book_start
        return Evaluation(
            status="ok",
            accuracy=accuracy,
            energy_mj=m.estimate.energy_mj,
            energy_convention=self.energy_model.convention,
            energy_mj_spikformer=m.by_convention["spikformer"],
            energy_mj_strict=m.by_convention["strict"],
            energy_mj_memory=m.by_convention["memory"],
            energy_mj_qnn=m.baseline.qnn_mj,
            energy_mj_fp32=m.baseline.fp32_mj,
            break_even_rate=m.baseline.break_even_rate,
            f_aeb=fitness,
            sops=m.estimate.sops,
            macs=m.estimate.macs,
            params=params,
            correct=m.correct,
            total=m.total,
            firing_rates=m.rates,
            silent_paths=silent_paths(m.rates),
            wall_time_s=time.perf_counter() - started,
            recal_s=m.recal_s,
            forward_s=m.forward_s,
            bookkeeping_s=bookkeeping,
        )

    def _prepare(self, config: SubnetConfig) -> None:
        """Recalibrate BN for ``config`` (if enabled) on the fixed batches; leave eval mode."""
        if self.stem is not None:
            self.stem.prepare(config, self.splits, self.settings)
        else:
            prepare_subnet(self.supernet, config, self.splits, self.settings, device=self.device)

    def standalone(self, config: SubnetConfig) -> Spikformer:
        """The stand-alone network of ``config`` exactly as :meth:`evaluate` evaluates it."""
        config.check_in(self.space)
        self._prepare(config)
        return extract(self.supernet, config)

    def _measure(self, config: SubnetConfig, split: str = "val") -> _Measurement:
        net, s, splits = self.supernet, self.settings, self.splits
        stats = SpikeStats()
        t0 = time.perf_counter()
        self._prepare(config)
        t1 = time.perf_counter()
        split_data = splits.test if split == "test" else splits.val
        if self.stem is not None:
            correct, total, finite = self.stem.count_correct(config, split_data, splits, s, stats)
            log.debug("%s", self.stem.cache.summary())
        else:
            correct, total, finite = count_correct(
                lambda x: net(x, config, stats),
                split_data,
                splits.mean,
                splits.std,
                batch_size=s.batch_size,
                device=self.device,
            )
        t2 = time.perf_counter()
        rates = stats.rates()
        geometry = self.space.geometry
        estimate = self.energy_model.estimate(config, geometry, rates=rates)
        by_convention = self.energy_model.estimate_all(config, geometry, rates=rates)
        ann = baseline(self.energy_model, config, geometry)
        t3 = time.perf_counter()
        return _Measurement(
            correct=correct,
            total=total,
            finite=finite,
            rates=rates,
            estimate=estimate,
            by_convention=by_convention,
            baseline=ann,
            recal_s=t1 - t0,
            forward_s=t2 - t1,
            bookkeeping_s=t3 - t2,
        )


def prepare_subnet(
    net: SpikformerSupernet,
    config: SubnetConfig,
    splits: Splits,
    settings: EvalSettings,
    *,
    device: torch.device | str,
) -> None:
    """Configure the supernet for ``config`` as every evaluation does: recalibrate BN (if
    ``settings.recal_batches``) on the fixed training batches ``settings.seed`` picks, then eval
    mode."""
    if settings.recal_batches:
        recalibrate_on_split(
            net,
            lambda x: net(x, config),
            splits.train,
            (splits.mean, splits.std),
            batches=settings.recal_batches,
            batch_size=settings.recal_batch_size,
            seed=settings.seed,
            device=device,
        )
    net.eval()
