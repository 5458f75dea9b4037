"""The ledger's side of the driver lock: take it, beat it, free it, and refuse writes once lost.

The lock itself (a row kept fresh by a heartbeat thread, judged by the database's clock) is
:mod:`evosnn.storage.lock`; this mixin gives the :class:`~evosnn.storage.ledger.Ledger` the
handful of methods that hold it for one study, and the guarded write every ledger write goes
through (:meth:`LockDelegation._write`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from optuna.storages import RDBStorage

from evosnn.storage.lock import LOCK_STALE_S, DriverLock, LockHolder, lock_holder
from evosnn.storage.retry import retry

__all__ = ["LockDelegation"]

T = TypeVar("T")


class LockDelegation:
    """Driver-lock methods of a study's ledger (needs ``storage``, ``study``, ``study_id``)."""

    storage: RDBStorage
    study: Any
    study_id: int
    #: The driver lock, while this ledger holds it (:meth:`acquire`).
    lock: DriverLock | None = None

    def acquire(self, *, stale_s: float = LOCK_STALE_S) -> None:
        """Take the study's driver lock and start its heartbeat thread (see
        :mod:`evosnn.storage.lock`); ``stale_s``: after how long without a heartbeat, by the
        database's clock, another driver may take this one's lock over.

        Raises:
            StorageError: another driver holds the lock.
        """
        if self.lock is not None:
            return
        lock = DriverLock(
            self.storage.engine, self.study_id, self.study.study_name, stale_s=stale_s
        )
        retry(lock.acquire, f"taking the driver lock of study {self.study.study_name!r}")
        self.lock = lock

    def heartbeat(self) -> None:
        """One heartbeat of the driver lock now (the lock's thread beats on its own)."""
        if self.lock is not None:
            retry(self.lock.beat, "refreshing the driver lock")

    def release(self) -> None:
        """Stop the lock's heartbeat and free the lock at once."""
        if self.lock is not None:
            retry(self.lock.release, "releasing the driver lock")
            self.lock = None

    def lock_holder(self) -> LockHolder | None:
        """Who holds the study's driver lock now (None when nobody does)."""
        return retry(
            lambda: lock_holder(self.storage.engine, self.study_id), "reading the driver lock"
        )

    def _write(self, action: Callable[[], T], what: str) -> T:
        """Run a write with retries; refused (StorageError) if this driver lost its lock."""

        def guarded() -> T:
            if self.lock is not None:
                self.lock.check()
            return action()

        return retry(guarded, what)
