"""Connecting to Ray: a local instance sized to the machine, or an existing cluster."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path
from typing import Any

import ray

from evosnn.core.errors import EvosnnError

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
        if address and "RAY_AUTH_MODE" not in os.environ and _has_auth_token():
            # Ray 2.5x+ finds its auth token for address="auto" but not for an explicit host:port;
            # turn token mode on and refresh Ray's config, which it caches at import time.
            os.environ["RAY_AUTH_MODE"] = "token"
            with contextlib.suppress(ImportError, AttributeError):
                from ray._raylet import Config  # type: ignore[attr-defined]

                Config.initialize("")
        kwargs: dict[str, Any] = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "configure_logging": True,
        }
        try:
            if address:
                host = address.split("://")[-1].rsplit(":", 1)[0]
                if host in ("127.0.0.1", "localhost"):  # keep a loopback cluster on loopback
                    kwargs["_node_ip_address"] = "127.0.0.1"
                ray.init(address=address, **kwargs)
            else:
                ray.init(
                    num_cpus=num_cpus or os.cpu_count() or 1,
                    num_gpus=num_gpus,
                    include_dashboard=False,
                    **kwargs,
                )
        except (ConnectionError, RuntimeError, ValueError) as exc:
            where = address or "a local Ray instance"
            raise EvosnnError(
                f"cannot connect to Ray at {where}: {str(exc).splitlines()[0][:200]}"
            ) from exc
    resources = ray.cluster_resources()
    log.info("Ray: %s CPU(s), %s GPU(s)", resources.get("CPU", 0), resources.get("GPU", 0))
    return resources


def _has_auth_token() -> bool:
    """Whether this machine holds a Ray cluster auth token (``RAY_AUTH_TOKEN`` or the token file)."""
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or (Path.home() / ".ray" / "auth_token").is_file()


def disconnect() -> None:
    """Leave Ray (stops a local instance this process started)."""
    if ray.is_initialized():
        ray.shutdown()
