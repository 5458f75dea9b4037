"""Run many ``evosnn`` command lines as real processes without paying the imports each time.

A *zygote* process imports the CLI and its heavy libraries (torch, Optuna, SQLAlchemy) once; for
each command line it forks a child that changes to the case's folder, points its stdout and
stderr at files and runs :func:`evosnn.cli.main` exactly as ``python -m evosnn.cli`` does
(``sys.exit`` status, uncaught exceptions printed as tracebacks, ``atexit`` handlers run). Each
case is still its own process with its own exit status and output; only the interpreter start
and the imports (about 1.5 s of the 2 s a bad-input case takes on 2 cores) are shared. Nothing
in the zygote computes before forking, so no thread pool is copied mid-use.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

__all__ = ["Result", "Zygote"]

_SERVE = r"""
import atexit, json, os, sys, traceback
import evosnn.cli, optuna, sqlalchemy, torch, yaml  # once, before any fork

for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        os.setsid()  # the case's own session: Ctrl-C or a killed group spares the zygote
        os.chdir(request["cwd"])
        for fd, name in ((1, "stdout"), (2, "stderr")):
            target = os.open(request[name], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(target, fd)
            os.close(target)
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        sys.argv = ["evosnn", *request["argv"]]
        try:
            code = evosnn.cli.main(request["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if not isinstance(exc.code, int) and exc.code is not None:
                print(exc.code, file=sys.stderr)
        except BaseException:
            traceback.print_exc()
            code = 1
        try:
            atexit._run_exitfuncs()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    print(json.dumps(os.waitstatus_to_exitcode(status)), flush=True)
"""


@dataclass(frozen=True)
class Result:
    """What one command line did: its exit status and its output."""

    returncode: int
    stdout: str
    stderr: str


class Zygote:
    """A running zygote (use as a context manager); :meth:`run` one command line at a time."""

    def __init__(self, env: dict[str, str]) -> None:
        self._scratch = Path(tempfile.mkdtemp(prefix="zygote-"))
        self._process = subprocess.Popen(
            [sys.executable, "-c", _SERVE],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def run(self, argv: list[str], cwd: Path) -> Result:
        """Run ``evosnn ARGV`` in ``cwd`` in a child process; wait for it and return its result."""
        out, err = self._scratch / "out", self._scratch / "err"
        request = {"argv": argv, "cwd": str(cwd), "stdout": str(out), "stderr": str(err)}
        assert self._process.stdin is not None and self._process.stdout is not None
        self._process.stdin.write(json.dumps(request) + "\n")
        self._process.stdin.flush()
        answer = self._process.stdout.readline()
        assert answer, "the zygote died"
        return Result(int(json.loads(answer)), out.read_text(), err.read_text())

    def __enter__(self) -> Zygote:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._process.stdin is not None:
            self._process.stdin.close()
        self._process.wait(timeout=60)
        for path in self._scratch.iterdir():
            path.unlink()
        self._scratch.rmdir()
