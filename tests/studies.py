"""A small real study for the tests that need one: the tiny space searched in this process."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import tiny_dict


def searched_tiny_study(folder: Path, checkpoint: Path, study: str = "tiny") -> str:
    """Search the tiny space on ``checkpoint`` (2 x 1 genomes, no Ray) into ``folder/study.db``;
    returns the study's storage URL."""
    from evosnn.core.space import SearchSpace
    from evosnn.search import SearchSettings, search_study

    url = f"sqlite:///{folder / 'study.db'}"
    settings = SearchSettings(population=2, generations=1, workers=0, seed=0)
    search_study(
        SearchSpace.from_dict(tiny_dict()), checkpoint, url, study, settings, progress=False
    )
    return url


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite study database (WAL mode: a file copy may miss trials)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
