from __future__ import annotations

from pathlib import Path

import pytest

from evosnn.cli import main
from tests.conftest import SPACES, tiny_dict, write_space


def test_space_check_prints_size(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "check", str(SPACES / "digits-tiny.yaml")]) == 0
    out = capsys.readouterr().out
    assert "11 genes" in out
    assert "47,304" in out  # 3 embed x 3 T x (72**1 + 72**2), 72 = 3*2*4*3
    assert "40 supernet epochs, uniform sampling" in out
    assert main(["space", "check", str(SPACES / "digit-pairs-tiny.yaml")]) == 0
    assert "120 supernet epochs, smallest sampling" in capsys.readouterr().out


def test_space_check_bad_file_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tiny_dict()
    data["choices"]["embed_dim"] = [16, 24]
    data["choices"]["num_heads"] = [16]
    path = write_space(tmp_path, data)
    assert main(["space", "check", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("evosnn: error: ") and "choices." in err and str(path) in err


def test_supernet_train_missing_data_fails_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    args = [
        "supernet",
        "train",
        "--space",
        str(SPACES / "cifar10-spikformer.yaml"),
        "--out",
        str(out),
        "--data",
        str(tmp_path / "no-such-folder"),
    ]
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no-such-folder does not exist" in err
    assert not out.exists()  # nothing was written


def test_supernet_train_recipe_defaults_to_the_spaces(tmp_path: Path) -> None:
    """Without ``--epochs``/``--sampling`` the supernet trains the space's ``training`` defaults;
    the flags win."""
    from supernet.checkpoint import load_checkpoint

    training = {"epochs": 1, "sampling": "smallest"}
    path = write_space(tmp_path, {**tiny_dict(), "training": training})
    common = ["--batch-size", "32", "--threads", "1"]
    for out, flags, epochs, sampling in (
        ("default", [], 1, "smallest"),
        ("flag", ["--epochs", "2", "--sampling", "uniform"], 2, "uniform"),
    ):
        args = ["supernet", "train", "--space", str(path), "--out", str(tmp_path / out), *flags]
        assert main([*args, *common]) == 0
        state = load_checkpoint(tmp_path / out / "supernet.pt")
        assert state["train_config"]["epochs"] == epochs
        assert state["train_config"]["sampling"] == sampling
        assert state["status"] == "complete"


@pytest.mark.parametrize(
    "flags",
    [["--epochs", "0"], ["--lr", "-1"], ["--batch-size", "many"], ["--sampling", "greedy"]],
)
def test_out_of_range_flags_are_refused(tmp_path: Path, flags: list[str]) -> None:
    args = [
        "supernet",
        "train",
        "--space",
        str(SPACES / "digits-tiny.yaml"),
        "--out",
        str(tmp_path / "r"),
        *flags,
    ]
    with pytest.raises(SystemExit) as info:
        main(args)
    assert info.value.code == 2
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("command", ["report", "export"])
def test_reading_a_missing_database_creates_nothing(
    tmp_path: Path, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'typo' / 'evosnn.db'}"
    args = [command, "--storage", url, "--study", "s", "--out", str(tmp_path / "out")]
    assert main(args) == 2
    assert "no such study database" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_verbose_error_shows_its_cause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("name: [unclosed\n")
    assert main(["space", "check", str(path)]) == 2
    quiet = capsys.readouterr().err
    assert quiet.count("\n") == 1 and quiet.startswith("evosnn: error: ")
    assert main(["-v", "space", "check", str(path)]) == 2
    loud = capsys.readouterr().err
    assert "Traceback" in loud and "yaml" in loud  # the parser's own error, kept as the cause
    assert loud.strip().splitlines()[-1] == quiet.strip()  # the one line still comes last


def test_demo_stops_with_the_failing_steps_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    out.mkdir()
    (out / "supernet.pt").write_bytes(b"not a checkpoint")
    assert main(["demo", "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith("evosnn: error: demo step 1/5 (training the digits-tiny supernet")
    assert "supernet.pt" in err and "corrupt" in err
    assert sorted(p.name for p in out.iterdir()) == ["supernet.pt"]  # no later step ran


def test_demo_on_a_missing_space_file_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--space", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"evosnn: error: {tmp_path / 'nope.yaml'}: search-space file not found"
    assert not out.exists()


def test_every_command_has_its_own_unit() -> None:
    from evosnn.cli import COMMANDS

    names = [command.name for command in COMMANDS]
    assert len(names) == len(set(names))
    for command in COMMANDS:
        assert command.__module__.startswith("evosnn.cli."), command


def test_search_summary_shows_validation_and_test_accuracy(
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evosnn.cli.search import print_summary
    from evosnn.search import ParetoRow, SearchSummary

    rows = [ParetoRow(3, 0.9, 1e-3, 0.9, 100, "a", 0.875), ParetoRow(5, 0.8, 5e-4, 0.8, 50, "b")]
    print_summary(SearchSummary("s", "sqlite:///x", 8, 8, 0, 0.1, rows, 3.0, 0))
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[:3] == ["trial", "val", "acc"] and "test acc" in lines[2]
    assert lines[3].split()[:3] == ["3", "90.00%", "87.50%"]
    assert lines[4].split()[:3] == ["5", "80.00%", "-"]  # not scored on test (yet)
