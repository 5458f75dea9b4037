"""Independent jobs on Ray workers: results as they finish, a dead worker's job retried.

The jobs are injected: a picklable ``fn(item)`` (the application's; Ray pickles it by reference,
so its module is imported on the workers) run once per item, at most ``workers`` at a time. A job
whose worker process dies is run again, up to ``max_retries`` times (Ray's task retries); the
job is expected to continue from whatever it saved (e.g. a training checkpoint). An exception
the job raises is handed back as the item's result, not retried.

Example:
    >>> for index, outcome in run_tasks(train_one, jobs, workers=2):  # doctest: +SKIP
    ...     record(index, outcome)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

__all__ = ["run_tasks"]


def _call(fn: Callable[[Any], Any], item: Any) -> Any:
    try:
        return fn(item)
    except Exception as exc:  # the job's own failure: handed back, not retried
        return exc


def run_tasks(
    fn: Callable[[Any], Any],
    items: Sequence[Any],
    *,
    workers: int,
    cpus_per_task: float = 1.0,
    max_retries: int = 2,
    ray_address: str | None = None,
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(item)`` for every item on Ray workers; yield ``(index, result or exception)``
    in the order they finish.

    Raises:
        EvosnnError: Ray cannot be reached.
        ray.exceptions.RayError: a job's worker died more than ``max_retries`` times.
    """
    import ray

    from workers.cluster import connect

    connect(ray_address, num_cpus=None)
    remote = ray.remote(num_cpus=cpus_per_task, max_retries=max_retries)(_call)
    queue = list(enumerate(items))[::-1]
    running: dict[Any, int] = {}
    while queue or running:
        while queue and len(running) < max(1, workers):
            index, item = queue.pop()
            running[remote.remote(fn, item)] = index
        (done,), _ = ray.wait(list(running), num_returns=1)
        yield running.pop(done), ray.get(done)
