"""Does the supernet rank subnets the way stand-alone training does? ``evosnn supernet rank-check``.

1. **Subnets stratified over energy**: ``pool x subnets`` random subnets are evaluated as the
   search evaluates them (inherited weights, BN recalibrated, validation split); sorted by
   energy, they are cut into ``subnets`` equal strata and one subnet is drawn from each.
2. **Stand-alone reference**: every chosen subnet is trained from scratch for ``epochs`` epochs
   with ``seeds`` seeds (the shared training core, :func:`evosnn.training.retrain.retrain_exported`), on Ray workers
   or in this process. Each finished job is written to ``results.json`` at once, and every job's
   training checkpoints every epoch, so an interrupted check continues where it stopped. A job
   whose loss diverges is recorded as failed; its subnet is left out of the statistics (counted).
3. **Statistics** (:mod:`evosnn.proxy.agreement`) against the seed-mean stand-alone validation accuracy:
   Kendall tau and Spearman rho of the proxy and of energy alone; the proxy's partial correlation
   with energy removed next to the reference's own ceiling (the same statistic between seeds);
   the top-k overlap; the bias (inherited minus stand-alone) per energy bin, split into the
   offset common to all subnets (it changes no comparison between them) and each bin's tilt
   from it (what skews the search's trade-off); and the plateau
   (how much the stand-alone accuracy still rose over the last quarter of the epochs). A scatter
   plot goes beside ``rank_check.json``.

**Comparing supernets** (``--reference DIR``): the stand-alone runs are the expensive part and do
not depend on the supernet, so another supernet of the same space (more epochs, another sampling
rule, another seed) or other evaluation settings (BN recalibration) can be held to a finished
check's subnets and runs: only step 1's evaluation is redone, on the reference's subnets.

Example:
    >>> result = rank_check(Path("runs/demo/supernet.pt"), Path("runs/demo/rank-check"),
    ...                     RankCheckSettings(subnets=24, epochs=40, seeds=3))  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import random
import statistics
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from tqdm import tqdm

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import EvosnnError, SettingError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.rank_summary import FailedSubnet, RankCheckSummary, SummaryPoint
from evosnn.core.space import SearchSpace
from evosnn.core.validation import (
    COUNT,
    DEFAULT_DEVICE,
    DEFAULT_SEED,
    LEARNING_RATE,
    SEED,
    WORKERS,
    Device,
    Whole,
    check_fields,
    setting,
)
from evosnn.proxy.agreement import (
    MIN_SUBNETS,
    agreement,
    bias_tilt,
    bias_trend,
    energy_bias,
    seed_ceiling,
)
from evosnn.proxy.records import ChosenSubnet, StandaloneJob, StandaloneRun

__all__ = ["RESULT_FILE", "RankCheckSettings", "StandaloneResources", "rank_check", "retrain_job"]

log = logging.getLogger(__name__)

#: The summary written beside the runs (and stored in the study when one is given).
RESULT_FILE = "rank_check.json"
#: Mean stand-alone gain over the last quarter of the epochs above which the runs are reported as
#: not converged. A decaying learning rate flattens every curve near its end, so staying under it
#: is necessary, not sufficient: ``benchmarks/bench_proxy.py converge`` trains longer to be sure.
PLATEAU_TOLERANCE = 0.01


@dataclass(frozen=True)
class RankCheckSettings:
    """How many subnets, how long each is trained stand-alone, and with how many seeds."""

    #: Subnets trained stand-alone (a correlation needs at least ``MIN_SUBNETS``).
    subnets: int = setting(
        24, Whole(MIN_SUBNETS, why=f"a correlation needs at least {MIN_SUBNETS} subnets")
    )
    #: Stand-alone epochs per subnet.
    epochs: int = setting(40, COUNT)
    #: Stand-alone seeds (the reference's ceiling needs at least 2).
    seeds: int = setting(3, Whole(2, 100, why="the reference's ceiling needs at least 2 seeds"))
    #: Candidates evaluated per chosen subnet before stratifying over energy.
    pool: int = setting(4, COUNT)
    #: Seed of the candidate draw and of the choice within each stratum.
    seed: int = setting(DEFAULT_SEED, SEED)
    batch_size: int = setting(64, COUNT)
    lr: float = setting(3e-3, LEARNING_RATE)
    #: Energy bins of the per-bin bias.
    bins: int = setting(4, COUNT)
    eval: EvalSettings = field(default_factory=EvalSettings)

    def __post_init__(self) -> None:
        check_fields(self)
        if self.bins > self.subnets:
            raise SettingError(f"bins={self.bins}: at most subnets ({self.subnets})")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _measure(
    space: SearchSpace,
    supernet: Path,
    configs: list[SubnetConfig],
    settings: RankCheckSettings,
    data_root: str | Path | None,
    progress: bool,
) -> list[tuple[float, float, SubnetConfig]]:
    """(energy, inherited accuracy, config) of every config the search's evaluation could score."""
    from evosnn.evaluate.evaluator import Evaluator

    evaluator = Evaluator(supernet, space, data_root=data_root, settings=settings.eval)
    measured = []
    for config in tqdm(configs, desc="proxy", unit="subnet", disable=not progress or None):
        evaluation = evaluator.evaluate(config)
        if evaluation.ok and evaluation.accuracy is not None and evaluation.energy_mj is not None:
            measured.append((evaluation.energy_mj, evaluation.accuracy, config))
    return measured


def _entry(measured: tuple[float, float, SubnetConfig]) -> ChosenSubnet:
    energy, accuracy, config = measured
    return ChosenSubnet(config.to_dict(), accuracy, energy)


def _choose(
    space: SearchSpace,
    supernet: Path,
    settings: RankCheckSettings,
    data_root: str | Path | None,
    progress: bool,
) -> list[ChosenSubnet]:
    """One subnet per equal-count energy stratum of ``pool x subnets`` evaluated random ones."""
    codec = GenomeCodec(space)
    rng = random.Random(settings.seed)
    pool: dict[tuple[Any, ...], SubnetConfig] = {}
    for _ in range(50 * settings.pool * settings.subnets):
        if len(pool) == settings.pool * settings.subnets:
            break
        config = codec.sample_config(rng)
        pool.setdefault(tuple(codec.canonical(codec.encode(config))), config)
    if len(pool) < settings.subnets:
        raise EvosnnError(f"the space holds fewer than {settings.subnets} distinct subnets")
    measured = _measure(space, supernet, list(pool.values()), settings, data_root, progress)
    if len(measured) < settings.subnets:
        raise EvosnnError(
            f"only {len(measured)} of {len(pool)} candidate subnets could be evaluated"
        )
    measured.sort(key=lambda m: m[0])
    size = len(measured) / settings.subnets
    return [
        _entry(stratum[rng.randrange(len(stratum))])
        for stratum in (
            measured[round(i * size) : round((i + 1) * size)] for i in range(settings.subnets)
        )
    ]


@dataclass(frozen=True)
class _Reference:
    """A finished check whose subnets and stand-alone runs another supernet's proxy is held to."""

    folder: Path
    settings: RankCheckSettings
    configs: list[SubnetConfig]
    results: dict[str, StandaloneRun]
    results_sha256: str

    @classmethod
    def read(cls, folder: Path, space: SearchSpace, eval_settings: EvalSettings) -> _Reference:
        from supernet.checkpoint import file_sha256

        folder = Path(folder).resolve()
        files = {name: folder / name for name in ("request.json", "subnets.json", "results.json")}
        summary_file = folder / RESULT_FILE
        if not all(f.is_file() for f in files.values()) or not summary_file.is_file():
            raise EvosnnError(
                f"--reference {folder}: not a finished rank-check folder (it needs "
                f"{', '.join(files)} and {RESULT_FILE})"
            )
        try:
            stored_space = json.loads(summary_file.read_text()).get("space", {})
        except (ValueError, AttributeError) as exc:
            raise EvosnnError(f"--reference {folder}: unreadable {RESULT_FILE} ({exc})") from exc
        if stored_space != space.to_dict():
            raise EvosnnError(
                f"--reference {folder} checked a supernet of space "
                f"{stored_space.get('name')!r}, this one is of {space.name!r}"
            )
        try:
            request = json.loads(files["request.json"].read_text())
            chosen = _read_chosen(files["subnets.json"])
            results = _read_results(files["results.json"])
            stored = dict(request["settings"])
            stored.pop("eval", None)
            settings = RankCheckSettings(**stored, eval=eval_settings)
            configs = [SubnetConfig.from_dict(entry.config) for entry in chosen]
        except (ValueError, KeyError, TypeError) as exc:
            raise EvosnnError(f"--reference {folder}: unreadable rank-check files ({exc})") from exc
        sha = file_sha256(files["results.json"])
        return cls(folder, settings, configs, results, sha)


def _read_chosen(path: Path) -> list[ChosenSubnet]:
    return [ChosenSubnet.from_dict(c) for c in json.loads(path.read_text())["subnets"]]


def _read_results(path: Path) -> dict[str, StandaloneRun]:
    if not path.is_file():
        return {}
    return {k: StandaloneRun.from_dict(v) for k, v in json.loads(path.read_text()).items()}


def _write_json(path: Path, data: Any) -> None:
    """Write ``path`` whole or not at all (a finished run is never lost, even if we die next)."""
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def retrain_job(job: StandaloneJob) -> StandaloneRun:
    """Train one chosen subnet stand-alone with one seed (runs on a Ray worker or here).

    Continues the job's checkpoint when there is one (a retried or resumed job).
    """
    import torch

    from evosnn.reporting.export import Exported
    from evosnn.training.retrain import retrain_exported
    from supernet.fit import TrainingDiverged
    from supernet.recipe import TrainSettings

    torch.set_num_threads(max(1, job.threads))
    folder = Path(job.folder)
    exported = Exported(
        path=folder / f"{job.name}.yaml",
        config=SubnetConfig.from_dict(job.config),
        space=SearchSpace.from_dict(job.space),
        metrics={},
        provenance={},
    )
    settings = TrainSettings(
        epochs=job.epochs, batch_size=job.batch_size, lr=job.lr, seed=job.seed, device=job.device
    )
    history: list[float] = []
    try:
        result = retrain_exported(
            exported,
            folder,
            settings,
            data_root=job.data_root,
            resume=(folder / f"{job.name}.retrained.pt").is_file(),
            progress=False,
            on_epoch=lambda metrics, path: history.append(float(metrics["val_acc"])),
        )
    except TrainingDiverged as exc:
        return StandaloneRun("diverged", error=str(exc))
    return StandaloneRun("ok", result.val_accuracy, result.test_accuracy, result.energy_mj, history)


@dataclass(frozen=True)
class StandaloneResources:
    """Where the stand-alone runs of a check train.

    Attributes:
        workers: Ray worker processes (0: one run after the other, in this process).
        threads: torch threads per run.
        ray_address: a Ray cluster to join (None: a private local instance).
        device: the device of runs in this process (Ray workers train on CPU).
    """

    workers: int = setting(0, WORKERS)
    threads: int = setting(1, COUNT)
    ray_address: str | None = None
    device: str = setting(DEFAULT_DEVICE, Device())

    def __post_init__(self) -> None:
        check_fields(self)
        if self.workers and self.device != DEFAULT_DEVICE:
            raise SettingError(
                f"device={self.device!r} is for runs in this process (--workers 0); "
                "rank-check's Ray workers train on CPU"
            )


def rank_check(
    supernet: Path,
    out_dir: Path,
    settings: RankCheckSettings,
    *,
    space: SearchSpace | None = None,
    data_root: str | Path | None = None,
    resources: StandaloneResources | None = None,
    progress: bool = True,
    reference: Path | None = None,
) -> RankCheckSummary:
    """Run (or continue) the check in ``out_dir``; return the summary (also in ``rank_check.json``).

    With ``reference`` (a finished check's folder, same space) nothing is trained: its subnets
    are evaluated on this supernet and held to its stand-alone runs, so remedies to the supernet
    (epochs, sampling, distillation, evaluation settings) are compared on one reference for the
    cost of training the supernet. The stand-alone settings (subnets, epochs, seeds, batch size,
    learning rate) are then the reference's; ``settings.eval`` is this check's. ``resources``
    say where the stand-alone runs train (default: in this process, one thread, on CPU; the
    evaluations run on ``settings.eval.device``).

    Raises:
        EvosnnError: bad settings, a supernet of another space (``CheckpointError``), ``out_dir``
            holding a check of other settings, a reference that is not a finished check of this
            space, or fewer than ``MIN_SUBNETS`` subnets whose every seed trained.
    """
    from evosnn.data.loading import check_data_root

    where = resources if resources is not None else StandaloneResources()
    out_dir = Path(out_dir).resolve()
    space = _supernet_space(supernet, space)
    check_data_root(space.dataset, data_root, space=space.name)  # before out_dir is claimed
    ref = None if reference is None else _Reference.read(reference, space, settings.eval)
    if ref is not None:
        settings = ref.settings
    _claim(out_dir, supernet, settings, ref)
    chosen = _chosen(out_dir, space, supernet, settings, ref, data_root, progress)
    results_file = out_dir / "results.json"
    results = _read_results(results_file)
    if ref is not None and not results:
        results = dict(ref.results)
        _write_json(results_file, {k: r.to_dict() for k, r in results.items()})
    jobs = [
        StandaloneJob(
            subnet=i,
            seed=seed,
            config=subnet.config,
            space=space.to_dict(),
            folder=str(out_dir / "runs"),
            epochs=settings.epochs,
            batch_size=settings.batch_size,
            lr=settings.lr,
            threads=where.threads,
            data_root=None if data_root is None else str(data_root),
            device=where.device,
        )
        for i, subnet in enumerate(chosen)
        for seed in range(settings.seeds)
        if f"{i}-{seed}" not in results
    ]
    total = len(chosen) * settings.seeds
    runner = _Runner(results, results_file, total, progress)
    runner.run(jobs, where.workers, where.threads, where.ray_address)
    summary = _summarise(space, chosen, results, settings)
    if ref is not None:
        summary = replace(summary, reference=str(ref.folder))
    if summary.plateau_gain_last_quarter > PLATEAU_TOLERANCE:
        log.warning(
            "the stand-alone runs have not converged: their validation accuracy still rose "
            "%.1f points over the last quarter of %d epochs, so the check partly ranks how fast "
            "subnets train; train longer (--epochs)",
            100 * summary.plateau_gain_last_quarter,
            settings.epochs,
        )
    (out_dir / RESULT_FILE).write_text(json.dumps(summary.to_dict(), indent=1))
    _scatter(summary, out_dir / "rank_check.png")
    return summary


def _supernet_space(supernet: Path, space: SearchSpace | None) -> SearchSpace:
    """The space stored in the supernet checkpoint, checked against the one given (if any)."""
    from evosnn.evaluate.models import checkpoint_space
    from supernet.checkpoint import load_checkpoint

    stored_space = checkpoint_space(load_checkpoint(supernet), supernet)
    if space is not None and space.to_dict() != stored_space.to_dict():
        raise EvosnnError(
            f"{supernet} was trained for a different space than the one given "
            f"({space.name!r}); give its own space, or none (it is stored in the checkpoint)"
        )
    return stored_space


def _claim(
    out_dir: Path, supernet: Path, settings: RankCheckSettings, ref: _Reference | None
) -> None:
    """Write ``out_dir/request.json``; refuse a folder holding a check of something else."""
    from supernet.checkpoint import file_sha256

    request: dict[str, Any] = {
        "supernet": str(Path(supernet).resolve()),
        "supernet_sha256": file_sha256(supernet),  # a retrained file is another supernet
        "settings": settings.to_dict(),
    }
    if ref is not None:
        request["reference"] = {"folder": str(ref.folder), "results_sha256": ref.results_sha256}
    request_file = out_dir / "request.json"
    if request_file.is_file() and json.loads(request_file.read_text()) != request:
        raise EvosnnError(
            f"{out_dir} holds a rank-check of another supernet or other settings; "
            f"choose another --out"
        )
    out_dir.mkdir(parents=True, exist_ok=True)
    request_file.write_text(json.dumps(request, indent=1))


def _chosen(
    out_dir: Path,
    space: SearchSpace,
    supernet: Path,
    settings: RankCheckSettings,
    ref: _Reference | None,
    data_root: str | Path | None,
    progress: bool,
) -> list[ChosenSubnet]:
    """The subnets to check: as chosen before (``subnets.json``), the reference's, or new."""
    chosen_file = out_dir / "subnets.json"
    if chosen_file.is_file():
        return _read_chosen(chosen_file)
    if ref is not None:
        measured = _measure(space, supernet, ref.configs, settings, data_root, progress)
        if len(measured) < len(ref.configs):
            raise EvosnnError(
                f"this supernet could evaluate only {len(measured)} of the reference's "
                f"{len(ref.configs)} subnets"
            )
        chosen = [_entry(m) for m in measured]
    else:
        chosen = _choose(space, supernet, settings, data_root, progress)
    chosen_file.write_text(json.dumps({"subnets": [c.to_dict() for c in chosen]}, indent=1))
    return chosen


@dataclass
class _Runner:
    """Runs the stand-alone jobs and records each finished one in ``results.json`` at once."""

    results: dict[str, StandaloneRun]
    results_file: Path
    total: int
    progress: bool

    def run(
        self, jobs: list[StandaloneJob], workers: int, threads: int, ray_address: str | None
    ) -> None:
        """On ``workers`` Ray workers, or here (also when nothing is left to train: no Ray)."""
        bar = tqdm(
            total=self.total,
            initial=self.total - len(jobs),
            desc="stand-alone",
            unit="run",
            disable=not self.progress or None,
        )
        try:
            if workers > 0 and jobs:
                from workers.tasks import run_tasks

                for index, outcome in run_tasks(
                    retrain_job,
                    jobs,
                    workers=workers,
                    cpus_per_task=threads,
                    ray_address=ray_address,
                ):
                    self.record(jobs[index], outcome)
                    bar.update(1)
            else:
                for job in jobs:
                    try:
                        result: StandaloneRun | BaseException = retrain_job(job)
                    except EvosnnError as exc:
                        result = exc
                    self.record(job, result)
                    bar.update(1)
        finally:
            bar.close()

    def record(self, job: StandaloneJob, outcome: StandaloneRun | BaseException) -> None:
        if isinstance(outcome, BaseException):
            outcome = StandaloneRun("failed", error=f"{type(outcome).__name__}: {outcome}")
        self.results[job.key] = outcome
        _write_json(self.results_file, {k: r.to_dict() for k, r in self.results.items()})
        shown = (
            f"val {100 * outcome.val_acc:.2f} %"
            if outcome.ok and outcome.val_acc is not None
            else f"failed: {outcome.error}"
        )
        log.info(
            "stand-alone run %d/%d (subnet %d, seed %d): %s",
            len(self.results),
            self.total,
            job.subnet,
            job.seed,
            shown,
        )


def _summarise(
    space: SearchSpace,
    chosen: list[ChosenSubnet],
    results: dict[str, StandaloneRun],
    settings: RankCheckSettings,
) -> RankCheckSummary:
    """The statistics over the subnets whose every seed trained."""
    kept, failed = _kept(chosen, results, settings)
    energy = [s.energy_mj for s, _ in kept]
    inherited = [s.inherited for s, _ in kept]
    per_seed = [[_val(runs[k]) for _, runs in kept] for k in range(settings.seeds)]
    reference = [statistics.fmean(_val(r) for r in runs) for _, runs in kept]
    top_k = max(1, len(kept) // 4)
    ceiling, ceiling_sd = seed_ceiling(per_seed, energy)
    proxy = agreement(inherited, reference, energy, top_k=top_k)
    bins = energy_bias(inherited, reference, energy, bins=settings.bins)
    offset, tilt = bias_tilt(bins)
    return RankCheckSummary(
        settings=settings.to_dict(),
        space=space.to_dict(),
        subnets=len(kept),
        failed=failed,
        proxy=proxy,
        energy_only=agreement(energy, reference, None, top_k=top_k),
        ceiling_partial_rho=ceiling,
        ceiling_partial_rho_sd=ceiling_sd,
        partial_share_of_ceiling=(
            proxy.partial_rho / ceiling if proxy.partial_rho is not None and ceiling > 0 else None
        ),
        bias_by_energy=bins,
        bias_offset=offset,
        bias_tilt=tilt,
        bias_trend=bias_trend(inherited, reference, energy, bins=settings.bins),
        plateau_gain_last_quarter=_plateau([r for _, runs in kept for r in runs]),
        points=[
            SummaryPoint(e, a, r) for e, a, r in zip(energy, inherited, reference, strict=True)
        ],
    )


def _val(run: StandaloneRun) -> float:
    assert run.val_acc is not None  # a run that trained has its accuracy
    return run.val_acc


def _kept(
    chosen: list[ChosenSubnet], results: dict[str, StandaloneRun], settings: RankCheckSettings
) -> tuple[list[tuple[ChosenSubnet, list[StandaloneRun]]], list[FailedSubnet]]:
    """The subnets whose every seed trained (with their runs), and the others.

    Raises:
        EvosnnError: too few kept subnets, or a seed whose runs all reached one accuracy.
    """
    kept, failed = [], []
    missing = StandaloneRun("failed")
    for i, subnet in enumerate(chosen):
        runs = [results.get(f"{i}-{s}", missing) for s in range(settings.seeds)]
        if all(r.ok for r in runs):
            kept.append((subnet, runs))
        else:
            failed.append(FailedSubnet(i, [r.error for r in runs if r.error]))
    if len(kept) < MIN_SUBNETS:
        raise EvosnnError(
            f"only {len(kept)} of {len(chosen)} subnets trained on every seed (at least "
            f"{MIN_SUBNETS} needed for a correlation); see the errors in results.json"
        )
    for k in range(settings.seeds):
        accuracies = {runs[k].val_acc for _, runs in kept}
        if len(accuracies) == 1:
            raise EvosnnError(
                f"every stand-alone run of seed {k} reached the same validation accuracy "
                f"({100 * _val(kept[0][1][k]):.2f}%), so they rank nothing: train longer (--epochs)"
            )
    return kept, failed


def _plateau(runs: list[StandaloneRun]) -> float:
    """Mean gain of the validation accuracy over the last quarter of the epochs (NaN: none)."""
    gains = []
    for run in runs:
        history = run.val_history
        quarter = max(1, len(history) // 4)
        if len(history) >= 2 * quarter:
            gains.append(
                statistics.fmean(history[-quarter:])
                - statistics.fmean(history[-2 * quarter : -quarter])
            )
    return statistics.fmean(gains) if gains else math.nan


def _scatter(summary: RankCheckSummary, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = summary.points
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    shown = ax.scatter(
        [100 * p.standalone for p in points],
        [100 * p.inherited for p in points],
        c=[math.log10(p.energy_mj) for p in points],
        cmap="viridis",
    )
    low = min(min(p.standalone, p.inherited) for p in points) * 100
    high = max(max(p.standalone, p.inherited) for p in points) * 100
    ax.plot([low, high], [low, high], color="grey", linewidth=0.8)
    ax.set_xlabel("stand-alone val. accuracy, seed mean (%)")
    ax.set_ylabel("inherited val. accuracy (%)")
    proxy = summary.proxy
    ax.set_title(
        f"tau {proxy.kendall_tau:.2f} (energy alone "
        f"{summary.energy_only.kendall_tau:.2f}), partial rho {proxy.partial_rho:.2f}",
        fontsize=9,
    )
    fig.colorbar(shown, label="log10 energy (mJ)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
