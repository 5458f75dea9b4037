"""Helpers for the benchmarks: timing with warm-up, a results table, and results with provenance.

Every JSON a benchmark writes goes through :func:`write_json`, which adds a ``provenance`` record
(the commit, whether the work tree had changes, the versions of the packages that decide the
figures, the Python version and the command) and replaces machine paths by paths relative to the
repository (``<outside>/NAME`` for a path elsewhere), so a result file says how to reproduce it
and nothing about the machine that made it.

Examples:
    >>> strip_paths({"out": str(ROOT / "runs" / "x.json"), "n": [1, "/home/me/data/cifar10"]})
    {'out': 'runs/x.json', 'n': [1, '<outside>/cifar10']}
"""

from __future__ import annotations

import json
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["ROOT", "provenance", "strip_paths", "table", "timeit", "write_json"]

ROOT = Path(__file__).resolve().parent.parent

#: The packages whose versions decide a benchmark's figures.
PACKAGES = ("evosnn", "torch", "ray", "optuna", "pymoo", "numpy", "scikit-learn", "deap")


def timeit(fn: Callable[[], object], *, repeat: int = 20, warmup: int = 3) -> float:
    """Median seconds of ``fn`` over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    times.sort()
    return times[len(times) // 2]


def table(rows: Sequence[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """A plain-text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [line.format(*header), line.format(*("-" * w for w in widths))]
        + [line.format(*r) for r in rows]
    )


def _strip(text: str) -> str:
    """One string with every absolute path in it made repository-relative (or ``<outside>/``)."""
    parts = []
    for word in text.split(" "):
        if word.startswith("/"):
            path = Path(word)
            try:
                word = str(path.resolve().relative_to(ROOT))
            except ValueError:
                word = f"<outside>/{path.name}"
        parts.append(word)
    return " ".join(parts)


def strip_paths(value: Any) -> Any:
    """``value`` (JSON-like) with machine paths removed from every string in it."""
    if isinstance(value, str):
        return _strip(value) if "/" in value else value
    if isinstance(value, Path):
        return _strip(str(value))
    if isinstance(value, dict):
        return {k: strip_paths(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [strip_paths(v) for v in value]
    return value


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, check=True, timeout=10
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip()


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def provenance(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Where a result comes from: commit, changes, package versions, Python, the command."""
    argv = list(sys.argv if argv is None else argv)
    module = Path(argv[0]).resolve() if argv else None
    if module is not None and module.suffix == ".py" and ROOT in module.parents:
        name = ".".join(module.relative_to(ROOT).with_suffix("").parts)
        command = ["python", "-m", name, *argv[1:]]
    else:
        command = ["python", *argv]
    status = _git("status", "--porcelain")
    return {
        "commit": _git("rev-parse", "HEAD"),
        "dirty": bool(status) if status is not None else None,
        "packages": {p: _version(p) for p in PACKAGES},
        "python": platform.python_version(),
        "command": strip_paths(" ".join(command)),
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
    }


def write_json(
    path: str | Path,
    document: dict[str, Any],
    *,
    argv: Sequence[str] | None = None,
    indent: int | None = 1,
) -> Path:
    """Write ``document`` with its provenance and without machine paths; return the path.

    ``argv`` is the command that made it (default ``sys.argv``; a script whose ``main`` takes an
    argument list passes ``[__file__, *argv]``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    record = {**strip_paths(document), "provenance": provenance(argv)}
    path.write_text(json.dumps(record, indent=indent, default=float) + "\n")
    return path
