"""One study's driver lock, held by its ledger: take it, beat it, free it, refuse writes once lost.

The lock itself (a row kept fresh by a heartbeat thread, judged by the database's clock) is
:mod:`evosnn.storage.lock`; a :class:`~evosnn.storage.ledger.Ledger` holds one
:class:`StudyLock` for its study (``Ledger.driver_lock``), and every ledger write goes through
:meth:`StudyLock.write`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import sqlalchemy

from evosnn.storage.lock import LOCK_STALE_S, DriverLock, LockHolder, lock_holder
from evosnn.storage.retry import retry

__all__ = ["StudyLock"]

T = TypeVar("T")


class StudyLock:
    """The driver lock of the study ``study_name`` (id ``study_id``) in the database ``engine``."""

    def __init__(self, engine: sqlalchemy.Engine, study_id: int, study_name: str) -> None:
        self.engine, self.study_id, self.study_name = engine, study_id, study_name
        #: The driver lock, while this process holds it (:meth:`acquire`).
        self.held: DriverLock | None = None

    def acquire(self, *, stale_s: float = LOCK_STALE_S) -> None:
        """Take the study's driver lock and start its heartbeat thread (see
        :mod:`evosnn.storage.lock`); ``stale_s``: after how long without a heartbeat, by the
        database's clock, another driver may take this one's lock over.

        Raises:
            StorageError: another driver holds the lock.
        """
        if self.held is not None:
            return
        lock = DriverLock(self.engine, self.study_id, self.study_name, stale_s=stale_s)
        retry(lock.acquire, f"taking the driver lock of study {self.study_name!r}")
        self.held = lock

    def heartbeat(self) -> None:
        """One heartbeat of the driver lock now (the lock's thread beats on its own)."""
        if self.held is not None:
            retry(self.held.beat, "refreshing the driver lock")

    def release(self) -> None:
        """Stop the lock's heartbeat and free the lock at once."""
        if self.held is not None:
            retry(self.held.release, "releasing the driver lock")
            self.held = None

    def holder(self) -> LockHolder | None:
        """Who holds the study's driver lock now (None when nobody does)."""
        return retry(lambda: lock_holder(self.engine, self.study_id), "reading the driver lock")

    def write(self, action: Callable[[], T], what: str) -> T:
        """Run a write with retries; refused (StorageError) if this driver lost its lock."""

        def guarded() -> T:
            if self.held is not None:
                self.held.check()
            return action()

        return retry(guarded, what)
