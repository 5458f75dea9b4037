"""Study storage URLs: checked before any work starts, shown without their password.

A storage URL is an SQLAlchemy URL (``sqlite:///runs/NAME/evosnn.db``,
``postgresql://user:password@host/db``). :func:`check_url` refuses, in one line that names the URL
with its password hidden:

* what is not a URL (``notaurl``) or names no database SQLAlchemy knows (``foo://``);
* a database driver that is not installed (``postgresql+asyncpg://`` without asyncpg);
* a storage that does not persist (``sqlite://``, ``sqlite:///``, ``sqlite:///:memory:``, a
  ``mode=memory`` URI): every trial of a search would be gone when the command exits;
* a password holding an unencoded ``@`` (``postgres:s3cr@tPW@host``): SQLAlchemy would read part
  of the password as the host and print it; percent-encode it (``%40``).

:func:`redact` hides the password whatever characters it holds, so a URL can be printed or
stored; :func:`absolute` makes a relative SQLite path absolute, so a URL recorded in an exported
file works from any folder.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from evosnn.core.errors import StorageError

__all__ = ["absolute", "check_url", "redact"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*://")
_QUERY_PASSWORD = re.compile(r"(?i)([?&](?:password|pwd|passwd)=)[^&]*")
_MEMORY = (":memory:", "")


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***`` (safe to print or store).

    Parsed by hand, not by SQLAlchemy: the user part ends at the *last* ``@`` before the path, so
    a password with ``@``, ``:`` or ``/`` in it is hidden whole; a ``password=`` query parameter
    is hidden too. SQLite URLs carry no password.
    """
    url = _QUERY_PASSWORD.sub(r"\1***", url)
    match = _SCHEME.match(url)
    if match is None or url.lower().startswith("sqlite"):
        return url
    scheme, rest = match.group(0), url[match.end() :]
    authority_end = rest.rfind("@")
    if authority_end < 0:
        return url
    user, colon, _ = rest[:authority_end].partition(":")
    if not colon:
        return url
    return f"{scheme}{user}:***@{rest[authority_end + 1 :]}"


def check_url(url: str) -> URL:
    """The parsed URL of a study storage that persists, with its driver importable.

    Raises:
        StorageError: see the module docstring; the message names the URL, password hidden.
    """
    shown = redact(url)
    if not _SCHEME.match(url):
        raise StorageError(
            f"--storage {shown!r} is not a database URL "
            "(e.g. sqlite:///runs/NAME/evosnn.db or postgresql://user@host/db)"
        )
    if _raw_at_in_password(url):
        raise StorageError(
            f"storage URL {shown}: its password holds an '@'; percent-encode it as %40"
        )
    try:
        parsed = make_url(url)
    except Exception:  # the parser's message quotes the whole URL, password included
        raise StorageError(f"storage URL {shown} cannot be parsed") from None
    try:
        parsed.get_dialect().import_dbapi()
    except ImportError as exc:
        raise StorageError(
            f"storage URL {shown}: its database driver is not installed ({exc.name or exc})"
        ) from None
    except Exception:  # sqlalchemy.exc.NoSuchModuleError: an unknown database
        raise StorageError(
            f"storage URL {shown}: unknown database {parsed.drivername!r} "
            "(use sqlite:///PATH or postgresql://...)"
        ) from None
    if parsed.get_backend_name() == "sqlite" and _in_memory(parsed):
        raise StorageError(
            f"storage URL {shown} is an in-memory database: every trial would be lost when the "
            "command exits; give a file, e.g. sqlite:///runs/NAME/evosnn.db"
        )
    return parsed


def absolute(url: str) -> str:
    """``url`` with a relative SQLite path made absolute (other URLs unchanged)."""
    try:
        parsed = make_url(url)
    except Exception:
        return url
    if parsed.get_backend_name() != "sqlite" or _in_memory(parsed):
        return url
    database = str(parsed.database)
    if database.startswith("file:") or Path(database).is_absolute():
        return url
    return parsed.set(database=str(Path(database).resolve())).render_as_string(hide_password=False)


def _in_memory(parsed: URL) -> bool:
    database = parsed.database or ""
    return (
        database in _MEMORY
        or database.startswith("file::memory:")
        or parsed.query.get("mode") == "memory"
        or "mode=memory" in database
    )


def _raw_at_in_password(url: str) -> bool:
    """Whether the user part of a (non-SQLite) URL holds more than one ``@``."""
    match = _SCHEME.match(url)
    if match is None or url.lower().startswith("sqlite"):
        return False
    rest = url[match.end() :]
    authority = rest.split("?", 1)[0]
    # the path starts at the first '/' after the last '@'; count '@'s before it
    last_at = authority.rfind("@")
    return last_at >= 0 and authority[:last_at].count("@") > 0
