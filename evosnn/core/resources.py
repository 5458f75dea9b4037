"""Where a training runs: in this process, or data-parallel on Ray Train workers.

One value, given once by the caller (``evosnn supernet train``'s flags, or
``evosnn.train_supernet(..., workers=2)``) and handed unchanged from the API through the training
to the Ray workers (:func:`workers.train.run_data_parallel`).

Example:
    >>> RayResources(workers=2).parallel, RayResources().parallel
    (True, False)
"""

from __future__ import annotations

from dataclasses import dataclass

from evosnn.core.errors import SettingError
from evosnn.core.validation import DEFAULT_GPUS, GPUS, WORKERS, Whole, check_fields, setting

__all__ = ["RayResources"]


@dataclass(frozen=True)
class RayResources:
    """Processes, threads and GPUs for a training.

    Attributes:
        workers: Ray Train worker processes (0: train in this process, without Ray).
        threads: CPU threads for torch, per worker with ``workers`` (0: torch's default; with
            ``workers``, this machine's cores shared out).
        gpus_per_worker: GPUs per worker (NCCL when above 0).
        max_failures: restarts of the worker group after a worker dies.
        ray_address: a Ray cluster to join; None starts a local instance.
    """

    workers: int = setting(0, WORKERS)
    threads: int = setting(0, WORKERS)
    gpus_per_worker: float = setting(DEFAULT_GPUS, GPUS)
    max_failures: int = setting(2, Whole(0, 100))
    ray_address: str | None = None

    def __post_init__(self) -> None:
        check_fields(self)
        if self.ray_address and not self.workers:
            raise SettingError(
                f"ray_address={self.ray_address!r} is for Ray Train workers; with workers=0 the "
                "training runs in this process (give workers >= 1, or no --ray-address)"
            )

    @property
    def parallel(self) -> bool:
        """Whether the training runs on Ray Train workers."""
        return self.workers > 0
