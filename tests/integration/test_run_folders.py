"""Every command that writes a run folder holds it: a second writer is refused before any work,
with one line naming the holder, and the folder is free again after a run.

The first writer is a real process (:mod:`tests.core.holders`) holding the folder; the commands
run in this process (``evosnn.cli.main``), so each refusal is the command's own.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml

from evosnn.cli import main
from evosnn.core.run_lock import LOCK_NAME, held
from tests.conftest import tiny_dict
from tests.core.holders import Holder, holders, start_holder

__all__ = ["holders"]  # the fixture, used by the tests below


@pytest.fixture
def tiny_space(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(tiny_dict()))
    return path


def _refused(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run the command; it must exit 2 with one error line, which is returned."""
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evosnn: error: "), err
    return err[0]


def _contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.mark.parametrize(
    "command",
    [
        ["supernet", "train", "--space", "{space}", "--out", "{out}", "--epochs", "1"],
        # refused in the driver, before Ray starts
        ["supernet", "train", "--space", "{space}", "--out", "{out}", "--workers=1"],
        ["supernet", "rank-check", "--supernet", "{out}/supernet.pt", "--out", "{out}"],
        ["demo", "--space", "{space}", "--out", "{out}"],
    ],
    ids=["supernet-train", "supernet-train-workers", "rank-check", "demo"],
)
def test_a_held_run_folder_is_refused_before_any_work(
    tmp_path: Path,
    tiny_space: Path,
    holders: list[Holder],
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    out = tmp_path / "run"
    first = start_holder(holders)
    assert first.ask(f"lock {out}") == f"held {first.pid}"
    before = _contents(out)
    argv = [a.format(space=tiny_space, out=out) for a in command]
    line = _refused(capsys, argv)
    assert f"--out {out} is in use by pid {first.pid} on " in line
    assert " since " in line and "wait for it to finish or choose another folder" in line
    assert _contents(out) == before  # nothing written
    assert held(out) is not None and held(out).pid == first.pid  # type: ignore[union-attr]


def test_a_run_folder_is_free_again_after_a_run(
    tmp_path: Path, tiny_space: Path, holders: list[Holder], capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    argv = ["supernet", "train", "--space", str(tiny_space), "--out", str(out), "--epochs", "1"]
    assert main([*argv, "--batch-size", "32"]) == 0
    assert "supernet written to" in capsys.readouterr().out
    assert (out / "supernet.pt").is_file() and not (out / LOCK_NAME).exists()
    second = start_holder(holders)
    assert second.ask(f"lock {out}") == f"held {second.pid}"
    # a fresh run over the finished one is refused for its checkpoint, as before
    assert second.ask("release") == "released"
    assert "already exists; pass --resume" in _refused(capsys, argv)
    assert _contents(out) == ["supernet.pt"]  # the refused run left no lock file


def test_a_refused_run_leaves_no_folder_it_made(
    tmp_path: Path, tiny_space: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "new" / "run"
    argv = ["supernet", "train", "--space", str(tiny_space), "--out", str(out), "--resume"]
    assert _refused(capsys, argv).endswith(f"{out}/supernet.pt: supernet checkpoint not found")
    assert not (tmp_path / "new").exists()


@pytest.mark.slow
@pytest.mark.ray
def test_the_driver_holds_the_folder_while_ray_train_workers_train(
    tmp_path: Path, holders: list[Holder]
) -> None:
    from evosnn.core.resources import RayResources
    from evosnn.core.space import SearchSpace
    from evosnn.training.supernet_training import train_supernet_parallel
    from supernet.recipe import TrainSettings
    from tests.conftest import local_ray

    out = tmp_path / "run"
    other = start_holder(holders)
    answers: list[str] = []

    def on_epoch(record: dict[str, Any]) -> None:  # in the driver, while the workers train
        answers.append(other.ask(f"lock {out}"))

    settings = TrainSettings(epochs=1, batch_size=16)
    with local_ray():
        train_supernet_parallel(
            SearchSpace.from_dict(tiny_dict()),
            out,
            settings,
            RayResources(workers=1, threads=1),
            progress=False,
            on_epoch=on_epoch,
        )
    assert len(answers) == 1
    assert answers[0].startswith(f"refused: --out {out.resolve()} is in use by pid {os.getpid()}")
    assert (out / "supernet.pt").is_file() and not (out / LOCK_NAME).exists()
    assert other.ask(f"lock {out}") == f"held {other.pid}"  # free after the run
