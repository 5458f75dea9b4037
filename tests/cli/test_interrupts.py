"""Ctrl-C gives one line and one exit status, 130, whichever command it stops (issue 43).

Real ``evosnn`` subprocesses get real SIGINTs once they are at work (the test waits for the line
saying so): ``supernet train`` three in quick succession (the first finishes the step and writes
a resumable checkpoint, the others must not turn the cleanup into tracebacks), ``search`` one.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from evosnn.cli import INTERRUPTED
from tests.conftest import ROOT

pytestmark = pytest.mark.slow


def _start(args: list[str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "evosnn.cli", *args],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _interrupt_when(process: subprocess.Popen[str], says: str, times: int) -> str:
    """Read the output until a line holds ``says``, send ``times`` SIGINTs, return the output."""
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        if says in line:
            break
    else:
        raise AssertionError("".join(seen)[-3000:])
    for _ in range(times):
        process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=300)
    return "".join(seen) + rest


def _assert_one_interrupt_line(status: int, output: str) -> None:
    assert status == INTERRUPTED, output[-3000:]
    assert "Traceback" not in output and "Exception ignored" not in output, output[-3000:]
    assert output.strip().splitlines()[-1].startswith("evosnn: interrupted"), output[-3000:]


def test_three_quick_ctrl_c_stop_supernet_training_with_one_line(tmp_path: Path) -> None:
    train = _start(
        ["supernet", "train", "--space", "digits-tiny", "--out", "r", "--epochs", "40"], tmp_path
    )
    output = _interrupt_when(train, "supernet epoch 1/40", times=3)
    _assert_one_interrupt_line(train.returncode, output)


def test_ctrl_c_stops_a_search_with_the_same_status(tmp_path: Path, tiny_checkpoint: Path) -> None:
    from tests.conftest import tiny_dict, write_space

    space = write_space(tmp_path, tiny_dict())
    search = _start(
        [
            "-v",
            "search",
            "--space",
            str(space),
            "--supernet",
            str(tiny_checkpoint),
            "--storage",
            f"sqlite:///{tmp_path / 's.db'}",
            "--study",
            "s",
            "--workers",
            "0",
            "--population",
            "4",
            "--generations",
            "50",
        ],
        tmp_path,
    )
    output = _interrupt_when(search, "generation", times=1)
    _assert_one_interrupt_line(search.returncode, output)
