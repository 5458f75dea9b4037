"""Where a SQLite study lives is checked before any work, and a read-only one is named at once.

Issue 43: a mistyped folder was created, a dashboard served an empty database at a mistyped path,
a path under a file said "File exists", and a read-only database was retried for minutes. Real
files, a real SQLite database made immutable with ``chattr +i`` (root) or read-only by its mode.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from evosnn.core.errors import StorageError
from evosnn.storage.ledger import open_storage, read_study_attrs
from evosnn.storage.retry import retry


def _url(path: Path) -> str:
    return f"sqlite:///{path}"


def test_a_new_database_in_a_missing_folder_is_refused_and_nothing_created(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match=r"the folder .*nope.* does not exist"):
        open_storage(_url(tmp_path / "nope" / "dir" / "x.db"))
    assert list(tmp_path.iterdir()) == []


def test_a_path_under_a_file_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("not a folder")
    with pytest.raises(StorageError, match=r"lies under the file .*f; choose a folder"):
        open_storage(_url(tmp_path / "f" / "x.db"))


def test_a_folder_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="is a folder"):
        open_storage(_url(tmp_path))


def test_reading_a_missing_database_creates_nothing(tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="no such study database"):
        open_storage(_url(tmp_path / "typo.db"), create=False)
    assert not (tmp_path / "typo.db").exists()


@contextlib.contextmanager
def _read_only(path: Path) -> Iterator[None]:
    """``path`` unwritable for this process: immutable for root, mode 0444 otherwise."""
    if os.geteuid() == 0:
        if subprocess.run(["chattr", "+i", str(path)], capture_output=True).returncode:
            pytest.skip("chattr +i is not supported on this file system")
        try:
            yield
        finally:
            subprocess.run(["chattr", "-i", str(path)], check=True)
    else:
        path.chmod(0o444)
        try:
            yield
        finally:
            path.chmod(0o644)


def test_a_read_only_database_is_named_at_once_and_still_read(tmp_path: Path) -> None:
    import optuna

    path = tmp_path / "s.db"
    optuna.create_study(study_name="s", storage=_url(path)).set_user_attr("k", 1)
    with _read_only(path):
        started = time.monotonic()
        with pytest.raises(StorageError, match="read-only") as refused:
            open_storage(_url(path))
        assert str(path) in str(refused.value)
        assert time.monotonic() - started < 60  # not the 120 s of retries (a bound, not a timing)
        assert read_study_attrs(_url(path), "s") == {"k": 1}  # reading needs no write


def test_a_write_refused_as_read_only_is_not_retried(tmp_path: Path) -> None:
    path = tmp_path / "w.db"
    with sqlite3.connect(path) as db:
        db.execute("create table t (x)")
    attempts = []

    def write() -> None:
        attempts.append(1)
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as db:
            db.execute("insert into t values (1)")

    with pytest.raises(StorageError, match="annotating trial 6: the study database is read-only"):
        retry(write, "annotating trial 6")
    assert len(attempts) == 1
