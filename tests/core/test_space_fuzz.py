"""Bad input, tried systematically: fuzzed search-space and export files give one clear error that
names the file (an EvosnnError), never a traceback from deeper down; export file names cannot
leave the output folder."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import EvosnnError
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.reporting.export import EXPORT_FORMAT, export_study, load_export
from evosnn.storage.ledger import Ledger
from tests.conftest import tiny_dict
from tests.seed import seed_study

leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.lists(st.integers(min_value=-5, max_value=10**6), max_size=5),
)
values = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


def paths(data: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every key path into nested dicts and lists."""
    found = [prefix] if prefix else []
    if isinstance(data, dict):
        for k, v in data.items():
            found += paths(v, (*prefix, k))
    elif isinstance(data, list):
        for i, v in enumerate(data):
            found += paths(v, (*prefix, i))
    return found


@st.composite
def mutated(draw: st.DrawFn, base: dict[str, Any]) -> dict[str, Any]:
    """``base`` with a few values replaced, keys deleted or unknown keys added."""
    data = copy.deepcopy(base)
    for _ in range(draw(st.integers(min_value=1, max_value=3))):
        path = draw(st.sampled_from(paths(data) or [("name",)]))
        parent: Any = data
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "add"]))
        if action == "replace":
            parent[path[-1]] = draw(values)
        elif action == "delete" and isinstance(parent, dict):
            parent.pop(path[-1], None)
        elif isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=8))] = draw(values)
    return data


def check_file(loader: Any, document: Any, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed{suffix}"
        path.write_text(yaml.safe_dump(document, allow_unicode=True))
        try:
            loader(path)
        except EvosnnError as exc:
            assert "fuzzed" in str(exc), str(exc)  # the message names the file


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(tiny_dict()))
def test_fuzzed_space_files(document: dict[str, Any]) -> None:
    check_file(load_space, document, ".yaml")


def export_document() -> dict[str, Any]:
    space = SearchSpace.from_dict(tiny_dict())
    return {
        "format": EXPORT_FORMAT,
        "config": SubnetConfig.largest(space).to_dict(),
        "metrics": {"accuracy": 0.9, "energy_mj": 0.001},
        "provenance": {"study": "s", "trial": 3},
        "space": tiny_dict(),
    }


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(export_document()))
def test_fuzzed_export_files(document: dict[str, Any]) -> None:
    check_file(load_export, document, ".yaml")


@settings(max_examples=50, deadline=None)
@given(values)
def test_arbitrary_yaml_values(document: Any) -> None:
    check_file(load_space, document, ".yaml")
    check_file(load_export, document, ".yaml")


def test_unmodified_fixtures_load() -> None:  # the fuzzers start from valid documents
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "a.yaml"
        path.write_text(yaml.safe_dump(export_document()))
        assert load_export(path).config.depth == 2


def test_export_file_names_stay_in_the_output_folder(tmp_path: Path) -> None:
    space = SearchSpace.from_dict(tiny_dict())
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    study = "../../escape/..\\x\0y"
    seed_study(url, study, space, 20)
    Ledger.open(url, study, GenomeCodec(space)).set_attr("space", space.to_dict())
    out = tmp_path / "out"
    written = export_study(url, study, out, pick="pareto")
    assert written
    for path in written:
        assert path.resolve().parent == out.resolve()
        assert path.name.startswith("trial-") and path.suffix == ".yaml"
    assert {p.name for p in tmp_path.iterdir() if not p.name.startswith("ledger.db")} == {"out"}
