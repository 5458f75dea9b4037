"""One name per concept: no two public top-level functions or classes of evosnn share a name.

A reader who meets ``run_search`` or ``Report`` should find one thing of that name (issue 38).
Read with ``ast`` (nothing is imported); a name is public unless it starts with ``_``.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def public_names(root: Path) -> dict[str, list[str]]:
    """Public top-level function and class names of ``root/evosnn`` -> the modules defining them."""
    found: dict[str, list[str]] = defaultdict(list)
    for path in sorted((root / "evosnn").rglob("*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            kinds = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
            if isinstance(node, kinds) and not node.name.startswith("_"):
                found[node.name].append(str(path.relative_to(root)))
    return found


def test_no_two_public_definitions_share_a_name() -> None:
    twice = {name: where for name, where in public_names(ROOT).items() if len(where) > 1}
    assert not twice, f"rename one of each: {twice}"


def test_the_check_sees_a_repeated_name(tmp_path: Path) -> None:
    (tmp_path / "evosnn" / "a").mkdir(parents=True)
    (tmp_path / "evosnn" / "one.py").write_text("def report():\n    pass\n")
    (tmp_path / "evosnn" / "a" / "two.py").write_text("class report:\n    pass\n\ndef _x(): ...\n")
    assert public_names(tmp_path)["report"] == ["evosnn/a/two.py", "evosnn/one.py"]
    assert "_x" not in public_names(tmp_path)
