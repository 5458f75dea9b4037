"""The driver lock: one search driver per study, kept by a heartbeat thread, judged by the database.

The lock is a row of the ``evosnn_driver_locks`` table, in the study's own database:
``(study_id, token, host, pid, stale_s, heartbeat)``. ``heartbeat`` is written with the database
server's clock (seconds since the epoch), never a client's, so drivers on hosts whose clocks
disagree judge a lock alike. A daemon thread refreshes it every ``stale_s / 4`` seconds, whatever
the driver's main thread is doing (replacing a hung worker, starting workers, a long evaluation).

Taking the lock is one atomic conditional statement: an ``INSERT`` when there is no row (the
primary key lets only one of two racing drivers in), else an ``UPDATE ... WHERE token = mine OR
heartbeat < now - stale_s OR token = <a holder seen dead>``, which the database applies to one
driver at most. A holder whose heartbeat is older than its own ``stale_s`` is taken over; one on
the same host whose process is gone is taken over at once (a SIGKILLed driver re-run at once).

If a beat finds that the row is no longer this driver's (it cannot happen while the thread beats;
it can after the database was unreachable for longer than ``stale_s``), the lock is *lost*: the
thread logs an error and stops, and :meth:`DriverLock.check` raises ``StorageError`` from then on,
so the ledger refuses further writes instead of two drivers writing one study.

A lock can be given a ``clock`` (a callable returning seconds since the epoch) that then stands in
for the database's clock, in the heartbeats it writes and in every judgement of staleness: tests
advance time explicitly instead of waiting for it. Without one (always, outside tests), the
database server's clock is used as described above.

Example:
    >>> lock = DriverLock(storage.engine, study_id, "demo")  # doctest: +SKIP
    >>> lock.acquire()  # doctest: +SKIP
    >>> lock.release()  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy
import sqlalchemy.exc
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.expression import FunctionElement

from evosnn.core.errors import StorageError
from evosnn.core.processes import alive

__all__ = [
    "LOCK_STALE_S",
    "LOCK_TABLE",
    "Clock",
    "DriverLock",
    "LockHolder",
    "db_epoch",
    "ensure_table",
    "lock_holder",
]

log = logging.getLogger(__name__)

#: A driver whose heartbeat is older than this (by the database's clock) is considered dead.
LOCK_STALE_S = 60.0
#: The heartbeat thread beats this many times per stale interval.
BEATS_PER_STALE = 4
#: How long :meth:`DriverLock.release` waits for a beat that is still talking to the database.
JOIN_TIMEOUT_S = 10.0

#: A time source for the lock in seconds since the epoch (tests only; see the module docstring).
Clock = Callable[[], float]

_metadata = sqlalchemy.MetaData()
LOCK_TABLE = sqlalchemy.Table(
    "evosnn_driver_locks",
    _metadata,
    sqlalchemy.Column("study_id", sqlalchemy.Integer, primary_key=True, autoincrement=False),
    sqlalchemy.Column("token", sqlalchemy.String(64), nullable=False),
    sqlalchemy.Column("host", sqlalchemy.String(255), nullable=False),
    sqlalchemy.Column("pid", sqlalchemy.Integer, nullable=False),
    sqlalchemy.Column("stale_s", sqlalchemy.Float, nullable=False),
    sqlalchemy.Column("heartbeat", sqlalchemy.Float, nullable=False),
)


class db_epoch(FunctionElement[float]):
    """The database server's clock in seconds since the epoch (millisecond resolution or finer).

    SQLite's ``CURRENT_TIMESTAMP`` has one-second resolution, so SQLite uses ``julianday``.
    """

    type = sqlalchemy.Float()
    inherit_cache = True
    name = "db_epoch"


@compiles(db_epoch)
def _epoch_default(element: db_epoch, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM CURRENT_TIMESTAMP) AS DOUBLE PRECISION)"


@compiles(db_epoch, "sqlite")
def _epoch_sqlite(element: db_epoch, compiler: Any, **kw: Any) -> str:
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(db_epoch, "postgresql")
def _epoch_postgresql(element: db_epoch, compiler: Any, **kw: Any) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(db_epoch, "mysql")
def _epoch_mysql(element: db_epoch, compiler: Any, **kw: Any) -> str:
    return "UNIX_TIMESTAMP(NOW(6))"


def _now(clock: Clock | None) -> sqlalchemy.ColumnElement[float]:
    """The lock's "now" in SQL: the database server's clock, or ``clock()`` where one is given."""
    if clock is None:
        return db_epoch()
    return sqlalchemy.literal(float(clock()), sqlalchemy.Float())


@dataclass(frozen=True)
class LockHolder:
    """Who holds a study's lock, and how old its last heartbeat is by the database's clock."""

    token: str
    host: str
    pid: int
    stale_s: float
    age_s: float


class DriverLock:
    """The driver lock of one study; ``acquire`` starts its heartbeat thread, ``release`` stops it.

    Args:
        engine: the study database's SQLAlchemy engine (``RDBStorage.engine``).
        study_id: the study's id in Optuna's tables.
        study_name: named in error messages.
        stale_s: this driver's promise: it beats every ``stale_s / 4`` seconds, and may be taken
            over when its heartbeat is older than ``stale_s``. Stored in the row, so every other
            driver judges this one by it.
        clock: stands in for the database's clock (seconds since the epoch) in this lock's
            heartbeats and staleness checks, and for ``time.monotonic`` in :meth:`check`; for
            tests. None (the default): the database server's clock.
    """

    def __init__(
        self,
        engine: sqlalchemy.Engine,
        study_id: int,
        study_name: str,
        *,
        stale_s: float = LOCK_STALE_S,
        clock: Clock | None = None,
    ) -> None:
        if not stale_s > 0:
            raise ValueError(f"stale_s must be positive, got {stale_s}")
        self.engine, self.study_id, self.study_name = engine, study_id, study_name
        self.stale_s = float(stale_s)
        self.token = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.clock = clock
        self._elapsed: Clock = time.monotonic if clock is None else clock
        #: Set once a beat found the lock taken; the reason is in :attr:`lost_reason`.
        self.lost = threading.Event()
        self.lost_reason = ""
        self._held = False
        self._last_beat = 0.0  # _elapsed() at the last beat that found the lock ours
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def interval_s(self) -> float:
        return self.stale_s / BEATS_PER_STALE

    # ------------------------------------------------------------------ taking and giving back
    def acquire(self) -> None:
        """Take the lock and start the heartbeat thread; idempotent, so a retried call is safe.

        Raises:
            StorageError: another driver holds the lock (its pid, host and heartbeat age named).
        """
        if self._held:
            return
        ensure_table(self.engine)
        for _ in range(5):  # a row that appears or vanishes between the reads is read again
            holder = self.holder()
            if holder is None:
                if self._insert():
                    return self._start()
                continue
            dead = holder.token if holder.host == self.host and not alive(holder.pid) else None
            if self._take_over(dead):
                return self._start()
            holder = self.holder()
            if holder is not None:
                raise StorageError(
                    f"study {self.study_name!r} is being searched by another driver "
                    f"(pid {holder.pid} on {holder.host}, heartbeat {holder.age_s:.0f}s ago); "
                    f"wait for it to finish or stop it"
                )
        raise StorageError(f"study {self.study_name!r}: the driver lock kept changing hands")

    def release(self) -> None:
        """Stop the heartbeat thread and delete the row if it is still this driver's."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=JOIN_TIMEOUT_S)
            if self._thread.is_alive():
                log.warning("the driver lock's heartbeat is still waiting for the database")
            self._thread = None
        if self._held:
            table = LOCK_TABLE
            with self.engine.begin() as conn:
                conn.execute(
                    table.delete().where(
                        table.c.study_id == self.study_id, table.c.token == self.token
                    )
                )
            self._held = False

    # ------------------------------------------------------------------ the heartbeat
    def beat(self) -> None:
        """One heartbeat (what the thread does every ``interval_s``).

        Raises:
            StorageError: the lock was lost (then also :attr:`lost` is set).
        """
        if self.lost.is_set():
            raise StorageError(self.lost_reason)
        if not self._held:
            return
        table = LOCK_TABLE
        with self.engine.begin() as conn:
            updated = conn.execute(
                table.update()
                .where(table.c.study_id == self.study_id, table.c.token == self.token)
                .values(heartbeat=_now(self.clock))
            ).rowcount
        if updated == 1:
            self._last_beat = self._elapsed()
            return
        if not self._held:  # released while this beat was under way
            return
        holder = self.holder()
        by = f"now held by pid {holder.pid} on {holder.host}" if holder else "nobody holds it now"
        self.lost_reason = (
            f"study {self.study_name!r}: this driver lost its lock ({by}); it stops writing so "
            f"that two drivers never write one study"
        )
        log.error("%s", self.lost_reason)
        self.lost.set()
        raise StorageError(self.lost_reason)

    def check(self) -> None:
        """Raise StorageError if the lock was lost. After no successful beat for ``stale_s``
        (the database was unreachable), beat once here first, so a write never goes out under a
        lock that another driver may have taken meanwhile."""
        if self.lost.is_set():
            raise StorageError(self.lost_reason)
        if self._held and self._elapsed() - self._last_beat > self.stale_s:
            self.beat()

    def holder(self) -> LockHolder | None:
        """The current holder of the study's lock (None when free)."""
        return lock_holder(self.engine, self.study_id, clock=self.clock)

    # ------------------------------------------------------------------ internals
    def _row(self) -> dict[str, Any]:
        return {
            "token": self.token,
            "host": self.host,
            "pid": self.pid,
            "stale_s": self.stale_s,
            "heartbeat": _now(self.clock),
        }

    def _insert(self) -> bool:
        try:
            with self.engine.begin() as conn:
                conn.execute(LOCK_TABLE.insert().values(study_id=self.study_id, **self._row()))
        except sqlalchemy.exc.IntegrityError:
            return False  # another driver inserted its row first
        return True

    def _take_over(self, dead_token: str | None) -> bool:
        table = LOCK_TABLE
        condition = sqlalchemy.or_(
            table.c.token == self.token, table.c.heartbeat < _now(self.clock) - table.c.stale_s
        )
        if dead_token is not None:
            condition = sqlalchemy.or_(condition, table.c.token == dead_token)
        with self.engine.begin() as conn:
            updated = conn.execute(
                table.update()
                .where(table.c.study_id == self.study_id, condition)
                .values(**self._row())
            ).rowcount
        return bool(updated == 1)

    def _start(self) -> None:
        self._held = True
        self._last_beat = self._elapsed()
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._run, name=f"evosnn-driver-lock-{self.study_id}", daemon=True
        )
        self._thread.start()

    def _run(self) -> None:
        """The heartbeat thread: beat until stopped or the lock is lost; database errors are
        logged and the beat retried (the lock stays this driver's for ``stale_s``)."""
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except StorageError:
                return  # lost; logged by beat()
            except Exception as exc:
                log.warning(
                    "study %r: the driver lock's heartbeat failed (%s); retrying in %.1fs",
                    self.study_name,
                    type(exc).__name__,
                    self.interval_s,
                )
                log.debug("heartbeat failure", exc_info=True)


def lock_holder(
    engine: sqlalchemy.Engine, study_id: int, *, clock: Clock | None = None
) -> LockHolder | None:
    """The holder of a study's driver lock, read with the database's clock (None when free);
    ``clock``: stands in for the database's clock (see :class:`DriverLock`)."""
    if not sqlalchemy.inspect(engine).has_table(LOCK_TABLE.name):
        return None
    table = LOCK_TABLE
    query = sqlalchemy.select(
        table.c.token,
        table.c.host,
        table.c.pid,
        table.c.stale_s,
        (_now(clock) - table.c.heartbeat).label("age_s"),
    ).where(table.c.study_id == study_id)
    with engine.connect() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return LockHolder(
        str(row.token), str(row.host), int(row.pid), float(row.stale_s), float(row.age_s)
    )


def ensure_table(engine: sqlalchemy.Engine) -> None:
    """Create the lock table if it is missing; a driver creating it at the same moment is fine."""
    try:
        LOCK_TABLE.create(engine, checkfirst=True)
    except sqlalchemy.exc.DatabaseError:
        if not sqlalchemy.inspect(engine).has_table(LOCK_TABLE.name):
            raise
