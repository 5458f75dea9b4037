"""Helpers for the side-by-side benchmarks: timing with warm-up, and a results table."""

from __future__ import annotations

import time
from collections.abc import Callable


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


def table(rows: list[tuple[str, ...]], header: tuple[str, ...]) -> str:
    """A plain-text table."""
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    line = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(
        [line.format(*header), line.format(*("-" * w for w in widths))]
        + [line.format(*r) for r in rows]
    )
