"""Nothing lost, nothing overwritten silently: export folders, storage URLs, retraining records."""

from __future__ import annotations

import logging
from pathlib import Path

import optuna
import pytest
import yaml

from evosnn.core.errors import EvosnnError
from evosnn.core.outputs import OutputError
from evosnn.core.run_lock import FolderInUse
from evosnn.reporting.export import MARKER, export_study, load_export
from tests.core.holders import Holder, holders, start_holder
from tests.studies import copy_database, searched_tiny_study

__all__ = ["holders"]  # the fixture, used by the tests below


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory, tiny_checkpoint: Path) -> tuple[Path, str]:
    base = tmp_path_factory.mktemp("export-safety")
    return base, searched_tiny_study(base, tiny_checkpoint)


def test_export_refuses_another_studys_folder(study: tuple[Path, str], tmp_path: Path) -> None:
    base, url = study
    copy_database(base / "study.db", tmp_path / "other.db")
    out = tmp_path / "export"
    written = export_study(url, "tiny", out, pick="pareto")
    before = {p: p.read_bytes() for p in written}
    assert yaml.safe_load((out / MARKER).read_text())["study"] == "tiny"
    with pytest.raises(EvosnnError, match="holds the export of study 'tiny'"):
        export_study(f"sqlite:///{tmp_path / 'other.db'}", "tiny", out, pick="pareto")
    assert {p: p.read_bytes() for p in written} == before  # untouched
    assert export_study(url, "tiny", out, pick="pareto") == written  # a re-export may
    (out / MARKER).unlink()  # an export older than the marker: its files' provenance decides
    for path in written:
        document = yaml.safe_load(path.read_text())
        document["provenance"]["study"] = "someone-else"
        path.write_text(yaml.safe_dump(document))
    with pytest.raises(EvosnnError, match="someone-else"):
        export_study(url, "tiny", out, pick="pareto")


def test_export_refuses_a_folder_holding_another_pick(
    study: tuple[Path, str], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _, url = study
    out = tmp_path / "export"
    written = export_study(url, "tiny", out, pick="knee")
    number = load_export(written[0]).provenance["trial"]
    assert yaml.safe_load((out / MARKER).read_text())["pick"] == "knee"
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for pick, trial in (("pareto", None), ("best-faeb", None), ("trial", number)):
        with pytest.raises(OutputError) as refused:
            export_study(url, "tiny", out, pick=pick, trial=trial)
        shown = f"--pick {pick}" + ("" if trial is None else f" --trial {trial}")
        assert str(refused.value) == (
            f"--out {out} holds the --pick knee export of study 'tiny'; a {shown} export "
            "there would mix the two: choose another --out"
        )
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # untouched
    assert export_study(url, "tiny", out, pick="knee") == written  # a re-export may

    # --pick trial: the trial number selects too
    single = tmp_path / "single"
    export_study(url, "tiny", single, pick="trial", trial=number)
    other = next(n for n in range(10) if n != number)
    with pytest.raises(OutputError, match=f"holds the --pick trial --trial {number} export"):
        export_study(url, "tiny", single, pick="trial", trial=other)

    # a marker written before it held the pick: the files' provenance names the pick
    (out / MARKER).write_text(
        yaml.safe_dump({"study": "tiny", "storage": load_export(written[0]).provenance["storage"]})
    )
    with pytest.raises(OutputError, match="holds the --pick knee export"):
        export_study(url, "tiny", out, pick="pareto")
    # ... and where no file names one, nothing says which pick it was: the export goes ahead
    for path in written:
        document = yaml.safe_load(path.read_text())
        del document["provenance"]["pick"]
        path.write_text(yaml.safe_dump(document))
    (out / MARKER).write_text(
        yaml.safe_dump({"study": "tiny", "storage": load_export(written[0]).provenance["storage"]})
    )
    front = export_study(url, "tiny", out, pick="pareto")
    assert yaml.safe_load((out / MARKER).read_text())["pick"] == "pareto"

    # a re-export of the same pick names the files an earlier one left that it no longer chooses
    (out / "trial-99999.yaml").write_bytes(front[0].read_bytes())
    with caplog.at_level(logging.WARNING, logger="evosnn.reporting.export"):
        export_study(url, "tiny", out, pick="pareto")
    assert "trial-99999.yaml from an earlier --pick pareto export" in caplog.text
    assert (out / "trial-99999.yaml").is_file()  # kept


def test_export_and_train_refuse_what_another_process_is_writing(
    study: tuple[Path, str],
    tmp_path: Path,
    holders: list[Holder],
    capsys: pytest.CaptureFixture[str],
) -> None:
    from evosnn.cli import main

    _, url = study
    out = tmp_path / "export"
    path = export_study(url, "tiny", out, pick="knee")[0]
    first = start_holder(holders)
    assert first.ask(f"lock {out}") == f"held {first.pid}"
    with pytest.raises(FolderInUse, match=f"^--out {out} is in use by pid {first.pid} on "):
        export_study(url, "tiny", out, pick="knee")
    assert first.ask("release") == "released"

    checkpoint = f"{path.stem}.retrained.pt"
    trained = tmp_path / "trained"
    assert first.ask(f"lock {trained} {checkpoint}") == f"held {first.pid}"
    assert first.ask(f"lock {out} {checkpoint}") == f"held {first.pid}"
    assert first.ask(f"lock {trained / 'tune'}") == f"held {first.pid}"
    recipe = ["--epochs", "1", "--batch-size", "32"]
    for argv, busy in (
        ([str(path), "--out", str(trained)], trained / checkpoint),
        ([str(path)], out / checkpoint),  # beside the file
        ([str(path), "--out", str(trained), "--tune"], trained / "tune"),
    ):
        assert main(["train", *argv, *recipe]) == 2
        line = capsys.readouterr().err.strip()
        assert line.startswith(f"evosnn: error: {busy} is in use by pid {first.pid} on "), line
    assert sorted(p.name for p in trained.iterdir()) == sorted(
        [f".{checkpoint}.evosnn-lock", "tune"]
    )  # nothing trained


def test_export_records_an_absolute_storage_url(
    study: tuple[Path, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    base, _ = study
    monkeypatch.chdir(base)
    path = export_study("sqlite:///study.db", "tiny", tmp_path / "e", pick="knee")[0]
    assert load_export(path).provenance["storage"] == f"sqlite:///{base / 'study.db'}"


def test_retrainings_are_kept_per_recipe_and_edited_configs_not_recorded(
    study: tuple[Path, str], tmp_path: Path
) -> None:
    from evosnn.training.retrain import check_record, record_in_study, retrain_exported
    from supernet.recipe import TrainSettings

    _, url = study
    path = export_study(url, "tiny", tmp_path / "e", pick="knee")[0]
    exported = load_export(path)
    assert check_record(url, exported) is None
    results = []
    for epochs, lr in ((2, 3e-3), (1, 1e-2)):
        settings = TrainSettings(epochs=epochs, lr=lr, batch_size=32, warmup_epochs=1)
        result = retrain_exported(exported, tmp_path / f"e{epochs}", settings, progress=False)
        assert record_in_study(url, exported, result) == f"retrained[e{epochs}-lr{lr:g}]"
        results.append(result)
    trial = optuna.load_study(study_name="tiny", storage=url).trials[exported.provenance["trial"]]
    long_run, short_run = results
    assert trial.user_attrs["retrained[e2-lr0.003]"]["retrained_val_accuracy"] == (
        long_run.val_accuracy
    )
    assert trial.user_attrs["retrained[e1-lr0.01]"]["retrained_epochs"] == 1
    assert trial.user_attrs["retrained_epochs"] == 1  # the flat attrs: the latest run
    assert trial.user_attrs["retrained_val_accuracy"] == short_run.val_accuracy

    document = yaml.safe_load(path.read_text())
    first = document["config"]["threshold"][0]
    document["config"]["threshold"][0] = next(
        t for t in exported.space.choices.threshold if t != first
    )
    edited = path.with_name("edited.yaml")
    edited.write_text(yaml.safe_dump(document, sort_keys=False))
    reason = check_record(url, load_export(edited))
    assert reason is not None and "not the architecture of trial" in reason


def test_train_says_where_it_recorded_and_what_it_did_not(
    study: tuple[Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from evosnn.cli import main

    _, url = study
    path = export_study(url, "tiny", tmp_path / "e", pick="knee")[0]
    args = ["--epochs", "1", "--batch-size", "32", "--lr", "0.002"]
    assert main(["train", str(path), *args, "--out", str(tmp_path / "a")]) == 0
    assert "as retrained[e1-lr0.002] (retrained_* hold the latest run" in capsys.readouterr().out
    document = yaml.safe_load(path.read_text())
    document["config"]["tau"][0] = next(
        t for t in document["space"]["choices"]["tau"] if t != document["config"]["tau"][0]
    )
    edited = path.with_name("edited.yaml")
    edited.write_text(yaml.safe_dump(document, sort_keys=False))
    assert main(["train", str(edited), *args, "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "not the architecture of trial" in out and "recorded on trial" not in out
