"""Nothing lost, nothing overwritten silently: export folders, storage URLs, retraining records."""

from __future__ import annotations

from pathlib import Path

import optuna
import pytest
import yaml

from evosnn.core.errors import EvosnnError
from evosnn.reporting.export import MARKER, export_study, load_export
from tests.studies import copy_database, searched_tiny_study


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
    assert export_study(url, "tiny", out, pick="knee")  # the same study may add to its folder
    (out / MARKER).unlink()  # an export older than the marker: its files' provenance decides
    for path in written:
        document = yaml.safe_load(path.read_text())
        document["provenance"]["study"] = "someone-else"
        path.write_text(yaml.safe_dump(document))
    with pytest.raises(EvosnnError, match="someone-else"):
        export_study(url, "tiny", out, pick="pareto")


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
