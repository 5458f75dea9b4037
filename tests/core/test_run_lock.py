"""The run-folder lock: one process at a time, a dead holder taken over, released on every exit.

Holders are real processes (:mod:`tests.core.holders`) answering one line per command on stdout; each test
waits on those answers (or on a process's exit), never on timing luck.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from evosnn.core import run_lock as lock_module
from evosnn.core.outputs import OutputError
from evosnn.core.run_lock import LOCK_NAME, FolderInUse, RunFolderHolder, held, run_lock
from tests.core.holders import Holder, holders, start_holder

__all__ = ["holders"]  # the fixture, used by the tests below


def _dead_pid() -> int:
    """The pid of a process of this host that has exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_second_process_is_refused_naming_the_holder(
    tmp_path: Path, holders: list[Holder]
) -> None:
    folder = tmp_path / "run"
    first, second = start_holder(holders), start_holder(holders)
    assert first.ask(f"lock {folder}") == f"held {first.pid}"
    answer = second.ask(f"lock {folder}")
    assert answer.startswith(f"refused: --out {folder} is in use by pid {first.pid} on ")
    assert socket.gethostname() in answer and " since 20" in answer and "(-c)" in answer
    assert "wait for it to finish or choose another folder" in answer
    holder = held(folder)
    assert holder is not None
    assert holder == RunFolderHolder(first.pid, socket.gethostname(), holder.since, "-c")
    assert first.ask("release") == "released"
    assert not (folder / LOCK_NAME).exists()  # released: the lock file is gone
    assert held(folder) is None
    assert second.ask(f"lock {folder}") == f"held {second.pid}"


def test_a_lock_left_by_a_killed_holder_is_taken_over(
    tmp_path: Path, holders: list[Holder]
) -> None:
    folder = tmp_path / "run"
    first = start_holder(holders)
    assert first.ask(f"lock {folder}") == f"held {first.pid}"
    first.kill()  # kill -9: no cleanup ran
    left = json.loads((folder / LOCK_NAME).read_text())
    assert left["pid"] == first.pid  # the file is still there, naming the dead holder
    assert held(folder) is None  # ... but nobody holds it
    second = start_holder(holders)
    assert second.ask(f"lock {folder}") == f"held {second.pid}"
    assert json.loads((folder / LOCK_NAME).read_text())["pid"] == second.pid


def test_a_descendant_keeping_a_dead_holders_lock_does_not_block(
    tmp_path: Path, holders: list[Holder]
) -> None:
    folder = tmp_path / "run"
    first = start_holder(holders)
    assert first.ask(f"lock {folder}") == f"held {first.pid}"
    child = int(first.ask("child").split()[1])
    try:
        first.kill()  # its child still has the locked file open: the flock stays taken
        left = held(folder)
        assert left is not None and left.pid == first.pid and left.gone()
        second = start_holder(holders)
        assert second.ask(f"lock {folder}") == f"held {second.pid}"  # the pid rule
        third = start_holder(holders)
        assert third.ask(f"lock {folder}").startswith(
            f"refused: --out {folder} is in use by pid {second.pid}"
        )
    finally:
        os.kill(child, signal.SIGKILL)


def test_a_forked_child_does_not_keep_the_lock(tmp_path: Path, holders: list[Holder]) -> None:
    first = start_holder(holders)
    assert first.ask(f"lock {tmp_path}") == f"held {first.pid}"
    assert first.ask("fork") == "child closed it"


@pytest.mark.parametrize(
    "left", ["nothing", "a-killed-holder", "a-killed-holders-child"], ids=lambda left: left
)
def test_of_racing_processes_exactly_one_wins(
    tmp_path: Path, holders: list[Holder], left: str
) -> None:
    folder = tmp_path / "run"
    child = None
    if left != "nothing":
        killed = start_holder(holders)
        assert killed.ask(f"lock {folder}") == f"held {killed.pid}"
        if left == "a-killed-holders-child":
            child = int(killed.ask("child").split()[1])
        killed.kill()
    try:
        racers = [start_holder(holders) for _ in range(4)]
        assert all(racer.ask("ping") == "pong" for racer in racers)  # all started
        for racer in racers:  # all told at once, answers read after
            assert racer.process.stdin is not None
            racer.process.stdin.write(f"lock {folder}\n")
            racer.process.stdin.flush()
        answers = [r.process.stdout.readline() for r in racers]  # type: ignore[union-attr]
    finally:
        if child is not None:
            os.kill(child, signal.SIGKILL)
    won = [a for a in answers if a.startswith("held")]
    assert len(won) == 1, answers
    winner = int(won[0].split()[1])
    assert all(f"in use by pid {winner} " in a for a in answers if a not in won), answers


def test_a_file_lock_leaves_the_other_files_of_the_folder_free(
    tmp_path: Path, holders: list[Holder]
) -> None:
    first, second = start_holder(holders), start_holder(holders)
    assert first.ask(f"lock {tmp_path} a.pt") == f"held {first.pid}"
    assert second.ask(f"lock {tmp_path} b.pt") == f"held {second.pid}"
    answer = second.ask(f"lock {tmp_path} a.pt")
    assert answer.startswith(f"refused: {tmp_path / 'a.pt'} is in use by pid {first.pid}")


def test_reentrant_released_on_exceptions_and_a_folder_made_for_nothing_removed(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "a" / "run"
    with run_lock(folder):
        with run_lock(folder):  # a library function locking its caller's folder again
            assert held(folder) is not None and held(folder).pid == os.getpid()  # type: ignore[union-attr]
        assert (folder / LOCK_NAME).is_file()  # still held by the outer block
    assert not (tmp_path / "a").exists()  # made for the lock, left empty: removed
    with pytest.raises(RuntimeError), run_lock(folder):
        (folder / "result").write_text("kept")
        raise RuntimeError("the command failed")
    assert not (folder / LOCK_NAME).exists()
    assert (folder / "result").read_text() == "kept"  # what was written stays


def test_an_unwritable_or_filed_folder_is_one_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with (
        pytest.raises(OutputError, match="cannot create the folder"),
        run_lock(tmp_path / "file" / "run"),
    ):
        pass
    with pytest.raises(OutputError, match="cannot create the folder"), run_lock("/proc/run"):
        pass


def test_without_flock_the_file_and_the_pid_rule_decide(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lock_module, "_try_flock", lambda fd, shared=False: None)
    lock = tmp_path / LOCK_NAME

    def left_by(pid: int, host: str) -> None:
        lock.write_text(json.dumps({"pid": pid, "host": host, "since": "then", "command": "x"}))

    left_by(_dead_pid(), socket.gethostname())  # gone on this host: taken over
    with run_lock(tmp_path):
        assert json.loads(lock.read_text())["pid"] == os.getpid()
    left_by(1, socket.gethostname())  # pid 1 is alive
    with pytest.raises(FolderInUse, match="in use by pid 1 on "), run_lock(tmp_path):
        pass
    left_by(_dead_pid(), "elsewhere")  # another host's pid cannot be judged here
    with (
        pytest.raises(FolderInUse, match=f"if that process is gone, delete {lock}"),
        run_lock(tmp_path),
    ):
        pass
