"""Supernet training for a search space: the application's side of :mod:`supernet.train`.

``supernet.train`` takes plain values and callables; this module derives them from a
:class:`SearchSpace`: the supernet builder, the subnet sampler (``uniform``, ``sandwich``,
``smallest`` or ``distill``), the probes validated after each epoch (largest and smallest
subnets), the data set's augmentation, and the metadata stored in the checkpoint (the space
itself). It also checks that a resumed checkpoint was trained for the same space.

:func:`train_supernet_parallel` runs the same training data-parallel on Ray Train workers
(:mod:`workers.train`); each worker runs :func:`supernet_rank`. ``settings.batch_size`` is the
global batch in both, so N workers train the weights one process would (BatchNorm normalises over
each worker's part; see :mod:`supernet.parallel`), and checkpoints move freely between worker
counts.

Example:
    >>> result = train_supernet_for(space, splits, Path("runs/demo"), TrainSettings(epochs=2))  # doctest: +SKIP
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path
from typing import Any

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import CheckpointError, EvosnnError
from evosnn.core.genome import GenomeCodec
from evosnn.core.resources import RayResources
from evosnn.core.run_lock import run_lock
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.evaluate.models import build_supernet, checkpoint_space
from supernet.batches import Splits
from supernet.checkpoint import SupernetCheckpoint, load_checkpoint
from supernet.fit import FitOptions, TrainingInterrupted, steps_per_epoch
from supernet.parallel import DataParallel
from supernet.recipe import Resume, TrainSettings, open_run, resumed_settings
from supernet.train import CHECKPOINT_NAME, Sampler, SupernetPlan, fit_supernet
from workers.train import Rank, run_data_parallel

__all__ = [
    "SupernetJob",
    "augmentation_for",
    "open_supernet_run",
    "probes_for",
    "sampler_for",
    "supernet_rank",
    "train_supernet_for",
    "train_supernet_parallel",
]


def augmentation_for(space: SearchSpace) -> tuple[int, bool]:
    """(shift in pixels, horizontal flip) that fits the data set.

    Event frame banks are shifted and flipped as a whole clip (:func:`supernet.batches.augment`);
    see docs/tutorials/event-data.md for the event recipes.
    """
    name, size = space.dataset.name, space.dataset.image_size
    if name in ("cifar10", "cifar100"):
        return size // 8, True  # the usual pad-4 random crop at 32x32, and flips
    if name in ("digits", "digit-pairs"):
        return max(1, size // 8), False  # small shifts; a mirrored digit is another symbol
    if name == "imagefolder":
        return max(1, size // 8), True
    if name == "cifar10-dvs":
        return max(1, size // 8), True  # Spikformer's CIFAR10-DVS recipe: flips, small shifts
    if name in ("dvs128-gesture", "nmnist", "digits-events"):
        # a mirrored gesture is another class (left hand <-> right hand), a mirrored digit too
        return max(1, size // 8), False
    return 0, False


def probes_for(space: SearchSpace) -> dict[str, SubnetConfig]:
    """The subnets validated after every epoch: largest and smallest, at default neurons."""
    return {"largest": SubnetConfig.largest(space), "smallest": SubnetConfig.smallest(space)}


def sampler_for(space: SearchSpace, sampling: str) -> Sampler:
    """The configs trained at each step.

    ``uniform``: one random subnet (DSPS). ``sandwich``: the largest and the smallest architectures
    with random neuron genes, then one random subnet. ``smallest``: the bottom half of the
    sandwich, the smallest architecture with random neuron genes and one random subnet (the
    small subnets' share of the updates grows without the largest one's cost). ``distill``: the
    sandwich whose largest subnet has the default neuron settings, as the teacher of the other two
    (the trainer distils from the first config). Every draw comes from the step's ``rng``.

    The token mixer and the neuron model (with its level) are categorical genes with no largest
    or smallest choice: the extremes draw them at random per block, as they draw the other neuron
    genes (nothing is drawn where a space offers one choice, so such spaces train as before).
    """
    codec = GenomeCodec(space)
    if sampling == "uniform":
        return lambda rng, step: [codec.sample_config(rng)]
    teacher = SubnetConfig.largest(space)
    smallest = SubnetConfig.smallest(space)
    extremes = (smallest,) if sampling == "smallest" else (teacher, smallest)
    ch = space.choices

    def sandwich(rng: random.Random, step: int) -> list[SubnetConfig]:
        out = []
        for extreme in extremes:
            d = extreme.depth  # fixed architecture, random neuron genes (DSPS)
            out.append(
                SubnetConfig(
                    depth=d,
                    embed_dim=extreme.embed_dim,
                    mlp_ratio=extreme.mlp_ratio,
                    num_heads=extreme.num_heads,
                    threshold=tuple(rng.choice(ch.threshold) for _ in range(d)),
                    tau=tuple(rng.choice(ch.tau) for _ in range(d)),
                    time_steps=rng.choice(ch.time_steps),
                    mixer=_draw(rng, ch.mixer, extreme.mixer),
                    neuron=_draw(rng, ch.neuron, extreme.neuron),
                    level=_draw(rng, ch.level, extreme.level),
                )
            )
        out.append(codec.sample_config(rng))
        if sampling == "distill":
            out[0] = teacher  # drawn all the same, so the other draws match the sandwich's
        return out

    return sandwich


def _draw(rng: random.Random, offered: list[Any], fixed: tuple[Any, ...]) -> tuple[Any, ...]:
    """A random choice per block where the space offers several, else ``fixed`` (no draw)."""
    return tuple(rng.choice(offered) for _ in fixed) if len(offered) > 1 else fixed


@dataclass(frozen=True)
class SupernetJob:
    """What every Ray Train worker of :func:`train_supernet_parallel` is given (picklable).

    Attributes:
        space: the search space, as :meth:`SearchSpace.to_dict` writes it.
        settings: the training settings, as :meth:`TrainSettings.to_dict` writes them.
        data_root: the data folder (must exist on every node), or None for the space's.
        path: the checkpoint file rank 0 writes (and every rank resumes from).
    """

    space: dict[str, Any]
    settings: dict[str, Any]
    data_root: str | None
    path: str


def train_supernet_for(
    space: SearchSpace,
    splits: Splits,
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    resume: Resume | bool | None = None,
    progress: bool = True,
    on_step: Callable[[int, float], None] | None = None,
    micro_batches: int = 1,
) -> dict[str, Any]:
    """Train the supernet of ``space`` and write ``out_dir/supernet.pt``; return the final checkpoint.

    With ``resume``, continue from ``out_dir/supernet.pt`` with its stored settings (``settings`` is
    ignored except for ``device``; a setting in ``resume.given`` (a :class:`~supernet.recipe.Resume`), the ones the user asked for, that
    differs from the stored one is refused). Without it, an existing checkpoint is never
    overwritten. ``on_step(step, loss)`` is called after every optimizer step. ``micro_batches``
    splits each batch into that many forward/backward passes whose gradients are averaged
    (BatchNorm then normalises over each part, as it does on separate workers:
    ``micro_batches=N`` trains the weights :func:`train_supernet_parallel` trains with N workers).
    ``out_dir`` is held (:func:`~evosnn.core.run_lock.run_lock`) while it trains.

    Raises:
        TrainingDiverged: NaN/inf loss (the last good checkpoint is left untouched).
        TrainingInterrupted: Ctrl-C (a resumable checkpoint was written first).
        CheckpointError: resume from a missing checkpoint, or one trained for another space, or
            with other settings than ``resume.given``; an existing checkpoint without ``resume``.
        FolderInUse: another process holds ``out_dir``.
    """
    path = Path(out_dir) / CHECKPOINT_NAME
    with run_lock(out_dir):
        state, settings = open_supernet_run(space, out_dir, settings, resume=resume)
        options = FitOptions(progress=progress, parallel=DataParallel(micro_batches=micro_batches))
        return _train(space, splits, path, settings, state, options, on_step=on_step)


def open_supernet_run(
    space: SearchSpace,
    out_dir: str | Path,
    settings: TrainSettings,
    *,
    resume: Resume | bool | None,
) -> tuple[Mapping[str, Any] | None, TrainSettings]:
    """The checkpoint ``out_dir/supernet.pt`` to continue (None: a fresh run) and the settings
    to train with; a caller may call it first, to refuse a bad resume before loading any data.

    Raises:
        CheckpointError: as :func:`train_supernet_for`.
    """
    path = Path(out_dir) / CHECKPOINT_NAME
    return open_run(path, settings, resume=resume, load=partial(_resumable, space))


def _resumable(space: SearchSpace, path: Path) -> SupernetCheckpoint:
    """The checkpoint at ``path``, checked to be one of ``space``'s supernet."""
    state = load_checkpoint(path, map_location="cpu")
    stored = checkpoint_space(state, path)
    if stored.to_dict() != space.to_dict():
        raise CheckpointError(f"{path}: trained for another search space ({stored.name!r})")
    return state


def plan_for(space: SearchSpace, sampling: str) -> SupernetPlan:
    """What a supernet training of ``space`` trains: its supernet, the ``sampling`` rule's
    sampler, the probes, and the space as the checkpoint's metadata."""
    return SupernetPlan(
        build=lambda: build_supernet(space),
        sample=sampler_for(space, sampling),
        probes=probes_for(space),
        metadata={"space": space.to_dict()},
    )


def _train(
    space: SearchSpace,
    splits: Splits,
    path: Path,
    settings: TrainSettings,
    state: Mapping[str, Any] | None,
    options: FitOptions,
    on_step: Callable[[int, float], None] | None = None,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    return fit_supernet(
        plan_for(space, settings.sampling),
        splits,
        path,
        settings,
        resume_from=state,
        options=replace(options, augmentation=augmentation_for(space)),
        on_step=on_step,
        on_epoch=on_epoch,
    )


def train_supernet_parallel(
    space: SearchSpace,
    out_dir: str | Path,
    settings: TrainSettings,
    resources: RayResources,
    *,
    data_root: str | Path | None = None,
    resume: Resume | bool | None = None,
    progress: bool = True,
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> dict[str, Any]:
    """Train the supernet of ``space`` on ``resources.workers`` Ray Train workers (each with
    ``resources.threads`` threads); return the final checkpoint.

    The same run as :func:`train_supernet_for` (``settings.batch_size`` is the global batch;
    ``resume`` as there), in those processes, each training on their part of
    every batch. Rank 0 writes ``out_dir/supernet.pt`` after every epoch; a group whose worker
    died is restarted up to ``resources.max_failures`` times and continues from it, and so does a re-run
    with ``resume`` after the driver was killed, with any number of workers (or one process).
    Each worker loads the data itself (``data_root`` must exist on every node), and on several
    machines ``out_dir`` must be a folder every node sees (Ray Train keeps its run in
    ``out_dir/ray-train``).

    ``on_epoch`` gets rank 0's record of every epoch, here in the driver, with the time rank 0
    spent in training steps (``train_seconds`` over ``timed_steps``; steps across an epoch's end
    are not timed) and in the gradient all-reduce (``comm_seconds``), both summed over the run.

    Raises:
        EvosnnError: the cluster lacks the resources, the batch does not split over the workers,
            a worker's node lacks the data (the message names node and folder).
        TrainingDiverged: NaN/inf loss (the last good checkpoint is left untouched).
        TrainingInterrupted: Ctrl-C (the workers stop; the last epoch's checkpoint is kept).
        CheckpointError: as :func:`train_supernet_for`.
        FolderInUse: another process holds ``out_dir`` (the driver holds it while it trains).
    """
    path = Path(out_dir).resolve() / CHECKPOINT_NAME
    with run_lock(path.parent):  # the driver holds the folder; rank 0 writes into it
        state, settings = open_supernet_run(space, path.parent, settings, resume=resume)
        if state is not None and state.get("status") == "complete":
            return dict(state)
        DataParallel(world=resources.workers).check_batch(settings.batch_size)
        if resources.gpus_per_worker > 0 and settings.device == "cpu":
            settings = TrainSettings.from_dict({**settings.to_dict(), "device": "cuda"})
        root = None if data_root is None else str(Path(data_root).resolve())
        job = SupernetJob(space.to_dict(), settings.to_dict(), root, str(path))
        try:
            run_data_parallel(
                supernet_rank,
                job,
                resources,
                storage=path.parent,
                progress=progress,
                desc="supernet",
                on_epoch=on_epoch,
            )
        except KeyboardInterrupt as exc:
            last = f"{path} holds the last finished epoch" if path.exists() else "no epoch finished"
            raise TrainingInterrupted(f"interrupted; {last} (continue with --resume)") from exc
        return dict(load_checkpoint(path, map_location="cpu"))


def _rank_data(job: SupernetJob, space: SearchSpace, rank: Rank, parallel: DataParallel) -> Splits:
    """The data, loaded by every rank; the ranks agree that all have it (so a node without the
    data folder stops the run with its name, instead of leaving the others waiting)."""
    try:
        splits: Splits | None = load_splits(space.dataset, root=job.data_root)
        problem = None
    except EvosnnError as exc:
        splits, problem = None, f"on node {rank.node}: {exc}"
    problems = [p for p in parallel.gather(problem) if p]
    if problems or splits is None:
        raise EvosnnError(problems[0] if problems else "no data")
    return splits


def _rank_checkpoint(
    path: Path, space: SearchSpace, parallel: DataParallel
) -> SupernetCheckpoint | None:
    """Rank 0's reading of ``path`` (if it exists), given to every rank; only rank 0 needs it."""
    loaded: SupernetCheckpoint | EvosnnError | None = None
    if parallel.main and path.exists():
        try:
            loaded = _resumable(space, path)
        except EvosnnError as exc:  # every rank stops with it, none waits for the others
            loaded = exc
    loaded = parallel.share(loaded)
    if isinstance(loaded, EvosnnError):
        raise loaded
    return loaded


def supernet_rank(job: SupernetJob, rank: Rank) -> None:
    """One Ray Train worker of :func:`train_supernet_parallel` (``torch.distributed`` is set up).

    Every rank loads the data itself. Rank 0 reads ``job.path`` if it exists (a resumed run, or
    this run's group restarted after a worker died) and gives it to the others.
    """
    space = SearchSpace.from_dict(job.space)
    parallel = DataParallel(rank=rank.rank, world=rank.world)
    splits = _rank_data(job, space, rank, parallel)
    path = Path(job.path)
    state = _rank_checkpoint(path, space, parallel)
    settings = TrainSettings.from_dict({**job.settings, "device": rank.device})
    if state is not None:
        settings = resumed_settings(state, settings)
        if state.get("status") == "complete":
            return
    per_epoch = steps_per_epoch(len(splits.train), settings.batch_size)
    rank.begin(settings.epochs * per_epoch, int(state["step"]) if state is not None else 0)
    timing = {"last": 0.0, "seconds": 0.0, "steps": 0}

    def on_step(step: int, loss: float) -> None:
        now = time.perf_counter()
        if timing["last"] and (step - 1) % per_epoch:  # not across an epoch's end (validation)
            timing["seconds"] += now - timing["last"]
            timing["steps"] += 1
        timing["last"] = now
        rank.progress(step, loss)

    def on_epoch(record: dict[str, Any]) -> None:
        timings = {"train_seconds": timing["seconds"], "timed_steps": timing["steps"]}
        rank.epoch({**record, **timings, "comm_seconds": parallel.comm_seconds})

    options = FitOptions(progress=False, parallel=parallel)
    _train(space, splits, path, settings, state, options, on_step=on_step, on_epoch=on_epoch)
