"""Benchmark results carry their provenance and no machine paths."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from benchmarks.common import ROOT, provenance, strip_paths, write_json


def test_paths_become_repository_relative_or_anonymous() -> None:
    value = {"a": f"{ROOT}/runs/x.json", "b": ["see /home/me/data/cifar10 now"], "c": 3}
    assert strip_paths(value) == {"a": "runs/x.json", "b": ["see <outside>/cifar10 now"], "c": 3}
    assert strip_paths(ROOT / "benchmarks") == "benchmarks"


def test_provenance_names_the_commit_versions_and_command() -> None:
    record = provenance([str(ROOT / "benchmarks" / "bench_x.py"), "--out", f"{ROOT}/runs/a"])
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert record["commit"] == head and isinstance(record["dirty"], bool)
    assert record["command"] == "python -m benchmarks.bench_x --out runs/a"
    assert record["packages"]["torch"] and record["packages"]["evosnn"]


def test_write_json_adds_provenance(tmp_path: Path) -> None:
    path = write_json(tmp_path / "r.json", {"out": str(tmp_path / "x"), "n": 1.5})
    document = json.loads(path.read_text())
    assert document["n"] == 1.5 and document["out"] == "<outside>/x"
    assert set(document["provenance"]) >= {"commit", "packages", "command", "python"}
