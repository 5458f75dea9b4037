"""Bad input to the training commands: one clear line, exit 2, nothing trained, nothing lost.

The ``--out`` matrix runs every writing command in-process (the same ``main`` the console script
runs); each kind of problem also runs once as a real ``python -m evosnn.cli`` process, to show
the line a user sees and that no traceback follows it.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import yaml

from evosnn.cli import main
from evosnn.core.config import SubnetConfig
from evosnn.core.space import SearchSpace, load_space
from evosnn.evaluate.models import build_standalone
from evosnn.reporting.export import EXPORT_FORMAT
from supernet.checkpoint import file_sha256, load_checkpoint, save_atomic
from tests.conftest import ROOT, tiny_dict, write_space

QUICK = ["--batch-size", "32", "--threads", "1"]


def evosnn(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m evosnn.cli ARGS`` as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "evosnn.cli", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=600,
    )


def one_line(err: str) -> str:
    """The single ``evosnn: error:`` line of a refused command (and nothing else on stderr)."""
    lines = [line for line in err.strip().splitlines() if line]
    assert len(lines) == 1 and lines[0].startswith("evosnn: error: "), err
    assert "Traceback" not in err
    return lines[0]


@pytest.fixture
def bad_outs(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    """An --out that is a file, one under a file, and one nobody may write (root included)."""
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    return {
        "file": (blocker, "is a file, not a folder"),
        "under a file": (blocker / "run", f"lies under the file {blocker}"),
        "unwritable": (Path("/sys/evosnn-run"), "cannot write in /sys"),
    }


def commands(tmp_path: Path, out: Path) -> dict[str, list[str]]:
    """Every command that writes into an --out folder, with otherwise valid arguments."""
    space = write_space(tmp_path, tiny_dict())
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    return {
        "supernet train": ["supernet", "train", "--space", str(space), "--out", str(out)],
        "train": ["train", str(tmp_path / "trial-00001.yaml"), "--out", str(out)],
        "demo": ["demo", "--out", str(out)],
        "rank-check": ["supernet", "rank-check", "--supernet", "x.pt", "--out", str(out)],
        "export": ["export", "--storage", storage, "--study", "s", "--out", str(out)],
        "report": ["report", "--storage", storage, "--study", "s", "--out", str(out)],
    }


def test_an_out_that_cannot_hold_files_is_one_line_before_any_work(
    tmp_path: Path, bad_outs: dict[str, tuple[Path, str]], capsys: pytest.CaptureFixture[str]
) -> None:
    for kind, (out, why) in bad_outs.items():
        for name, args in commands(tmp_path, out).items():
            assert main(args) == 2, (kind, name)
            line = one_line(capsys.readouterr().err)
            assert line == line.strip() and f"--out {out}: {why}" in line, (kind, name, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "space.yaml"]  # no work
    done = evosnn(*commands(tmp_path, bad_outs["unwritable"][0])["supernet train"])
    assert done.returncode == 2
    assert "--out /sys/evosnn-run: cannot write in /sys" in one_line(done.stderr)


@pytest.fixture
def finished(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, list[str]]:
    """A finished 1-epoch supernet run of the tiny space (trained with --seed 0, uniform)."""
    space = write_space(tmp_path, tiny_dict())
    args = ["supernet", "train", "--space", str(space), "--out", str(tmp_path / "run")]
    assert main([*args, "--epochs", "1", *QUICK]) == 0
    capsys.readouterr()
    return tmp_path / "run" / "supernet.pt", args


def test_a_resume_names_a_setting_it_would_ignore_and_how_to_train_longer(
    finished: tuple[Path, list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, args = finished
    before = file_sha256(path)
    done = evosnn(*args, "--resume", "--seed", "1", *QUICK)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert f"{path} was trained with --seed 0, not 1" in line and "drop --seed" in line
    for flags, named in (
        (["--sampling", "sandwich"], "--sampling uniform, not sandwich"),
        (["--lr", "0.01"], "--lr 0.003, not 0.01"),
        (["--batch-size", "16"], "--batch-size 32, not 16"),
    ):
        assert main([*args, "--resume", *flags, "--threads", "1"]) == 2
        assert named in one_line(capsys.readouterr().err)
    assert main([*args, "--resume", "--epochs", "3", *QUICK]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{path} finished its 1 epochs" in line
    assert "start a new run without --resume, with --epochs 3 and another --out" in line
    # the same settings given again, or none: continued as it was (here: nothing left to do)
    assert main([*args, "--resume", "--seed", "0", "--epochs", "1", *QUICK]) == 0
    assert file_sha256(path) == before


def test_a_search_on_an_unfinished_supernet_is_refused(
    finished: tuple[Path, list[str]], tmp_path: Path
) -> None:
    """The study would pin the sha256 of weights in mid-schedule, and could not be resumed once
    the training goes on: refused, with the command that finishes it."""
    path, _ = finished
    state = load_checkpoint(path)
    unfinished = tmp_path / "cut" / "supernet.pt"
    save_atomic({**state, "status": "interrupted"}, unfinished)
    done = evosnn(
        "search",
        "--space",
        str(tmp_path / "space.yaml"),
        "--supernet",
        str(unfinished),
        "--storage",
        f"sqlite:///{tmp_path / 'cut' / 'evosnn.db'}",
        "--study",
        "s",
    )
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert f"{unfinished}: its training did not finish (status 'interrupted' after 1 of 1" in line
    space = load_space(tmp_path / "space.yaml").name
    assert f"--space <the file of space {space}> --out {unfinished.parent} --resume" in line


def export_file(path: Path, config: SubnetConfig, space: SearchSpace) -> Path:
    """An exported architecture file, as ``evosnn export`` writes it (no study behind it)."""
    document = {
        "format": EXPORT_FORMAT,
        "config": config.to_dict(),
        "metrics": {},
        "provenance": {},
        "space": space.to_dict(),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def test_train_resume_from_a_truncated_or_foreign_checkpoint_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    space = SearchSpace.from_dict(tiny_dict())
    largest = export_file(tmp_path / "a" / "trial-00001.yaml", SubnetConfig.largest(space), space)
    smallest = export_file(tmp_path / "b" / "trial-00001.yaml", SubnetConfig.smallest(space), space)
    out = tmp_path / "out"
    quick = ["--epochs", "1", "--batch-size", "32"]
    assert main(["train", str(largest), "--out", str(out), *quick]) == 0
    capsys.readouterr()
    checkpoint = out / "trial-00001.retrained.pt"
    good = checkpoint.read_bytes()
    # the same file name, another architecture (another study's trial 1): refused, not mixed
    assert main(["train", str(smallest), "--out", str(out), "--resume", *quick]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{checkpoint}: a retraining of another architecture than {smallest}" in line
    checkpoint.write_bytes(good[: len(good) // 3])
    done = evosnn("train", str(largest), "--out", str(out), "--resume", *quick)
    assert done.returncode == 2
    line = one_line(done.stderr)
    assert f"{checkpoint}: not a readable checkpoint (truncated or corrupt" in line
    # a checkpoint whose weights are of another shape than its recorded architecture
    stored = torch.load(io.BytesIO(good), weights_only=True)
    foreign = build_standalone(SubnetConfig.smallest(space), space).state_dict()
    save_atomic({**stored, "model": foreign}, checkpoint)
    assert main(["train", str(largest), "--out", str(out), "--resume", *quick]) == 2
    line = one_line(capsys.readouterr().err)
    assert f"{checkpoint}: its weights do not fit this architecture" in line


def test_rank_check_checks_its_study_storage_before_any_stand_alone_run(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    out = tmp_path / "check"
    done = evosnn(
        "supernet",
        "rank-check",
        "--supernet",
        str(tiny_checkpoint),
        "--out",
        str(out),
        "--storage",
        "foo://bar",
        "--study",
        "s",
        "--workers",
        "0",
    )
    assert done.returncode == 2
    assert "foo://bar" in one_line(done.stderr)
    assert not out.exists()  # nothing chosen, evaluated or trained
