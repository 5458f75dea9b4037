"""Ray's processes die with the command that started them, also after ``kill -9`` of it.

A private local Ray instance (:func:`workers.cluster.connect`) is a dozen processes: the GCS, the
raylet, the dashboard and runtime-env agents, the workers. When the command exits normally,
``ray.shutdown`` stops them; when it is killed (``kill -9``, the OOM killer), some of them
(``ray::DashboardAgent``, ``ray::RuntimeEnvAgent``) outlive it under init, ignore SIGTERM and
hold memory and ports until the machine reboots.

:func:`watch` starts a small reaper process beside the command, holding the read end of a pipe
whose write end only the command holds. The kernel closes that end however the command ends, so
the reaper wakes on end-of-file (an event, not a poll) and kills every process of the command's
Ray session: the processes whose command line or open files name the session's folder (Ray
renames its agents' command lines, but they keep their logs in that folder open).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
from pathlib import Path

__all__ = ["session_processes", "watch"]

log = logging.getLogger(__name__)

#: The write ends held by this process (one per watched session); never closed before exit.
_HELD: list[int] = []


def watch(session_dir: str) -> None:
    """Start the reaper of the Ray session ``session_dir`` (this process must be its driver)."""
    read_end, write_end = os.pipe()  # not inheritable: Ray's own children never hold it
    subprocess.Popen(
        [sys.executable, "-m", "workers.reaper", session_dir, str(read_end)],
        pass_fds=(read_end,),
        start_new_session=True,  # not in the command's process group: a Ctrl-C spares it
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
    )
    os.close(read_end)
    _HELD.append(write_end)
    log.debug("reaper watching Ray session %s", session_dir)


def session_processes(session_dir: str) -> list[int]:
    """The pids (of this user, other than this process) whose command line or open files name
    ``session_dir``."""
    me, uid, found = os.getpid(), os.getuid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            if entry.stat().st_uid != uid:
                continue
            if session_dir in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
                continue
            for fd in (entry / "fd").iterdir():
                if os.readlink(fd).startswith(session_dir):
                    found.append(int(entry.name))
                    break
        except OSError:  # gone meanwhile, or not ours to read
            continue
    return found


def _reap(session_dir: str) -> int:
    """SIGKILL every process of the session, until none is left (a few rounds at most)."""
    killed = 0
    for _ in range(5):
        pids = session_processes(session_dir)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
                killed += 1
            except OSError:
                pass
    return killed


def main(argv: list[str]) -> int:
    """``python -m workers.reaper SESSION_DIR FD``: wait for end-of-file on FD, then reap."""
    session_dir, fd = argv[0], int(argv[1])
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    while os.read(fd, 1):  # nobody writes: returns b"" once the driver's end is closed
        pass
    _reap(session_dir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
