"""DESIGN.md's one-way dependency rules.

`lint-imports` (in `make test`) checks the contracts declared in pyproject.toml; these tests check
what it cannot: that importing the core really loads neither torch nor Ray (including through
third-party packages), and that every module of the evosnn package is classified in the contracts.
"""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import evosnn

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _contract(contract_id: str) -> dict[str, Any]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (contract,) = [c for c in config["contracts"] if c["id"] == contract_id]
    return dict(contract)


CORE = _contract("core")["source_modules"]
APPLICATION = [m for m in _contract("core")["forbidden_modules"] if m.startswith("evosnn.")]


@pytest.mark.parametrize(
    "module",
    [
        "evosnn",
        *CORE,
        "evosnn.search.loop",
        *[f"evosnn.engines.{e}_engine" for e in ("pymoo", "deap", "optuna", "random", "surrogate")],
    ],
)
def test_imports_neither_torch_nor_ray(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'torch', 'ray'}} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_every_evosnn_module_is_core_or_application() -> None:
    modules = {f"evosnn.{m.name}" for m in pkgutil.iter_modules(evosnn.__path__)}
    unclassified = modules - set(CORE) - set(APPLICATION)
    assert not unclassified, f"add {sorted(unclassified)} to the contracts in pyproject.toml"
    assert not set(CORE) & set(APPLICATION)
    assert set(CORE) | set(APPLICATION) == modules, "a contract names a module that is gone"


def test_supernet_and_workers_forbid_the_whole_application() -> None:
    allowed_in_supernet = {"evosnn.config", "evosnn.errors"}
    supernet = set(_contract("supernet")["forbidden_modules"])
    assert (set(CORE) | set(APPLICATION)) - allowed_in_supernet <= supernet
    assert set(APPLICATION) <= set(_contract("workers")["forbidden_modules"])
