"""Database actions retried through transient errors (a locked SQLite file, a restarted server).

Example:
    >>> retry(lambda: 42, "answering")
    42
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Callable
from typing import TypeVar

import optuna
import sqlalchemy.exc

from evosnn.core.errors import StorageError

__all__ = ["RETRY_FOR_S", "read_only", "retry", "transient"]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Transient database errors (locked SQLite, restarted PostgreSQL) are retried this long.
RETRY_FOR_S = 120.0

_TRANSIENT = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlite3.OperationalError,
)


def transient(exc: BaseException) -> bool:
    """A lost connection or a locked database, possibly wrapped by Optuna (which reports a
    connection lost during a commit as ``StorageInternalError``)."""
    if isinstance(exc, _TRANSIENT):
        return True
    return isinstance(exc, optuna.exceptions.StorageInternalError) and isinstance(
        exc.__cause__, _TRANSIENT
    )


def read_only(exc: BaseException) -> bool:
    """A write refused because the database is read-only (SQLite's "attempt to write a readonly
    database", PostgreSQL's read-only transaction): no retry can help."""
    text = f"{exc} {exc.__cause__ or ''}".lower()
    return "readonly database" in text or "read-only transaction" in text


def retry(action: Callable[[], T], what: str, *, retry_for: float = RETRY_FOR_S) -> T:
    """Run a database action, retrying transient errors with exponential back-off.

    A write whose commit was cut off may or may not have landed; every write of the ledger is
    idempotent (set an attribute or a state) except creating a trial, whose rare duplicate stays
    RUNNING and is marked FAIL ('interrupted') when the search ends.

    Raises:
        StorageError: the database stayed unavailable for ``retry_for`` seconds, or is
            read-only (at once).
    """
    delay, deadline = 0.1, time.monotonic() + retry_for
    while True:
        try:
            return action()
        except Exception as exc:
            if read_only(exc):
                raise StorageError(
                    f"{what}: the study database is read-only; make it writable, or copy it and "
                    "give the copy as --storage"
                ) from exc
            if not transient(exc):
                raise
            if time.monotonic() > deadline:
                raise StorageError(
                    f"{what}: the database stayed unavailable ({type(exc).__name__})"
                ) from exc
            log.warning(
                "%s: database unavailable (%s); retrying in %.1fs", what, type(exc).__name__, delay
            )
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
