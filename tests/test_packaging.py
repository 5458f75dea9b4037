"""pyproject.toml is complete for a release, and its package list matches the packages on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from setuptools import find_packages

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _pyproject() -> dict[str, Any]:
    return dict(tomllib.loads((ROOT / "pyproject.toml").read_text()))


def test_every_package_on_disk_is_listed_and_the_spaces_are_package_data() -> None:
    setuptools = _pyproject()["tool"]["setuptools"]
    on_disk = set(find_packages(ROOT, include=["evosnn*", "supernet*", "workers*"]))
    assert set(setuptools["packages"]) == on_disk | {"evosnn.search_spaces"}
    assert setuptools["package-dir"] == {"evosnn.search_spaces": "search_spaces"}
    assert setuptools["package-data"]["evosnn.search_spaces"] == ["*.yaml"]
    assert sorted((ROOT / "search_spaces").glob("*.yaml"))


def test_release_metadata() -> None:
    project = _pyproject()["project"]
    assert project["license"] == "Apache-2.0" and project["license-files"] == ["LICENSE"]
    assert "Apache License" in (ROOT / "LICENSE").read_text()
    assert project["readme"] == "README.md" and (ROOT / "README.md").stat().st_size <= 12 * 1024
    assert {"Homepage", "Documentation", "Source", "Issues"} <= set(project["urls"])
    assert any(
        c.startswith("Programming Language :: Python :: 3.10") for c in project["classifiers"]
    )
    assert {"mkdocs-material>=9.5", "mkdocstrings[python]>=0.26"} <= set(
        project["optional-dependencies"]["docs"]
    )


@pytest.mark.slow
def test_the_wheel_holds_the_shipped_spaces(tmp_path: Path) -> None:
    import subprocess
    import sys
    import zipfile

    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    (wheel,) = tmp_path.glob("evosnn-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "evosnn/search_spaces/cifar10-spikformer.yaml" in names
    assert "evosnn/api/__init__.py" in names and "evosnn/py.typed" in names
    assert not any(n.startswith(("tests/", "benchmarks/", "docs/")) for n in names)
