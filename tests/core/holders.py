"""Processes that hold run-folder locks for tests: each answers one line per command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT

#: A process that takes locks when told: ``lock FOLDER [NAME]`` answers ``held PID`` or
#: ``refused: MESSAGE``; ``child`` starts a process that keeps this one's lock file open (as a
#: descendant that outlives a killed holder would) and answers ``child PID``; ``fork`` forks a
#: child that answers whether it still has the lock file open; ``release`` lets go; ``ping``
#: answers ``pong`` (the process is ready).
HOLDER = """
import os, subprocess, sys
from contextlib import ExitStack
from evosnn.core import run_lock as lock_module
from evosnn.core.run_lock import FolderInUse, run_lock

stack = ExitStack()
for line in sys.stdin:
    command, *rest = line.split()
    if command == "lock":
        try:
            stack.enter_context(run_lock(rest[0], name=rest[1] if len(rest) > 1 else None))
            answer = f"held {os.getpid()}"
        except FolderInUse as exc:
            answer = f"refused: {exc}"
    elif command == "child":
        fd = next(iter(lock_module._HELD.values())).fd
        child = subprocess.Popen(
            [sys.executable, "-c", "import signal; signal.pause()"],
            stdin=subprocess.DEVNULL, pass_fds=(fd,), start_new_session=True,
        )
        answer = f"child {child.pid}"
    elif command == "fork":
        fd = next(iter(lock_module._HELD.values())).fd
        pid = os.fork()
        if pid == 0:
            try:
                os.fstat(fd)
                print("child still has it", flush=True)
            except OSError:
                print("child closed it", flush=True)
            os._exit(0)
        os.waitpid(pid, 0)
        continue
    elif command == "release":
        stack.close()
        answer = "released"
    elif command == "ping":
        answer = "pong"
    print(answer, flush=True)
"""


class Holder:
    """A :data:`HOLDER` process; :meth:`ask` sends a command and returns its answer line."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", HOLDER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.pid = self.process.pid

    def ask(self, command: str) -> str:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.process.stdout.readline().strip()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            self.process.wait(timeout=60)


@pytest.fixture
def holders() -> Iterator[list[Holder]]:
    """Holder processes started by the test, all ended after it."""
    started: list[Holder] = []
    yield started
    for holder in started:
        if holder.process.poll() is None:
            holder.kill()


def start_holder(holders: list[Holder]) -> Holder:
    """A new :class:`Holder`, ended after the test (``holders`` is the fixture's list)."""
    holder = Holder()
    holders.append(holder)
    return holder
