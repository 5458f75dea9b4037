"""Retraining on Ray Tune: one trial per (architecture, learning rate), resumable, with retries.

The training itself is injected: a picklable ``train_one(config, work_dir, resume, report)`` (the
application's, e.g. :func:`evosnn.training.tune.train_one`; Tune pickles it by reference, so its module is
imported on the workers). It trains ``config["architecture"]`` at ``config["lr"]`` in
``work_dir``, continuing the checkpoint there when ``resume`` is true, and calls
``report(metrics, checkpoint_file)`` after every epoch. This module wraps it in a Tune trial:

* every report goes to Tune with a checkpoint holding that file, so **ASHA** can stop the
  learning rates that fall behind (after ``grace_epochs``, then at doubling epochs);
* **failure retries**: a trial whose process dies is restarted from its last reported checkpoint,
  up to ``max_failures`` times (Tune's ``FailureConfig``);
* **resume**: the experiment lives in ``folder/evosnn-train``; running the same request again
  after the driver was killed restores it (``Tuner.restore``) and continues every unfinished trial
  from its checkpoint. Another request (``folder/request.json``) for the same folder is refused.

The result is plain data per architecture: how many trials ran, and the best finished trial's
metrics, config and checkpoint files (copied to ``folder/best``).

Example:
    >>> experiment = TuneExperiment(["a.yaml"], [1e-3], {}, {}, Path("runs/t"), epochs=40)
    >>> results = run_tune(train_one, experiment, TuneSettings())  # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from evosnn.core.errors import EvosnnError

__all__ = [
    "EXPERIMENT",
    "BestTrial",
    "Report",
    "TrainOne",
    "TrialPolicy",
    "TuneExperiment",
    "TunedResult",
    "run_tune",
]

log = logging.getLogger(__name__)

#: The experiment's folder name under the run's ``tune`` folder.
EXPERIMENT = "evosnn-train"

#: Called by the training after every epoch: (that epoch's metrics, the checkpoint file).
Report = Callable[[dict[str, Any], Path], None]
#: The injected training: (trial config, work folder, resume from its checkpoint, report). The
#: config is a plain dict (Tune's parameter space): ``architecture``, ``lr`` and run_tune's
#: ``config``; the application types it (e.g. ``evosnn.training.tune.TuneTrial``).
TrainOne = Callable[[Any, Path, bool, Report], None]


@dataclass(frozen=True)
class BestTrial:
    """The best finished trial of one architecture: its last metrics, config and checkpoint."""

    metrics: dict[str, Any]
    config: dict[str, Any]
    files: tuple[Path, ...]


@dataclass(frozen=True)
class TunedResult:
    """One architecture's trials: how many ran, and the best finished one (None if none did)."""

    architecture: str
    trials: int
    best: BestTrial | None


def _trial(config: dict[str, Any], train_one: TrainOne) -> None:
    """One Tune trial: run ``train_one`` in the trial's work folder, reporting every epoch."""
    from ray import tune

    work = Path(tune.get_context().get_trial_dir()) / "work"
    restored = tune.get_checkpoint()
    if restored is None:  # a crashed first attempt may have left a checkpoint it never reported
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    if restored is not None:  # a retry or a restored experiment: continue from the last report
        with restored.as_directory() as folder:
            for file in Path(folder).iterdir():
                if file.is_file() and not file.name.startswith("."):
                    shutil.copyfile(file, work / file.name)

    def report(metrics: dict[str, Any], checkpoint_file: Path) -> None:
        with tempfile.TemporaryDirectory() as folder:
            shutil.copyfile(checkpoint_file, Path(folder) / Path(checkpoint_file).name)
            tune.report(metrics, checkpoint=tune.Checkpoint.from_directory(folder))

    train_one(config, work, restored is not None, report)


@dataclass(frozen=True)
class TuneExperiment:
    """What a Tune run trains: the grid, every trial's config, and where the run lives.

    Attributes:
        architectures: one grid axis, passed to trials as ``config["architecture"]``.
        lrs: the other grid axis, ``config["lr"]``.
        config: the rest of every trial's config.
        request: what this run is; a restored experiment must have been started by an equal one.
        folder: the run's folder (``request.json``, the experiment, ``best``).
        epochs: the longest a trial trains (ASHA's ``max_t``, reported as ``metrics["epoch"]``).
        metric: maximised to pick the best trial (and by ASHA).
        finished_key: a trial counts as finished when its last metrics hold this key.
    """

    architectures: list[str]
    lrs: list[float]
    config: dict[str, Any]
    request: dict[str, Any]
    folder: Path
    epochs: int
    metric: str = "val_accuracy"
    finished_key: str = "test_accuracy"


class TrialPolicy(Protocol):
    """How trials are stopped, retried and given resources (the application's settings, e.g.
    ``evosnn.training.tune.TuneSettings``, which holds their defaults)."""

    @property
    def asha(self) -> bool:
        """ASHA early stopping (after ``grace_epochs``, then at doubling epochs)."""

    @property
    def grace_epochs(self) -> int:
        """ASHA's first rung."""

    @property
    def max_failures(self) -> int:
        """Restarts of a trial whose process died."""

    @property
    def cpus_per_trial(self) -> float:
        """CPUs Ray reserves for each trial."""

    @property
    def gpus_per_trial(self) -> float:
        """GPUs Ray gives each trial."""


def run_tune(
    train_one: TrainOne,
    experiment: TuneExperiment,
    trials: TrialPolicy,
    *,
    ray_address: str | None = None,
) -> list[TunedResult]:
    """Run (or resume) the Tune ``experiment``; the best trial per architecture.

    Args:
        train_one: the picklable training of one trial (see the module docstring).
        experiment: the grid, the trials' config and the run's folder.
        trials: how trials are stopped (ASHA), retried and given CPUs and GPUs.
        ray_address: a Ray cluster to join; None starts a local instance.

    Raises:
        EvosnnError: ``experiment.folder`` holds an experiment of another request.
    """
    from ray import tune

    from workers.cluster import connect

    folder = experiment.folder.resolve()
    connect(ray_address, num_cpus=None)
    trainable = tune.with_resources(
        tune.with_parameters(_trial, train_one=train_one),
        {"cpu": trials.cpus_per_trial, "gpu": trials.gpus_per_trial},
    )
    stored = folder / EXPERIMENT
    if tune.Tuner.can_restore(str(stored)):
        _check_request(folder, experiment.request)
        log.info("resuming the Tune experiment in %s", stored)
        tuner = tune.Tuner.restore(str(stored), trainable, resume_errored=True)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "request.json").write_text(json.dumps(experiment.request, indent=2))
        param_space = {
            "architecture": tune.grid_search(list(experiment.architectures)),
            "lr": tune.grid_search(list(experiment.lrs)),
            **experiment.config,
        }
        asha = _asha(experiment.epochs, trials.grace_epochs) if trials.asha else None
        tuner = _new_tuner(
            trainable,
            param_space,
            folder,
            metric=experiment.metric,
            scheduler=asha,
            max_failures=trials.max_failures,
        )
    grid = tuner.fit()
    return _best_per_architecture(
        grid, experiment.architectures, folder, experiment.metric, experiment.finished_key
    )


def _check_request(folder: Path, request: dict[str, Any]) -> None:
    """Refuse to restore an experiment that another request started."""
    request_file = folder / "request.json"
    stored = json.loads(request_file.read_text()) if request_file.is_file() else None
    if stored != json.loads(json.dumps(request)):
        raise EvosnnError(
            f"{folder} holds a Tune run of other architectures or settings; "
            f"re-run the same command to resume it, or choose another --out"
        )


def _asha(epochs: int, grace_epochs: int) -> Any:
    from ray.tune.schedulers import ASHAScheduler

    return ASHAScheduler(
        time_attr="epoch",
        max_t=epochs,
        grace_period=min(grace_epochs, epochs),
        reduction_factor=2,
    )


def _new_tuner(
    trainable: Any,
    param_space: dict[str, Any],
    folder: Path,
    *,
    metric: str,
    scheduler: Any,
    max_failures: int,
) -> Any:
    """A fresh Tune experiment in ``folder/EXPERIMENT``, keeping each trial's last 2 reports."""
    from ray import tune

    return tune.Tuner(
        trainable,
        param_space=param_space,
        tune_config=tune.TuneConfig(metric=metric, mode="max", scheduler=scheduler),
        run_config=tune.RunConfig(
            name=EXPERIMENT,
            storage_path=str(folder),
            failure_config=tune.FailureConfig(max_failures=max_failures),
            checkpoint_config=tune.CheckpointConfig(num_to_keep=2),
            verbose=1,
        ),
    )


def _best_per_architecture(
    grid: Any, architectures: list[str], folder: Path, metric: str, finished_key: str
) -> list[TunedResult]:
    """Each architecture's trial count and best finished trial (its files copied to ``best``)."""
    by_architecture: dict[str, list[Any]] = {}
    for result in (grid[i] for i in range(len(grid))):
        if result.config is not None:
            by_architecture.setdefault(str(result.config["architecture"]), []).append(result)
    tuned = []
    for architecture in architectures:
        results = by_architecture.get(architecture, [])
        for r in results:
            if r.error is not None:
                log.warning("%s: a trial failed for good: %s", architecture, r.error)
        finished = [r for r in results if r.metrics and finished_key in r.metrics]
        top = max(finished, key=lambda r: float(r.metrics[metric]), default=None)
        best = None
        if top is not None and top.checkpoint is not None and top.config is not None:
            files = _keep(top.checkpoint, folder / "best")
            best = BestTrial(dict(top.metrics), dict(top.config), tuple(files))
        tuned.append(TunedResult(architecture, len(results), best))
    return tuned


def _keep(checkpoint: Any, kept: Path) -> list[Path]:
    """Copy a Tune checkpoint's files into ``kept``; the copies."""
    kept.mkdir(parents=True, exist_ok=True)
    files = []
    with checkpoint.as_directory() as checkpoint_dir:
        for file in sorted(Path(checkpoint_dir).iterdir()):
            if file.is_file() and not file.name.startswith("."):
                shutil.copyfile(file, kept / file.name)
                files.append(kept / file.name)
    return files
