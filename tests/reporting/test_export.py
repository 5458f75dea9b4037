from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import optuna
import pytest
import torch
import yaml

from evosnn.core.errors import ConfigError, EvosnnError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace
from evosnn.data.loading import load_splits
from evosnn.reporting.export import export_study, load_export
from evosnn.search import SearchSettings, search_study
from supernet import Spikformer
from supernet.validate import count_correct
from tests.conftest import local_ray, tiny_dict

# every test here takes the module's search on Ray into PostgreSQL (over 10 s on 2 cores)
pytestmark = [pytest.mark.slow, pytest.mark.ray, pytest.mark.postgres]

PLANTED = "planted-pw-93xq"
POSTGRES = f"postgresql+psycopg://postgres:{PLANTED}@127.0.0.1:5432/test"


@pytest.fixture(scope="module")
def searched(
    tiny_checkpoint: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """A finished search in PostgreSQL, reached with a (planted, ignored by trust auth) password."""
    study = f"export-{uuid.uuid4().hex[:8]}"
    space = SearchSpace.from_dict(tiny_dict())
    with local_ray():
        settings = SearchSettings(
            population=4,
            generations=2,
            workers=2,
            eval=EvalSettings(recal_batches=2, recal_batch_size=16),
        )
        search_study(space, tiny_checkpoint, POSTGRES, study, settings, progress=False)
    yield POSTGRES, study


def test_exported_weights_reproduce_the_searched_accuracy(
    searched: tuple[str, str], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    url, study = searched
    written = export_study(url, study, tmp_path, pick="pareto", supernet=tiny_checkpoint)
    yamls = [p for p in written if p.suffix == ".yaml"]
    assert yamls and all(p.with_suffix(".pt") in written for p in yamls)
    for path in yamls:
        text = path.read_text()
        assert PLANTED not in text and "***" in text
        exported = load_export(path)
        low, high = exported.metrics["accuracy_ci95"]
        assert low <= exported.metrics["accuracy"] <= high
        assert exported.metrics["test_accuracy"] is not None  # a Pareto member: scored on test
        assert exported.metrics["energy_mj_strict"] > exported.metrics["energy_mj_spikformer"]
        # every convention and the ANN baselines travel with the architecture (issue 33)
        assert exported.metrics["energy_mj_memory"] > exported.metrics["energy_mj_spikformer"]
        assert exported.metrics["energy_mj_fp32"] > exported.metrics["energy_mj_qnn"] > 0
        assert 0 <= exported.metrics["break_even_rate"] <= 1
        data = exported.space.dataset
        model = Spikformer(exported.config, exported.space.geometry)
        model.load_state_dict(torch.load(exported.weights_path, weights_only=True))
        splits = load_splits(data)
        correct, total, _ = count_correct(model.eval(), splits.val, splits.mean, splits.std)
        assert (correct, total) == (exported.metrics["correct"], exported.metrics["total"])
        assert (
            exported.provenance["study"] == study
            and len(exported.provenance["supernet_sha256"]) == 64
        )


def test_picks(searched: tuple[str, str], tmp_path: Path) -> None:
    url, study = searched
    pareto = export_study(url, study, tmp_path / "p", pick="pareto")
    knee = export_study(url, study, tmp_path / "k", pick="knee")
    best = export_study(url, study, tmp_path / "b", pick="best-faeb")
    assert len(knee) == 1 and len(best) == 1
    assert {p.name for p in knee} <= {p.name for p in pareto}
    number = load_export(best[0]).provenance["trial"]
    assert (
        export_study(url, study, tmp_path / "t", pick="trial", trial=number)[0].name == best[0].name
    )
    with pytest.raises(EvosnnError, match="no trial 999"):
        export_study(url, study, tmp_path / "x", pick="trial", trial=999)


def test_hand_edited_exports_are_refused(searched: tuple[str, str], tmp_path: Path) -> None:
    url, study = searched
    path = export_study(url, study, tmp_path, pick="best-faeb")[0]
    document = yaml.safe_load(path.read_text())
    document["config"]["tau"] = [3.0] * document["config"]["depth"]
    path.write_text(yaml.safe_dump(document))
    with pytest.raises(ConfigError, match=rf"{path.name}.*tau\[0\]: 3.0 is not a choice"):
        load_export(path)
    path.write_text("format: something-else\n")
    with pytest.raises(ConfigError, match="not an evosnn architecture file"):
        load_export(path)


def test_retrain_an_exported_architecture_and_record_it(
    searched: tuple[str, str], tiny_checkpoint: Path, tmp_path: Path
) -> None:
    from evosnn.core.errors import CheckpointError
    from evosnn.training.retrain import record_in_study, retrain_exported
    from supernet.train import TrainSettings

    url, study = searched
    path = next(
        p
        for p in export_study(url, study, tmp_path, pick="best-faeb", supernet=tiny_checkpoint)
        if p.suffix == ".yaml"
    )
    exported = load_export(path)
    settings = TrainSettings(epochs=2, batch_size=32, warmup_epochs=1)
    result = retrain_exported(exported, tmp_path, settings, init="inherited", progress=False)
    assert 0 <= result.val_accuracy <= 1 and 0 <= result.test_accuracy <= 1 and result.energy_mj > 0
    saved = torch.load(result.checkpoint, weights_only=True)
    assert saved["status"] == "complete" and saved["config"] == exported.config.to_dict()
    with pytest.raises(CheckpointError, match="already exists"):
        retrain_exported(exported, tmp_path, settings, progress=False)
    again = retrain_exported(exported, tmp_path, settings, resume=True, progress=False)
    assert again.test_accuracy == result.test_accuracy  # a complete run resumes to the same model
    assert record_in_study(url, exported, result)
    loaded = optuna.load_study(study_name=study, storage=url)
    trial = loaded.trials[exported.provenance["trial"]]
    assert trial.state == optuna.trial.TrialState.COMPLETE  # annotated, still finished
    assert trial.user_attrs["retrained_test_accuracy"] == result.test_accuracy
    assert trial.user_attrs["f_aeb"] == exported.metrics["f_aeb"]  # search-time attrs intact
    assert record_in_study(url, exported, result)  # twice: replaced, not duplicated
    again_trial = optuna.load_study(study_name=study, storage=url).trials[trial.number]
    assert again_trial.user_attrs == trial.user_attrs


def test_report_of_a_finished_search(searched: tuple[str, str], tmp_path: Path) -> None:
    from evosnn.cli import main
    from evosnn.reporting.report import REPORT_FILES

    url, study = searched
    out = tmp_path / "report"
    assert main(["report", "--storage", url, "--study", study, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == sorted(REPORT_FILES)
    for name in REPORT_FILES[1:]:
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (out / "index.html").read_text()
    assert PLANTED not in page and "***" in page
    knee = next(p for p in export_study(url, study, tmp_path / "k", pick="knee"))
    assert f"<td>{load_export(knee).provenance['trial']} &#9733;</td>" in page  # the knee, starred
    pareto = [p for p in export_study(url, study, tmp_path / "p", pick="pareto")]
    table = page.split("<h2>Pareto architectures vs the largest subnet</h2>")[1].split("</table>")[
        0
    ]
    assert table.count("<tr><td>") == len(pareto)  # one row per Pareto architecture
    assert "<tr class=base><td>largest</td>" in page
    # validation and held-out test side by side, each with its interval; the convention named
    assert "<th>val. accuracy [95% CI]</th><th>test accuracy [95% CI]</th>" in page
    assert page.count("<small>[") == 2 * (len(pareto) + 1)  # front rows + the largest subnet
    assert "<b>spikformer</b> convention" in page
    assert main(["report", "--storage", url, "--study", "nope", "--out", str(out)]) == 2
