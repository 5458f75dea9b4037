"""Markers say what a test starts: a test module that starts Ray, talks to PostgreSQL or starts a
server of its own carries ``ray``, ``postgres`` or ``server`` (pyproject.toml lists them).

Read from the source, without importing or running anything: a test needs a marker when its own
code, a fixture it takes, or a helper it calls (in its module, or imported from ``tests.*``,
followed to any depth) contains what starts the thing (:data:`STARTS`). The marker may sit on the
test, on the module's ``pytestmark``, in a fixture's ``params`` (pytest ignores other marks on
fixtures), or on the one ``pytest.param``/case of a list that starts it. A CLI run that starts Ray
only by ``--workers``' default, or by ``train --tune``, is not seen: mark it by hand.
"""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

TESTS = Path(__file__).resolve().parent

#: What in a test's code starts the thing each marker names (matched against ``ast.unparse``).
STARTS: dict[str, re.Pattern[str]] = {
    "ray": re.compile(
        r"\blocal_ray\(|\bray\.init\(|\bCluster\(|'start', '--head'|\bRayExecutor\("
        r"|\btrain_supernet_parallel\(|\brun_tune\(|\brun_data_parallel\(|'--workers', '[1-9]"
        r"|\bworkers=[1-9]|'workers': [1-9]"
    ),
    "postgres": re.compile(r"@127\.0\.0\.1:5432/|\bpg_ctlcluster\b"),
    "server": re.compile(r"'evosnn\.cli', 'dashboard'"),
}


@dataclass
class Name:
    """A top-level function, class or assignment of a test module or a ``tests.*`` helper."""

    own: set[str] = field(default_factory=set)  # markers its own code needs and does not carry
    marked: set[str] = field(default_factory=set)  # markers on its decorators
    refs: set[tuple[Path, str]] = field(default_factory=set)  # names it uses


def _needed(code: str) -> set[str]:
    return {mark for mark, pattern in STARTS.items() if pattern.search(code)}


def _marks(code: str) -> set[str]:
    return set(re.findall(r"\bmark\.(\w+)", code))


class Module:
    """The names of one file, and where its imported ``tests.*`` names come from."""

    def __init__(self, path: Path, source: str | None = None) -> None:
        self.path = path
        self.tree = ast.parse(source if source is not None else path.read_text())
        self.imported: dict[str, tuple[Path, str]] = {}
        for node in self.tree.body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tests."):
                module_path = TESTS.parent / Path(*(node.module or "").split("."))
                for alias in node.names:
                    self.imported[alias.asname or alias.name] = (
                        module_path.with_suffix(".py"),
                        alias.name,
                    )
        self.names: dict[str, Name] = {}
        self.autouse: list[str] = []  # fixtures every test of the module (or folder) takes
        self.pytestmark: set[str] = set()
        for node in self.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                decorators = [ast.unparse(d) for d in node.decorator_list]
                fixture = [d for d in decorators if re.match(r"(pytest\.)?fixture\b", d)]
                if "autouse=True" in " ".join(fixture):
                    self.autouse.append(node.name)
                # pytest applies marks to tests, and to a fixture's params; to nothing else
                marked = decorators if node.name.startswith("test_") else fixture
                body = ast.unparse(ast.Module(body=node.body, type_ignores=[]))
                self._add(node.name, node, body, _marks(" ".join(marked)))
            elif isinstance(node, ast.Assign | ast.AnnAssign):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                for target in targets:
                    if isinstance(target, ast.Name):
                        if target.id == "pytestmark" and node.value is not None:
                            self.pytestmark = _marks(ast.unparse(node.value))
                        else:
                            self._add(target.id, node.value, None, set())

    def _add(self, name: str, node: ast.AST | None, code: str | None, marked: set[str]) -> None:
        entry = Name(marked=marked)
        if node is not None:
            cases = node.elts if isinstance(node, ast.List | ast.Tuple) else []
            if code is None and cases and all(isinstance(e, ast.Call) for e in cases):
                for element in cases:  # a list of cases: each one carries its own marks
                    text = ast.unparse(element)
                    entry.own |= _needed(text) - _marks(text)
            else:
                entry.own = _needed(code if code is not None else ast.unparse(node))
            for sub in ast.walk(node):
                if isinstance(sub, ast.Name) and sub.id != name:
                    entry.refs.add((self.path, sub.id))
                elif isinstance(sub, ast.arg):
                    entry.refs.add((self.path, sub.arg))
        self.names[name] = entry


class Index:
    """Test modules and the helpers they import, with each name's markers needed, transitively."""

    def __init__(self) -> None:
        self.modules: dict[Path, Module] = {}
        self.conftest = [TESTS / "conftest.py"]
        self.needed: dict[tuple[Path, str], set[str]] = {}

    def module(self, path: Path, source: str | None = None) -> Module | None:
        if path not in self.modules:
            if source is None and not path.is_file():
                return None
            self.modules[path] = Module(path, source)
        return self.modules[path]

    def resolve(self, path: Path, name: str) -> tuple[Path, Name] | None:
        module = self.module(path)
        if module is None:
            return None
        if name in module.names:
            return path, module.names[name]
        if name in module.imported:
            return self.resolve(*module.imported[name])
        for conftest in [path.parent / "conftest.py", *self.conftest]:  # fixtures
            found = self.module(conftest)
            if found is not None and conftest != path and name in found.names:
                return conftest, found.names[name]
        return None

    def needs(self, path: Path, name: str) -> set[str]:
        """Markers ``name`` needs that neither it nor the names it uses on the way carry."""
        found = self.resolve(path, name)
        if found is None:
            return set()
        key = (found[0], name)
        if key not in self.needed:
            self.needed[key] = set()  # a name that uses itself, on the way: nothing more
            entry = found[1]
            needed = set(entry.own)
            for ref in entry.refs:
                needed |= self.needs(*ref)
            self.needed[key] = needed - entry.marked
        return self.needed[key]


def unmarked(index: Index, path: Path) -> list[str]:
    """``test (marker)`` for every test of ``path`` that needs a marker it does not carry."""
    module = index.module(path)
    assert module is not None
    autouse: set[str] = set()
    for where in (path, path.parent / "conftest.py", TESTS / "conftest.py"):
        found = index.module(where)
        for fixture in found.autouse if found is not None else []:
            autouse |= index.needs(where, fixture)
    missing = []
    for name in module.names:
        if name.startswith("test_"):
            for mark in sorted((index.needs(path, name) | autouse) - module.pytestmark):
                missing.append(f"{path.relative_to(TESTS.parent)}::{name} ({mark})")
    return missing


def test_every_test_that_starts_ray_postgres_or_a_server_is_marked() -> None:
    index = Index()
    modules = sorted(set(TESTS.rglob("test_*.py")) - {Path(__file__).resolve()})
    missing = [line for path in modules for line in unmarked(index, path)]
    assert missing == [], "mark these (pytest.mark.<marker>, or the module's pytestmark):\n" + (
        "\n".join(missing)
    )


def test_the_check_finds_an_unmarked_test_through_a_fixture_and_a_helper() -> None:
    source = textwrap.dedent(
        """
        import pytest
        from tests.conftest import local_ray

        def helper():
            with local_ray():
                pass

        @pytest.fixture
        def cluster():
            helper()

        @pytest.fixture(params=["sqlite", pytest.param("pg", marks=pytest.mark.postgres)])
        def url(request):
            return "postgresql://postgres@127.0.0.1:5432/test"

        CASES = [pytest.param(("a", "--workers", "0")), pytest.param(("b", "--workers", "1"), marks=pytest.mark.ray)]

        def test_direct():
            helper()

        def test_fixture(cluster):
            pass

        @pytest.mark.ray
        def test_marked(cluster):
            pass

        @pytest.fixture(autouse=True)
        @pytest.mark.postgres  # no effect on a fixture: does not count
        def database():
            return "postgresql://postgres@127.0.0.1:5432/test"

        def test_url(url):
            pass

        @pytest.mark.parametrize("case", CASES)
        def test_cases(case):
            pass
        """
    )
    index, path = Index(), TESTS / "integration" / "test_planted.py"
    index.module(path, source)
    planted = "tests/integration/test_planted.py::"
    assert unmarked(index, path) == [
        f"{planted}test_direct (postgres)",
        f"{planted}test_direct (ray)",
        f"{planted}test_fixture (postgres)",
        f"{planted}test_fixture (ray)",
        f"{planted}test_marked (postgres)",
        f"{planted}test_url (postgres)",
        f"{planted}test_cases (postgres)",
    ]
    index, path = Index(), TESTS / "integration" / "test_planted_marked.py"
    marks = "import pytest\npytestmark = [pytest.mark.ray, pytest.mark.postgres]\n"
    index.module(path, marks + source)
    assert unmarked(index, path) == []
