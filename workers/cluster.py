"""Connecting to Ray: a local instance sized to the machine, or an existing cluster."""

from __future__ import annotations

import logging
import os

import ray

from evosnn.errors import EvosnnError

__all__ = ["connect", "disconnect"]

log = logging.getLogger(__name__)


def connect(
    address: str | None = None, *, num_cpus: int | None = None, num_gpus: int | None = None
) -> dict[str, float]:
    """Start a local Ray instance (``address`` None) or join a cluster (``auto``, ``host:port``,
    ``ray://host:port``). Returns the cluster's resources.

    Raises:
        EvosnnError: the cluster cannot be reached.
    """
    if not ray.is_initialized():
        kwargs = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "configure_logging": True,
        }
        try:
            if address:
                ray.init(address=address, **kwargs)  # type: ignore[arg-type]
            else:
                ray.init(
                    num_cpus=num_cpus or os.cpu_count() or 1,
                    num_gpus=num_gpus,
                    include_dashboard=False,
                    **kwargs,  # type: ignore[arg-type]
                )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local Ray instance"
            raise EvosnnError(
                f"cannot connect to Ray at {where}: {str(exc).splitlines()[0][:200]}"
            ) from None
    resources = ray.cluster_resources()
    log.info("Ray: %s CPU(s), %s GPU(s)", resources.get("CPU", 0), resources.get("GPU", 0))
    return resources


def disconnect() -> None:
    """Leave Ray (stops a local instance this process started)."""
    if ray.is_initialized():
        ray.shutdown()
