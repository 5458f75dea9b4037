"""Storage URLs: refused when they would lose data or leak a password; absolute when recorded."""

from __future__ import annotations

from pathlib import Path

import pytest

from evosnn.core.errors import StorageError
from evosnn.storage.url import absolute, check_url, redact


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://postgres:s3cr@tPW@host/db", "postgresql://postgres:***@host/db"),
        ("postgresql://u:p:a/ss@host:5432/db", "postgresql://u:***@host:5432/db"),
        ("postgresql+psycopg://u:plain@h/db", "postgresql+psycopg://u:***@h/db"),
        ("postgresql://h/db?user=u&password=hunter2", "postgresql://h/db?user=u&password=***"),
        ("postgresql://u@h/db", "postgresql://u@h/db"),
        ("sqlite:///runs/a@b:c.db", "sqlite:///runs/a@b:c.db"),
        ("notaurl", "notaurl"),
    ],
)
def test_redact_hides_the_whole_password(url: str, shown: str) -> None:
    assert redact(url) == shown


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("sqlite://", "in-memory"),
        ("sqlite:///", "in-memory"),
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite:///file::memory:?cache=shared", "in-memory"),
        ("notaurl", "not a database URL"),
        ("foo://", "unknown database 'foo'"),
        ("postgresql+asyncpg://u:hunter2@h/db", "driver is not installed"),
        ("postgresql://postgres:s3cr@tPW@host/db", "%40"),
    ],
)
def test_check_url_refuses_with_one_line(url: str, says: str) -> None:
    with pytest.raises(StorageError, match=says) as info:
        check_url(url)
    message = str(info.value)
    assert "\n" not in message and "hunter2" not in message and "s3cr" not in message
    assert info.value.__cause__ is None  # -v must not print the parser's text of the URL


def test_check_url_accepts_files_and_servers() -> None:
    assert check_url("sqlite:///runs/x/evosnn.db").database == "runs/x/evosnn.db"
    assert check_url("postgresql+psycopg://u:p%40ss@127.0.0.1/db").password == "p@ss"


def test_absolute_makes_relative_sqlite_paths_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert absolute("sqlite:///runs/x.db") == f"sqlite:///{tmp_path / 'runs' / 'x.db'}"
    assert absolute(f"sqlite:///{tmp_path}/y.db") == f"sqlite:///{tmp_path}/y.db"
    assert absolute("postgresql://u:p@h/db") == "postgresql://u:p@h/db"
