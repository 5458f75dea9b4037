"""Data-parallel training on Ray Train: a ``TorchTrainer`` whose workers run an injected loop.

The training itself is the application's: a picklable ``loop(config, rank)`` (e.g.
:func:`evosnn.training.supernet_training.supernet_rank`; Ray pickles it by reference, so its module is imported on
the workers) that trains with ``torch.distributed`` already initialised (gloo on CPU, NCCL on
GPU) and reports through its :class:`Rank`. This module runs it on ``workers`` Ray Train workers:

* **resources first**: more workers, CPUs or GPUs than the cluster has is one clear error before
  anything starts (Ray would otherwise wait for them forever);
* **faults**: a worker process that dies makes Ray Train restart the whole group, up to
  ``max_failures`` times (``FailureConfig``); the loop resumes from its own last checkpoint;
* **bad input is not retried**: an :class:`~evosnn.core.errors.EvosnnError` the loop raises (the same
  on every rank, e.g. a missing data folder or a diverged loss) ends the run and is raised again
  here, in the driver, as it was raised on the worker;
* **progress**: rank 0 sends its steps and epoch records to the driver, which shows a progress
  bar (or, when stderr is not a terminal, one log line per epoch).

Example:
    >>> run_data_parallel(supernet_rank, config, RayResources(workers=2, threads=1),
    ...                   storage=Path("runs/x"))  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from tqdm import tqdm

from evosnn.core.errors import EvosnnError
from evosnn.core.resources import RayResources
from supernet.epoch_record import describe

__all__ = ["Rank", "RankLoop", "default_threads", "run_data_parallel"]

log = logging.getLogger(__name__)

#: Seconds between two progress messages from rank 0.
_PROGRESS_EVERY_S = 0.5


@dataclass
class Rank:
    """What a worker's loop knows about its place in the group, and how it reports to the driver.

    Attributes:
        rank, world: this worker's index and the group's size (``torch.distributed`` is set up).
        node: the IP address of the node it runs on (for error messages).
        device: the torch device to train on (``cpu`` or this worker's ``cuda:N``).
        threads: CPU threads torch uses here (already set).
    """

    rank: int
    world: int
    node: str
    device: str
    threads: int
    events: Any = None
    _last: float = 0.0

    def begin(self, total_steps: int, step: int) -> None:
        """Rank 0: the run's length in optimizer steps and the step it starts from."""
        if self.rank == 0 and self.events is not None:
            self.events.put(("begin", total_steps, step))

    def progress(self, step: int, loss: float) -> None:
        """Rank 0: the optimizer steps taken so far and the last loss (throttled)."""
        now = time.monotonic()
        if self.rank == 0 and self.events is not None and now - self._last >= _PROGRESS_EVERY_S:
            self._last = now
            self.events.put(("step", step, loss))

    def epoch(self, record: dict[str, Any]) -> None:
        """Rank 0: a finished epoch's record (logged by the driver)."""
        if self.rank == 0 and self.events is not None:
            self.events.put(("epoch", record))


J = TypeVar("J")

#: ``loop(config, rank)``: the training run on every worker (``config``: its job, picklable).
RankLoop = Callable[[J, Rank], None]


def _worker(train_config: dict[str, Any]) -> None:
    """The Ray Train worker: set threads, describe the rank, run the loop, hand back bad input."""
    import ray
    import ray.train
    import ray.train.torch
    import torch

    threads = int(train_config["threads"])
    torch.set_num_threads(threads)
    context = ray.train.get_context()
    rank = Rank(
        rank=context.get_world_rank(),
        world=context.get_world_size(),
        node=ray.util.get_node_ip_address(),
        device=str(ray.train.torch.get_device()),
        threads=threads,
        events=train_config["events"],
    )
    try:
        train_config["loop"](train_config["config"], rank)
    except EvosnnError as exc:  # bad input: raised alike on every rank; not worth a retry
        if rank.rank == 0:
            train_config["events"].put(("error", exc))


def _check_resources(workers: int, threads: int, gpus_per_worker: float) -> None:
    import ray

    have = ray.cluster_resources()
    need = {"CPU": workers * threads, "GPU": workers * gpus_per_worker}
    for name, amount in need.items():
        if amount > have.get(name, 0):
            raise EvosnnError(
                f"{workers} worker(s) need {amount:g} {name}(s) in all "
                f"({threads} thread(s) and {gpus_per_worker:g} GPU(s) each) but the Ray cluster has "
                f"{have.get(name, 0):g}; use fewer --workers, --threads or --gpus-per-worker"
            )
    fits = 0  # a worker runs on one node: count the workers each node can hold
    for node in ray.nodes():
        if node.get("Alive"):
            res = node.get("Resources", {})
            slots = int(res.get("CPU", 0) // threads)
            if gpus_per_worker > 0:
                slots = min(slots, int(res.get("GPU", 0) // gpus_per_worker))
            fits += slots
    if fits < workers:
        raise EvosnnError(
            f"the Ray cluster's nodes hold only {fits} worker(s) of {threads} thread(s) and "
            f"{gpus_per_worker:g} GPU(s) each, not {workers}; use fewer --workers or --threads"
        )


def run_data_parallel(
    loop: RankLoop[J],
    config: J,
    resources: RayResources,
    *,
    storage: Path,
    progress: bool = True,
    desc: str = "train",
    name: str = "ray-train",
    on_epoch: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run ``loop(config, rank)`` on ``resources.workers`` Ray Train workers until every rank
    returns.

    Args:
        loop: the picklable training (see the module docstring).
        config: handed to ``loop`` on every worker (picklable, e.g. a frozen dataclass).
        resources: the number of worker processes (ranks), the CPUs reserved and torch threads
            used by each (``threads``), its GPUs (NCCL instead of gloo when above 0), how often a
            group whose worker died is restarted, and the Ray cluster to join (None starts a local
            instance).
        storage: where Ray Train keeps its run (``storage/name``); on several machines, a folder
            every node sees.
        progress: show a progress bar.
        desc: the progress bar's label.
        name: the run's folder under ``storage``.
        on_epoch: called in the driver with every epoch record rank 0 sends.

    Raises:
        EvosnnError: the cluster lacks the resources, or the loop raised an ``EvosnnError``
            (raised again here as it was), or the group failed more than ``max_failures`` times.
        KeyboardInterrupt: Ctrl-C, at once (the workers end with the driver).
    """
    from ray.util.queue import Queue

    from workers.cluster import connect

    workers, threads = resources.workers, resources.threads
    gpus_per_worker, max_failures = resources.gpus_per_worker, resources.max_failures
    if workers < 1 or threads < 1 or gpus_per_worker < 0:
        raise EvosnnError("--workers and --threads must be at least 1, --gpus-per-worker >= 0")
    connect(resources.ray_address, num_cpus=None)
    _check_resources(workers, threads, gpus_per_worker)
    events = Queue()
    trainer = _trainer(
        {"loop": loop, "config": config, "events": events, "threads": threads},
        workers=workers,
        threads=threads,
        gpus_per_worker=gpus_per_worker,
        run=(Path(storage).resolve(), name, max_failures),
    )
    runner, outcome = _start(trainer)
    bar = tqdm(total=None, disable=None if progress else True, unit="step", desc=desc)
    finished = False
    try:
        failure = _follow(events, runner, bar, desc, on_epoch)
        finished = True
    finally:  # on Ctrl-C, leave at once: the workers stop with this driver
        bar.close()
        if finished:
            runner.join()
            events.shutdown()
    if failure is not None:
        raise failure
    error = outcome.get("error")
    if error is not None:
        raise EvosnnError(
            f"data-parallel training failed after {max_failures} restart(s): {_first_line(error)}"
        ) from error


def _start(trainer: Any) -> tuple[threading.Thread, dict[str, BaseException]]:
    """Run ``trainer.fit()`` in a thread; its error, if any, lands in the returned dict."""
    outcome: dict[str, BaseException] = {}

    def fit() -> None:
        try:
            trainer.fit()
        except BaseException as exc:  # handed to the main thread
            outcome["error"] = exc

    runner = threading.Thread(target=fit, name="ray-train-fit", daemon=True)
    runner.start()
    return runner, outcome


def _trainer(
    train_config: dict[str, Any],
    *,
    workers: int,
    threads: int,
    gpus_per_worker: float,
    run: tuple[Path, str, int],
) -> Any:
    """The ``TorchTrainer`` of ``workers`` workers; ``run`` is (storage, name, max_failures)."""
    import ray.train
    from ray.train.torch import TorchTrainer

    storage, name, max_failures = run
    use_gpu = gpus_per_worker > 0
    return TorchTrainer(
        _worker,
        train_loop_config=train_config,
        scaling_config=ray.train.ScalingConfig(
            num_workers=workers,
            use_gpu=use_gpu,
            resources_per_worker={"CPU": threads, **({"GPU": gpus_per_worker} if use_gpu else {})},
        ),
        run_config=ray.train.RunConfig(
            name=name,
            storage_path=str(storage),
            failure_config=ray.train.FailureConfig(max_failures=max_failures),
        ),
    )


def _follow(
    events: Any,
    runner: threading.Thread,
    bar: tqdm[Any],
    desc: str,
    on_epoch: Callable[[dict[str, Any]], None] | None,
) -> EvosnnError | None:
    """Show rank 0's events until the run ends; the bad-input error a rank sent, if any."""
    failure: EvosnnError | None = None
    while runner.is_alive() or not events.empty():
        try:
            event = events.get(timeout=0.5)
        except queue.Empty:  # ray.util.queue raises the standard library's Empty
            continue
        if event[0] == "begin":
            bar.reset(total=event[1])
            bar.update(event[2])
        elif event[0] == "step":
            bar.update(event[1] - bar.n)
            bar.set_postfix(loss=f"{event[2]:.3f}")
        elif event[0] == "epoch":
            record = event[1]
            bar.update(int(record.get("step", bar.n)) - bar.n)
            log.info("%s epoch %s: %s", desc, record.get("epoch"), describe(record))
            if on_epoch is not None:
                on_epoch(record)
        elif event[0] == "error":
            failure = event[1]
    return failure


def _first_line(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300]


def default_threads(workers: int) -> int:
    """Threads per worker on this machine: its cores shared out, at least one each."""
    return max(1, (os.cpu_count() or 1) // workers)
