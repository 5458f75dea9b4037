"""The driver lock: held by a heartbeat thread, judged by the database's clock, taken atomically.

Drivers are real processes on real SQLite and PostgreSQL; each test waits on their answers (a
line per command on their stdout), never on timing luck. Where the lock's time must pass, the
locks run in this process on an injected clock that the test advances, and the test waits for
the heartbeat thread's beats, not for a deadline.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from evosnn.core.errors import StorageError
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.storage.ledger import Ledger
from evosnn.storage.lock import LOCK_TABLE, DriverLock, db_epoch
from tests.conftest import ROOT

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

#: A search driver reduced to its lock: one command per stdin line, one answer line each. Between
#: commands its main thread waits on stdin, as a driver blocked by a slow step would.
DRIVER = """
import sys
from evosnn.core.errors import StorageError
from evosnn.core.genome import GenomeCodec
from evosnn.storage.ledger import Ledger
from evosnn.core.space import SearchSpace
from tests.conftest import tiny_dict

codec, ledger = GenomeCodec(SearchSpace.from_dict(tiny_dict())), None
for line in sys.stdin:
    command, *rest = line.split()
    try:
        if command == "open":
            ledger = Ledger.open(sys.argv[1], rest[0], codec)
            answer = "opened"
        elif command == "acquire":
            ledger.acquire(stale_s=float(rest[0]))
            answer = "won"
        elif command == "write":
            ledger.set_attr("probe", rest[0])
            answer = "wrote"
        elif command == "release":
            ledger.release()
            answer = "released"
    except StorageError as exc:
        answer = f"refused: {exc}"
    print(answer, flush=True)
"""


class Driver:
    """A :data:`DRIVER` process; :meth:`ask` sends a command and returns its answer."""

    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER, url],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        self.pid = self.process.pid

    def send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def answer(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        assert line, f"driver {self.pid} exited (status {self.process.poll()})"
        return line.strip()

    def ask(self, command: str) -> str:
        self.send(command)
        return self.answer()

    def kill(self) -> None:
        """SIGKILL, then reap it (a zombie's pid still looks alive)."""
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def close(self) -> None:
        if self.process.poll() is None:
            self.kill()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}" if request.param == "sqlite" else POSTGRES


@pytest.fixture
def drivers(url: str) -> Iterator[list[Driver]]:
    """Three driver processes on ``url`` (killed at the end)."""
    started = [Driver(url) for _ in range(3)]
    try:
        yield started
    finally:
        for driver in started:
            driver.close()


def study_name() -> str:
    return f"lock-{uuid.uuid4().hex[:10]}"


class FakeClock:
    """The lock's time, advanced only by the test (seconds since the epoch)."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class CountedLock(DriverLock):
    """A driver lock that counts its successful beats, so a test can wait for the next one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.beats = 0
        self._counted = threading.Condition()

    def beat(self) -> None:
        super().beat()
        with self._counted:
            self.beats += 1
            self._counted.notify_all()

    def await_beats(self, more: int) -> None:
        """Wait until ``more`` further beats have succeeded (the second of two certainly read the
        clock after this call began: beats run one after the other on the heartbeat thread)."""
        with self._counted:
            target = self.beats + more
            assert self._counted.wait_for(lambda: self.beats >= target, timeout=60), "no beat"


def test_a_blocked_driver_keeps_its_lock_and_release_frees_it(
    url: str, tiny_space: SearchSpace
) -> None:
    """The holder's own thread does nothing with the lock (as a driver blocked by a slow step):
    its heartbeat thread alone keeps the lock through three stale limits of the lock's clock."""
    study, stale = study_name(), 0.4  # beats every 0.1 s of real time
    ledger = Ledger.open(url, study, GenomeCodec(tiny_space))
    engine, clock = ledger.storage.engine, FakeClock()
    holder = CountedLock(engine, ledger.study_id, study, stale_s=stale, clock=clock)
    other = DriverLock(engine, ledger.study_id, study, stale_s=60, clock=clock)
    holder.acquire()
    try:
        for _ in range(6):
            clock.advance(stale / 2)
            holder.await_beats(2)
            with pytest.raises(
                StorageError, match="is being searched by another driver"
            ) as refusal:
                other.acquire()
            assert f"pid {holder.pid} on {holder.host}" in str(refusal.value)
        holder.check()  # the lock is still its own
        found = holder.holder()
        assert found is not None and found.token == holder.token and found.age_s < stale
        holder.release()
        other.acquire()  # at once, with no time passing: not after the stale limit
        found = other.holder()
        assert found is not None and found.token == other.token
    finally:
        holder.release()
        other.release()


def test_a_silent_holder_is_taken_over_exactly_at_its_stale_limit(
    url: str, tiny_space: SearchSpace
) -> None:
    """A holder that stops beating (here: its next beat is 15 minutes of real time away) is
    refused to others until its heartbeat is ``stale_s`` old by the lock's clock, then taken over;
    its next beat then finds the lock lost."""
    study, stale = study_name(), 3600.0
    ledger = Ledger.open(url, study, GenomeCodec(tiny_space))
    engine, clock = ledger.storage.engine, FakeClock()
    holder = DriverLock(engine, ledger.study_id, study, stale_s=stale, clock=clock)
    other = DriverLock(engine, ledger.study_id, study, stale_s=60, clock=clock)
    holder.acquire()
    try:
        clock.advance(stale - 1)
        with pytest.raises(StorageError, match=r"heartbeat 3599s ago"):
            other.acquire()
        clock.advance(2)
        other.acquire()
        found = other.holder()
        assert found is not None and found.token == other.token and found.age_s == 0
        with pytest.raises(StorageError, match="this driver lost its lock"):
            holder.check()  # no beat for longer than stale_s: beats first, finds the lock gone
        assert holder.lost.is_set()
    finally:
        holder.release()
        other.release()


def test_a_killed_driver_on_this_host_is_taken_over_at_once(
    url: str, drivers: list[Driver]
) -> None:
    holder, other, _ = drivers
    study = study_name()
    assert holder.ask(f"open {study}") == other.ask(f"open {study}") == "opened"
    assert holder.ask("acquire 3600") == "won"
    holder.kill()
    assert other.ask("acquire 60") == "won"  # its pid is gone: no need to wait an hour


@pytest.mark.slow  # waits out a real 5 s stale limit, by the database's own clock
def test_a_killed_driver_on_another_host_is_taken_over_after_the_stale_limit(
    url: str, drivers: list[Driver], tiny_space: SearchSpace
) -> None:
    holder, other, _ = drivers
    study, stale = study_name(), 5.0
    assert holder.ask(f"open {study}") == other.ask(f"open {study}") == "opened"
    assert holder.ask(f"acquire {stale}") == "won"
    holder.kill()
    # as if it had run on another host (so its pid says nothing) and beaten just before it died
    ledger = Ledger.open(url, study, GenomeCodec(tiny_space))
    planted = time.monotonic()
    with ledger.storage.engine.begin() as conn:
        conn.execute(
            LOCK_TABLE.update()
            .where(LOCK_TABLE.c.study_id == ledger.study_id)
            .values(host="another-host", heartbeat=db_epoch())
        )
    answer = other.ask("acquire 60")
    assert answer.startswith("refused: ") and f"pid {holder.pid} on another-host" in answer
    while (answer := other.ask("acquire 60")) != "won":
        assert answer.startswith("refused: ")
        assert time.monotonic() - planted < stale + 60, "never taken over"
        time.sleep(0.2)
    assert time.monotonic() - planted >= stale - 0.1  # not before its heartbeat was stale
    holder_now = ledger.lock_holder()
    assert holder_now is not None and holder_now.pid == other.pid


def test_racing_drivers_exactly_one_wins(url: str, drivers: list[Driver]) -> None:
    for _ in range(4):
        study = study_name()
        for driver in drivers:
            driver.send(f"open {study}")
        assert [d.answer() for d in drivers] == ["opened"] * 3
        for driver in drivers:  # all at once: each one's acquire races the others'
            driver.send("acquire 60")
        answers = [d.answer() for d in drivers]
        assert answers.count("won") == 1, answers
        assert all(a.startswith("refused: ") for a in answers if a != "won"), answers
        assert drivers[answers.index("won")].ask("release") == "released"


def test_a_lost_lock_stops_every_write(url: str, tiny_space: SearchSpace) -> None:
    """If the row is no longer this driver's (here: overwritten), the heartbeat thread notices,
    logs an error, and the ledger refuses every write, naming the study."""
    study = study_name()
    ledger = Ledger.open(url, study, GenomeCodec(tiny_space))
    ledger.acquire(stale_s=0.4)
    assert ledger.lock is not None
    with ledger.storage.engine.begin() as conn:
        conn.execute(
            LOCK_TABLE.update()
            .where(LOCK_TABLE.c.study_id == ledger.study_id)
            .values(token="another-driver", host="another-host", pid=1, heartbeat=db_epoch())
        )
    assert ledger.lock.lost.wait(timeout=60), "the heartbeat thread did not notice"
    with pytest.raises(StorageError, match=f"study {study!r}: this driver lost its lock"):
        ledger.set_attr("x", 1)
    with pytest.raises(StorageError, match="lost its lock"):
        ledger.start((0,) * len(ledger.codec.genes), {})
    ledger.release()  # stops the thread; leaves the other driver's row alone
    holder = ledger.lock_holder()
    assert holder is not None and holder.host == "another-host"
    assert ledger.records() == []


def test_a_write_after_a_long_silence_checks_the_lock_first(
    url: str, tiny_space: SearchSpace
) -> None:
    """When no beat has succeeded for the stale limit (its thread could not reach the database),
    a write first beats on the caller's thread, and is refused if the lock was taken meanwhile."""
    ledger = Ledger.open(url, study_name(), GenomeCodec(tiny_space))
    ledger.acquire(stale_s=30)
    lock = ledger.lock
    assert lock is not None
    ledger.set_attr("x", 1)  # fresh: no beat needed
    lock._stop.set()  # the heartbeat thread is gone: no beat reaches the database
    assert lock._thread is not None
    lock._thread.join()
    lock._last_beat -= 31  # ... for longer than the stale limit, while another driver took it
    with ledger.storage.engine.begin() as conn:
        conn.execute(
            LOCK_TABLE.update()
            .where(LOCK_TABLE.c.study_id == ledger.study_id)
            .values(token="another-driver", host="another-host", pid=1, heartbeat=db_epoch())
        )
    with pytest.raises(StorageError, match="lost its lock"):
        ledger.set_attr("x", 2)
    assert lock.lost.is_set() and ledger.attrs()["x"] == 1
    ledger.release()


def test_heartbeat_and_release_are_harmless_without_the_lock(
    url: str, tiny_space: SearchSpace
) -> None:
    ledger = Ledger.open(url, study_name(), GenomeCodec(tiny_space))
    ledger.heartbeat()
    ledger.release()
    assert ledger.lock_holder() is None
    ledger.acquire()
    ledger.acquire()  # idempotent
    ledger.heartbeat()
    holder = ledger.lock_holder()
    assert holder is not None and holder.stale_s == 60.0 and 0 <= holder.age_s < 60
    ledger.release()
    assert ledger.lock_holder() is None


def test_the_lock_is_judged_by_the_database_clock(url: str) -> None:
    """``db_epoch()`` is the server's time with sub-second resolution (SQLite's
    CURRENT_TIMESTAMP has whole seconds)."""
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.connect() as conn:
            first = conn.execute(sqlalchemy.select(db_epoch())).scalar_one()
            readings = {conn.execute(sqlalchemy.select(db_epoch())).scalar_one() for _ in range(50)}
    finally:
        engine.dispose()
    assert abs(first - time.time()) < 60
    assert any(r != round(r) for r in readings)
