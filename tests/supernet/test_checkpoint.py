"""Damaged checkpoint bytes are one CheckpointError naming the file, whatever the damage."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
import torch

from evosnn.core.errors import CheckpointError
from supernet.checkpoint import load_checkpoint


def _valid_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"format": "not-evosnn", "model": {"w": torch.ones(3)}}, buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("seed", range(64))
def test_random_and_damaged_bytes_are_one_checkpoint_error(tmp_path: Path, seed: int) -> None:
    """Random bytes (a legacy-format pickle stream to torch) and a real file with bytes flipped or
    cut fail deep inside torch's unpickler in many ways (IndexError, KeyError, ...); each must
    reach the user as one CheckpointError naming the file (a random-bytes case once raised
    IndexError past it)."""
    rng = random.Random(seed)
    valid = bytearray(_valid_bytes())
    cases = {
        "random.pt": rng.randbytes(rng.randrange(1, 4096)),
        "pickle-like.pt": b"\x80\x02" + rng.randbytes(rng.randrange(1, 512)),
        "truncated.pt": bytes(valid[: rng.randrange(1, len(valid))]),
    }
    flipped = bytearray(valid)
    for _ in range(8):
        flipped[rng.randrange(len(flipped))] = rng.randrange(256)
    cases["flipped.pt"] = bytes(flipped)
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        try:
            load_checkpoint(path)
        except CheckpointError as exc:
            assert name in str(exc)
        else:  # a flip that left the file intact and readable is not an evosnn checkpoint
            pytest.fail(f"{name} loaded as a checkpoint")


@pytest.mark.parametrize("protocol", [6, 97, 255])
def test_a_foreign_pickle_protocol_fails_without_torch_s_warning(
    tmp_path: Path, protocol: int, recwarn: pytest.WarningsRecorder
) -> None:
    """Bytes that open with a pickle PROTO opcode of a protocol torch does not expect made torch
    warn "Detected pickle protocol 97 ... weights_only ..." before failing; that text advises
    the unsafe load, so the user sees only evosnn's one message (CI once failed on such junk)."""
    path = tmp_path / "junk.bin"
    path.write_bytes(bytes([0x80, protocol]) + random.Random(protocol).randbytes(510))
    with pytest.raises(CheckpointError, match=r"junk\.bin"):
        load_checkpoint(path)
    assert not [w for w in recwarn if "weights_only" in str(w.message)]
