"""The one-way layers (docs/design.md).

`lint-imports` (in `make test`) checks the contracts declared in pyproject.toml; these tests check
what it cannot: that every package of evosnn sits in a layer, and that importing the pure layers
(and the search loop, which talks to workers only through the Executor protocol) really loads
neither torch nor Ray, including through third-party packages.
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


LAYERED = {p.strip() for layer in _contract("layers")["layers"] for p in layer.split("|")}
PURE = _contract("pure")["source_modules"]


@pytest.mark.parametrize(
    "module",
    [
        "evosnn",
        *PURE,
        *[
            f"{p}.{m.name}"
            for p in PURE
            for m in pkgutil.iter_modules([str(ROOT / p.replace(".", "/"))])
        ],
        "evosnn.search",
        "evosnn.search.loop",
        "evosnn.search.driver",
    ],
)
def test_imports_neither_torch_nor_ray(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'torch', 'ray'}} & set(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout
    assert out.strip() == "[]"


def test_every_evosnn_package_is_in_a_layer() -> None:
    packages = {f"evosnn.{m.name}" for m in pkgutil.iter_modules(evosnn.__path__) if m.ispkg}
    modules = {f"evosnn.{m.name}" for m in pkgutil.iter_modules(evosnn.__path__) if not m.ispkg}
    assert not modules, f"evosnn/ holds packages only; move {sorted(modules)} into one"
    assert packages == LAYERED, f"layers contract and packages differ: {packages ^ LAYERED}"


def test_supernet_and_workers_forbid_the_application() -> None:
    supernet = set(_contract("supernet")["forbidden_modules"])
    assert LAYERED - {"evosnn.core"} <= supernet
    workers = set(_contract("workers")["forbidden_modules"])
    assert LAYERED - {"evosnn.core", "evosnn.objectives", "evosnn.engines"} <= workers
