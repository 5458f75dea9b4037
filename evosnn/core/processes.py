"""Whether a process of this host is alive: the one check both locks make of a holder's pid.

A run folder's lock (:mod:`evosnn.core.run_lock`) and a study's driver lock
(:mod:`evosnn.storage.lock`) are taken over at once when their holder's pid is gone on this host.

Example:
    >>> import os
    >>> alive(os.getpid()), alive(0)
    (True, False)
"""

from __future__ import annotations

import os

__all__ = ["alive"]


def alive(pid: int) -> bool:
    """Whether a process of this host has this pid (a zombie counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, owned by someone else
        return True
    return True
