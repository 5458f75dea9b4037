"""Every file-output flag is checked when the flags are read: a folder, a path under a file or
an unwritable folder is one error line at once, not a traceback after the whole computation."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evosnn.cli import main
from tests.conftest import ROOT, tiny_dict


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_dict()))
    return path


@pytest.mark.parametrize(
    ("target", "words"),
    [
        ("{tmp}", "argument --json: {tmp}: is a folder, not a file; name a file"),
        ("{tmp}/file/x.json", "argument --json: {tmp}/file/x.json: lies under the file"),
        ("/proc/x.json", "argument --json: /proc/x.json: cannot write in /proc"),
    ],
    ids=["folder", "under-a-file", "proc"],
)
def test_a_file_output_flag_is_checked_when_the_flags_are_read(
    tmp_path: Path, tiny_space: Path, target: str, words: str
) -> None:
    (tmp_path / "file").write_text("")
    argv = ["supernet", "sensitivity", "--space", str(tiny_space), "--synthetic"]
    result = subprocess.run(
        [sys.executable, "-m", "evosnn.cli", *argv, "--json", target.format(tmp=tmp_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words.format(tmp=tmp_path) in lines[0], result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_sensitivity_writes_its_json_into_a_new_folder(tmp_path: Path, tiny_space: Path) -> None:
    target = tmp_path / "a" / "b" / "counts.json"
    argv = ["supernet", "sensitivity", "--space", str(tiny_space), "--synthetic"]
    small = ["--subnets", "2", "--images", "8", "--recal-batches", "0", "--json", str(target)]
    assert main([*argv, *small]) == 0
    counts: Any = yaml.safe_load(target.read_text())
    assert isinstance(counts, dict) and counts
