"""One process at a time writes a run folder: the folder's lock file names its holder.

A command that writes a run folder (``supernet train``, ``supernet rank-check``, ``demo``,
``export``, ``train --tune``) holds :func:`run_lock` on it for as long as it works. A second
process that wants the same folder is refused at once, before any work, with one line naming the
holder (pid, host, since when, command), instead of the two silently overwriting each other's
files. A retraining (``train``) holds only the checkpoint it writes (``name``): several
architectures may be retrained into one folder at once, one architecture by one process.

The lock is the file :data:`LOCK_NAME` in the folder (``.NAME.evosnn-lock`` for one file NAME),
created with ``O_CREAT|O_EXCL`` and held by ``flock`` on it; the holder writes its pid, host,
start time and command line into it. The
policy is the study driver lock's (:mod:`evosnn.storage.lock`): a holder that is gone gives its
lock up.

* A holder that exits, or is killed with ``kill -9``, loses its ``flock`` with its process (the
  kernel drops it): the next process takes the lock over and rewrites the file.
* The lock stays held only while a live process has the file open. Children forked by the
  holder (data-loader workers) close it at once (:func:`os.register_at_fork`), so they never
  keep a dead holder's lock; should another descendant keep it anyway, a holder whose pid is
  gone on this host is taken over all the same. A lock file found (not created fresh) is judged
  and rewritten, or removed, only under a second lock held for an instant (the lock file's name
  and :data:`TAKEOVER_SUFFIX`), so two takers cannot both win.
* Where the file system has no ``flock``, the file alone decides: it exists, so the folder is
  held, unless it names a pid of this host that is gone.
* A holder on another host that cannot be judged is named with the file to delete once it is
  gone.

The lock is re-entrant within a process: a command that locks its folder may call a library
function that locks it again (``demo`` trains the supernet into its own folder). Released on
exit and on exceptions; the lock file is removed, and a folder the lock created for nothing is
removed again.

Example:
    >>> import tempfile
    >>> folder = Path(tempfile.mkdtemp()) / "run"
    >>> with run_lock(folder):
    ...     (folder / LOCK_NAME).is_file()
    True
    >>> folder.exists()  # created for the lock, left empty: removed again
    False
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shlex
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evosnn.core.outputs import OutputError
from evosnn.core.processes import alive

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the file alone decides
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_NAME", "TAKEOVER_SUFFIX", "FolderInUse", "RunFolderHolder", "held", "run_lock"]

#: The lock file of a whole folder, in the folder.
LOCK_NAME = ".evosnn-lock"
#: Beside a lock file, the guard held for an instant while a lock file left behind is judged.
TAKEOVER_SUFFIX = ".takeover"
#: How long a refused process waits for a holder that has locked but not yet named itself.
NAMING_WAIT_S = 0.5
#: How long a taker waits for the guard, held by others for an instant.
GUARD_WAIT_S = 2.0
#: Tries before giving up on a lock that keeps changing hands (each try is immediate).
TRIES = 20


class FolderInUse(OutputError):
    """A run folder is held by another process (the message names it)."""


@dataclass(frozen=True)
class RunFolderHolder:
    """Who holds a run folder, as its lock file says."""

    pid: int
    host: str
    since: str
    command: str

    @property
    def here(self) -> bool:
        """The holder runs on this host."""
        return self.host == socket.gethostname()

    def gone(self) -> bool:
        """The holder ran on this host and its process no longer exists."""
        return self.here and not alive(self.pid)

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} ({self.command})"


@dataclass
class _Held:
    """A lock this process holds: its open file, and how many nested holds use it."""

    fd: int
    path: Path
    created: list[Path]
    since: str
    depth: int = 1


_HELD: dict[str, _Held] = {}
_REGISTRY = threading.Lock()


def _forget_in_child() -> None:
    """In a forked child: close the parent's lock files, so the child never keeps them held."""
    global _REGISTRY
    _REGISTRY = threading.Lock()
    for entry in _HELD.values():
        with contextlib.suppress(OSError):
            os.close(entry.fd)
    _HELD.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_in_child)


@contextlib.contextmanager
def run_lock(
    folder: str | Path, *, flag: str | None = "--out", name: str | None = None
) -> Iterator[Path]:
    """Hold the run folder ``folder`` (created if missing) for the block; yield it.

    ``flag`` names the folder's option in the refusal (None: the folder alone). With ``name``,
    only that file of the folder is held (a retraining's checkpoint): other processes may write
    other files there.

    Raises:
        FolderInUse: another live process holds the folder, or the file ``name`` in it (pid,
            host, since when and command named).
        OutputError: the folder cannot be created or the lock file written.
    """
    folder = Path(folder)
    label = f"{flag} {folder}" if flag else str(folder)
    if name is not None:
        label = f"{folder / name}"
    created = _make_folder(folder, label)
    lock = _lock_file(folder, name)
    key = os.path.realpath(lock)
    with _REGISTRY:
        entry = _HELD.get(key)
        if entry is not None:
            entry.depth += 1
    if entry is None:
        try:
            entry = _acquire(lock, label, created)
        except BaseException:
            _remove_empty(created)
            raise
        with _REGISTRY:
            _HELD[key] = entry
    try:
        yield folder
    finally:
        _release(key)


def held(folder: str | Path, name: str | None = None) -> RunFolderHolder | None:
    """Who holds ``folder`` (or its file ``name``) now, as its lock file says (None: nobody).

    In the holding process, this process; elsewhere the file is read, and a file whose ``flock``
    is free (its holder gone) counts as nobody's.
    """
    path = _lock_file(Path(folder), name)
    with _REGISTRY:
        mine = _HELD.get(os.path.realpath(path))
    if mine is not None:
        return _me(mine.since)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if _try_flock(fd, shared=True) is True:
            return None  # nobody holds it
        return _read(fd, wait=False)
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------------- internals
def _lock_file(folder: Path, name: str | None) -> Path:
    """The lock file of ``folder``, or of its file ``name``."""
    return folder / (LOCK_NAME if name is None else f".{name}{LOCK_NAME}")


def _make_folder(folder: Path, label: str) -> list[Path]:
    """Create ``folder`` and its missing parents; return those created (deepest first)."""
    missing = [p for p in (folder, *folder.parents) if not p.exists()]
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(
            f"{label}: cannot create the folder ({exc.strerror or type(exc).__name__})"
        ) from exc
    return missing


def _remove_empty(created: list[Path]) -> None:
    """Remove the folders the lock created, deepest first, as long as they are empty."""
    for folder in created:
        try:
            folder.rmdir()
        except OSError:
            return


def _acquire(path: Path, label: str, created: list[Path]) -> _Held:
    """Take the lock file ``path`` (see the module docstring)."""
    try:
        for _ in range(TRIES):
            fd, fresh = _open(path)
            if fd is None:
                continue  # released between our two opens: try again
            try:
                since = _take(fd, fresh, path, label)
            except BaseException:
                os.close(fd)
                raise
            if since is not None:
                return _Held(fd, path, created, since)
            os.close(fd)
    except OSError as exc:
        raise OutputError(
            f"{label}: cannot write its lock file {path.name} "
            f"({exc.strerror or type(exc).__name__}); choose a folder you can write"
        ) from exc
    raise FolderInUse(f"{label}: its lock kept changing hands; try again")


def _open(path: Path) -> tuple[int | None, bool]:
    """Open the lock file, creating it when there is none; (fd or None, created by us)."""
    try:
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644), True
    except FileExistsError:
        pass
    except FileNotFoundError:  # another holder removed the folder it had made: make it again
        path.parent.mkdir(parents=True, exist_ok=True)
        return None, False
    try:
        return os.open(path, os.O_RDWR | os.O_CLOEXEC), False
    except FileNotFoundError:
        return None, False


def _take(fd: int, fresh: bool, path: Path, label: str) -> str | None:
    """Lock the open lock file and name this process in it; return since when (None: try
    again). Refuses a live holder."""
    locked = _try_flock(fd)
    if locked is None:  # no flock on this file system: the file alone decides
        if fresh:
            return _write(fd)
        holder = _read(fd, wait=True)
        if holder is not None and holder.gone():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
            return None
        raise _busy(label, path, holder)
    if not locked:
        holder = _read(fd, wait=True)
        if holder is None or not holder.gone():
            raise _busy(label, path, holder)
        # a descendant of the dead holder keeps its flock: remove the file, if it still is
        # the one judged and still names the dead holder (under the guard: see _guard)
        with _guard(path) as ok:
            again = _read(fd, wait=False)
            if ok and _same_file(fd, path) and again is not None and again.gone():
                os.unlink(path)
        return None
    if fresh:
        return _write(fd)
    # a lock file left by a holder that is gone: ours once we have named ourselves in it,
    # under the guard, so a taker judging the old holder's name cannot remove it meanwhile
    with _guard(path) as ok:
        return _write(fd) if ok and _same_file(fd, path) else None


@contextlib.contextmanager
def _guard(path: Path) -> Iterator[bool]:
    """Hold the guard beside the lock file ``path`` for an instant: a lock file not created fresh
    is judged and rewritten, or removed, under it only. Yields False when it stayed busy for
    :data:`GUARD_WAIT_S` (the caller then looks again)."""
    guard = os.open(_guard_file(path), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        deadline = time.monotonic() + GUARD_WAIT_S
        taken = _try_flock(guard)
        while taken is False and time.monotonic() < deadline:
            time.sleep(0.005)  # others hold it for microseconds
            taken = _try_flock(guard)
        yield taken is not False
    finally:
        os.close(guard)


def _guard_file(path: Path) -> Path:
    return path.with_name(path.name + TAKEOVER_SUFFIX)


def _release(key: str) -> None:
    """End one hold; the last one removes the lock file and closes (unlocks) it."""
    with _REGISTRY:
        entry = _HELD.get(key)
        if entry is None:
            return
        entry.depth -= 1
        if entry.depth:
            return
        del _HELD[key]
    try:
        if _same_file(entry.fd, entry.path):
            os.unlink(entry.path)  # before unlocking: a waiter then finds the file gone
        with contextlib.suppress(FileNotFoundError):
            _guard_file(entry.path).unlink()
    except OSError:
        pass  # the next holder takes a lock file left behind over (its flock is free)
    finally:
        os.close(entry.fd)
    _remove_empty(entry.created)


def _try_flock(fd: int, *, shared: bool = False) -> bool | None:
    """``flock`` without waiting: True taken, False held by another, None not supported here."""
    if fcntl is None:
        return None
    try:
        fcntl.flock(fd, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            return False
        if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOSYS, errno.EINVAL):
            return None
        raise
    return True


def _same_file(fd: int, path: Path) -> bool:
    """``path`` still names the file open as ``fd``."""
    try:
        now = os.stat(path)
    except FileNotFoundError:
        return False
    mine = os.fstat(fd)
    return (now.st_dev, now.st_ino) == (mine.st_dev, mine.st_ino)


def _me(since: str) -> RunFolderHolder:
    return RunFolderHolder(os.getpid(), socket.gethostname(), since, _command())


def _write(fd: int) -> str:
    """Name this process in the lock file it holds; return since when it holds it."""
    me = _me(time.strftime("%Y-%m-%d %H:%M:%S"))
    data = json.dumps(
        {"pid": me.pid, "host": me.host, "since": me.since, "command": me.command}
    ).encode()
    os.ftruncate(fd, 0)
    os.pwrite(fd, data + b"\n", 0)
    os.fsync(fd)
    return me.since


def _read(fd: int, *, wait: bool) -> RunFolderHolder | None:
    """The holder the open lock file names (None: unreadable, or not yet named). With ``wait``,
    a holder that has locked the file but not yet named itself gets :data:`NAMING_WAIT_S`."""
    deadline = time.monotonic() + (NAMING_WAIT_S if wait else 0.0)
    while True:
        try:
            text = os.pread(fd, 65536, 0).decode("utf-8", "replace")
            data: Any = json.loads(text) if text.strip() else None
        except (OSError, ValueError):
            data = None
        if isinstance(data, dict) and isinstance(data.get("pid"), int):
            return RunFolderHolder(
                int(data["pid"]),
                str(data.get("host", "?")),
                str(data.get("since", "?")),
                str(data.get("command", "?")),
            )
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.01)  # only how complete the refusal's wording is depends on it


def _busy(label: str, path: Path, holder: RunFolderHolder | None) -> FolderInUse:
    """The refusal naming the holder (and the file to delete where it cannot be judged)."""
    if holder is None:
        return FolderInUse(
            f"{label} is in use by another process (its lock file {path} names none yet); "
            f"wait for it to finish or choose another folder"
        )
    hint = "" if holder.here else f"; if that process is gone, delete {path}"
    return FolderInUse(
        f"{label} is in use by {holder.describe()}; wait for it to finish or choose another "
        f"folder{hint}"
    )


def _command() -> str:
    """This process's command line, as the user typed it (``evosnn ...`` for the CLI)."""
    argv = list(sys.argv) or ["python"]
    name = Path(argv[0]).name
    if name in ("evosnn", "__main__.py"):
        name = "evosnn"
    text = shlex.join([name, *argv[1:]])
    return text if len(text) <= 200 else text[:197] + "..."
