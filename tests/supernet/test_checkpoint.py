"""Damaged checkpoint bytes are one CheckpointError naming the file, whatever the damage."""

from __future__ import annotations

import io
import random
from pathlib import Path

import pytest
import torch

from evosnn.core.errors import CheckpointError
from supernet.checkpoint import load_checkpoint, load_training_checkpoint


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


def test_a_folder_is_said_to_be_one_and_its_supernet_pt_offered(tmp_path: Path) -> None:
    """A run folder is easily given for its checkpoint: "not found" would send the user
    looking for a file that is there."""
    run = tmp_path / "run"
    run.mkdir()
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(run)
    assert str(caught.value) == f"{run} is a folder, not a supernet checkpoint file"
    torch.save({"format": "evosnn-supernet/1"}, run / "supernet.pt")
    with pytest.raises(CheckpointError) as caught:
        load_checkpoint(run)
    assert str(caught.value) == (
        f"{run} is a folder, not a supernet checkpoint file; did you mean {run / 'supernet.pt'}?"
    )
    # a checkpoint of another kind is never offered a supernet
    with pytest.raises(CheckpointError) as caught:
        load_training_checkpoint(
            run, format="evosnn-retrain/1", kind="retraining checkpoint", required=("model",)
        )
    assert str(caught.value) == f"{run} is a folder, not a retraining checkpoint file"
    with pytest.raises(CheckpointError, match=r"nope\.pt: supernet checkpoint not found"):
        load_checkpoint(run / "nope.pt")


def test_the_search_and_the_export_say_a_supernet_folder_is_a_folder(
    tmp_path: Path, tiny_checkpoint: Path
) -> None:
    """The search reads the checkpoint's bytes itself, and the export claims its folder before
    the supernet loads: both check the path first (no study database, no export folder)."""
    from evosnn.api import run_search
    from evosnn.core.space import SearchSpace
    from evosnn.reporting.export import export_study
    from tests.conftest import tiny_dict
    from tests.studies import searched_tiny_study

    run = tiny_checkpoint.parent
    says = f"{run} is a folder, not a supernet checkpoint file; did you mean {tiny_checkpoint}?"
    with pytest.raises(CheckpointError) as caught:
        run_search(
            SearchSpace.from_dict(tiny_dict()),
            run,
            storage=f"sqlite:///{tmp_path / 's.db'}",
            workers=0,
        )
    assert str(caught.value) == says
    assert not (tmp_path / "s.db").exists()
    url = searched_tiny_study(tmp_path, tiny_checkpoint)
    with pytest.raises(CheckpointError) as caught:
        export_study(url, "tiny", tmp_path / "export", pick="knee", supernet=run)
    assert str(caught.value) == says
    assert not (tmp_path / "export").exists()
