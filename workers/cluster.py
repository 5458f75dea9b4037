"""Connecting to Ray: a private local instance sized to the machine, or a cluster chosen on purpose.

Which Ray a command uses (the decision of issue 34; Ray's own ``ray.init()`` would attach to any
head it finds on the machine and then refuse evosnn's resource settings):

* ``--ray-address auto``, ``host:port`` or ``ray://host:port``: join that cluster (``auto``: the
  one ``ray start`` recorded on this machine, or ``RAY_ADDRESS``, as Ray's tools do).
* no ``--ray-address`` and ``RAY_ADDRESS`` set in the environment: join the cluster it names, and
  say so in one log line (as Ray's own tools do).
* otherwise (or ``--ray-address local``): start a private local instance
  (``ray.init(address="local")``), never attaching by accident to a live ``ray start`` head or
  to the current-cluster file a dead one left under ``RAY_TMPDIR``. Two commands started at once
  each get their own instance, and its processes die with the command, also after ``kill -9``
  (:mod:`workers.reaper`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import tempfile
from pathlib import Path
from typing import Any

import ray

from evosnn.core.errors import EvosnnError
from workers.reaper import watch

__all__ = ["LOCAL", "connect", "disconnect", "target"]

log = logging.getLogger(__name__)

#: The ``--ray-address`` value that asks for a private local instance explicitly.
LOCAL = "local"
#: How long joining waits for a cluster's address to answer before saying it cannot.
PROBE_TIMEOUT_S = 10.0


def target(address: str | None) -> str | None:
    """The cluster to join for ``--ray-address address``, or None for a private local instance."""
    if address == LOCAL:
        return None
    if address:
        return address
    return os.environ.get("RAY_ADDRESS") or None


def connect(
    address: str | None = None, *, num_cpus: int | None = None, num_gpus: int | None = None
) -> dict[str, float]:
    """Start a private local Ray instance or join a cluster (see the module docstring).

    Returns the cluster's resources.

    Raises:
        EvosnnError: the cluster cannot be reached (the message names it and how to choose).
    """
    if not ray.is_initialized():
        join = target(address)
        if join is not None and not address:
            log.info(
                "joining the Ray cluster at %s named by RAY_ADDRESS "
                "(unset it, or pass --ray-address local, for a private local instance)",
                join,
            )
        kwargs: dict[str, Any] = {
            "logging_level": logging.WARNING,
            "log_to_driver": False,
            "configure_logging": True,
        }
        try:
            if join is not None:
                _join(join, kwargs)
            else:
                ray.init(
                    address=LOCAL,
                    num_cpus=num_cpus or os.cpu_count() or 1,
                    num_gpus=num_gpus,
                    include_dashboard=False,
                    **kwargs,
                )
                watch(_session_dir())  # its processes die with this one, also after kill -9
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise EvosnnError(_failure(join, address, exc)) from exc
    resources = ray.cluster_resources()
    log.info("Ray: %s CPU(s), %s GPU(s)", resources.get("CPU", 0), resources.get("GPU", 0))
    return resources


def _session_dir() -> str:
    """The folder of the Ray session this process started (its processes' logs and sockets)."""
    from ray._private import worker

    node = worker._global_node
    assert node is not None, "called after ray.init started a local instance"
    return str(node.get_session_dir_path())


def _join(address: str, kwargs: dict[str, Any]) -> None:
    """``ray.init`` on an existing cluster at ``address`` (``auto`` included)."""
    if "RAY_AUTH_MODE" not in os.environ and _has_auth_token():
        # Ray 2.5x+ finds its auth token for address="auto" but not for an explicit host:port;
        # turn token mode on and refresh Ray's config, which it caches at import time.
        os.environ["RAY_AUTH_MODE"] = "token"
        with contextlib.suppress(ImportError, AttributeError):
            from ray._raylet import Config  # type: ignore[attr-defined]

            Config.initialize("")
    probed = _recorded_address() if address == "auto" else address
    host, _, port = probed.split("://")[-1].rpartition(":")
    if host in ("127.0.0.1", "localhost"):  # keep a loopback cluster on loopback
        kwargs["_node_ip_address"] = "127.0.0.1"
    if "://" not in probed and port.isdigit():
        _probe(host, int(port))
    ray.init(address=address, **kwargs)


def _recorded_address() -> str:
    """The address ``auto`` means, found as Ray finds it: ``RAY_ADDRESS`` (unless it says
    ``auto``), else the current-cluster file ``ray start`` wrote (``$RAY_TMPDIR/ray``), so that
    it can be probed like any ``host:port`` (``ray.init`` retries a dead one for ever).

    Raises:
        ConnectionError: no cluster is recorded on this machine.
    """
    named = os.environ.get("RAY_ADDRESS", "")
    if named and named != "auto":
        return named
    base = os.environ.get("RAY_TMPDIR") or tempfile.gettempdir()
    record = Path(base) / "ray" / "ray_current_cluster"
    try:
        recorded = record.read_text(encoding="utf-8").strip()
    except OSError:
        recorded = ""
    if not recorded:
        raise ConnectionError(f"no Ray cluster is recorded on this machine ({record})")
    return recorded


def _probe(host: str, port: int) -> None:
    """Refuse at once a GCS address nothing listens on (``ray.init`` would retry it for ever).

    Raises:
        ConnectionError: the port refuses connections or does not answer within seconds.
    """
    try:
        with socket.create_connection((host, port), timeout=PROBE_TIMEOUT_S):
            return
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {host}:{port} ({exc.strerror or exc})") from exc


def _failure(join: str | None, address: str | None, exc: BaseException) -> str:
    """One line: which cluster was tried, why it failed, and how to choose another."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:200]
    if join is None:
        return f"cannot start a local Ray instance: {reason}"
    source = "--ray-address" if address else "RAY_ADDRESS"
    return (
        f"cannot join the Ray cluster at {join} ({source}): {reason}; start it (`ray start "
        f"--head`), pass another --ray-address, or pass --ray-address local for a private "
        f"local instance" + ("" if address else " (or unset RAY_ADDRESS)")
    )


def _has_auth_token() -> bool:
    """Whether this machine holds a Ray cluster auth token (``RAY_AUTH_TOKEN`` or the token file)."""
    return bool(os.environ.get("RAY_AUTH_TOKEN")) or (Path.home() / ".ray" / "auth_token").is_file()


def disconnect() -> None:
    """Leave Ray (stops a local instance this process started)."""
    if ray.is_initialized():
        ray.shutdown()
