"""Writers of tiny event recordings in each supported on-disk format (for the tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_nmnist(path: Path, x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> None:
    """N-MNIST's 40-bit events: x, y, then polarity (bit 7) and a 23-bit timestamp (us)."""
    raw = np.zeros((len(x), 5), dtype=np.uint8)
    raw[:, 0], raw[:, 1] = x, y
    raw[:, 2] = (p.astype(np.uint32) << 7) | ((t >> 16) & 0x7F)
    raw[:, 3], raw[:, 4] = (t >> 8) & 0xFF, t & 0xFF
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(raw.tobytes())


def write_gesture(
    path: Path, x: np.ndarray, y: np.ndarray, t_ms: np.ndarray, p: np.ndarray
) -> None:
    """tonic's preprocessed DVS128 Gesture: an ``N x 4`` array of x, y, p, t (milliseconds)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    np.save(path, np.stack([x, y, p, t_ms], axis=1).astype(np.float64))


def write_aedat2(path: Path, x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> None:
    """AEDAT 2.0 as jAER writes DVS128 data: big-endian (address, timestamp) pairs."""
    header = b"#!AER-DAT2.0\r\n# This is a raw AE data file created by a test\r\n"
    addr = (y.astype(np.uint32) << 8) | (x.astype(np.uint32) << 1) | p.astype(np.uint32)
    pairs = np.empty(len(x), dtype=[("a", ">u4"), ("t", ">u4")])
    pairs["a"], pairs["t"] = addr, t
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + pairs.tobytes())


def stream(seed: int, n: int, side: int) -> tuple[np.ndarray, ...]:
    """``n`` random events on a ``side`` x ``side`` sensor, times ascending (microseconds)."""
    rng = np.random.default_rng(seed)
    x, y = rng.integers(0, side, n), rng.integers(0, side, n)
    t = np.sort(rng.integers(0, 300_000, n))
    return x, y, t, rng.integers(0, 2, n)
