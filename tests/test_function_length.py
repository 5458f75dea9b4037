"""No function in the product packages is longer than a reader can hold: 80 lines at most.

Counted with ``ast`` from a ``def`` line to its last line (docstring and decorators' body
included, decorators' own lines not), for every function and method, nested ones too.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("evosnn", "supernet", "workers")
LIMIT = 80


def function_lengths(root: Path = ROOT) -> list[tuple[int, str]]:
    """(lines, ``path::name``) of every function under the product packages, longest first."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    assert node.end_lineno is not None
                    length = node.end_lineno - node.lineno + 1
                    found.append((length, f"{path.relative_to(root)}::{node.name}"))
    return sorted(found, reverse=True)


def test_no_function_is_longer_than_80_lines() -> None:
    too_long = [f"{where} ({lines} lines)" for lines, where in function_lengths() if lines > LIMIT]
    assert not too_long, "split these functions: " + ", ".join(too_long)


def test_the_counter_sees_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(LIMIT))
    (tmp_path / "evosnn").mkdir()
    (tmp_path / "evosnn" / "long.py").write_text(f"def long():\n{body}\n")
    for package in PACKAGES[1:]:
        (tmp_path / package).mkdir()
    assert function_lengths(tmp_path) == [(LIMIT + 1, "evosnn/long.py::long")]
