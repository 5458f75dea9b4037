"""The search loop, its strategies and the Executor protocol import neither torch nor Ray."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "evosnn.executor",
        "evosnn.search",
        "evosnn.search.loop",
        "evosnn.search.dedup",
        "evosnn.search.filter",
        "evosnn.search.failures",
        "evosnn.search.history",
        "evosnn.search.driver",
    ],
)
def test_imports_neither_torch_nor_ray(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'torch', 'ray'}} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
