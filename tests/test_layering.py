"""DESIGN.md's one-way dependency rules: the core types and the engines need no torch and no Ray."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "evosnn",
        "evosnn.sizes",
        "evosnn.energy",
        "evosnn.fitness",
        "evosnn.evaluation",
        "evosnn.engines",
        "evosnn.engines.pymoo_engine",
        "evosnn.engines.deap_engine",
        "evosnn.engines.optuna_engine",
        "evosnn.engines.random_engine",
    ],
)
def test_imports_neither_torch_nor_ray(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'torch', 'ray'}} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"
