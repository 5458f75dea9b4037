"""One validation layer: the Python API refuses what the CLI refuses, by the same rules.

Every settings record's checked fields are probed with values just outside their rule (and with
the wrong types); the API functions' own arguments (storage, study, pick, device, images) are
refused before any work starts (no Ray, no database, no data set loaded).
"""

from __future__ import annotations

import math
from dataclasses import fields
from pathlib import Path

import pytest
import torch

import evosnn
from evosnn.cli import build_parser
from evosnn.core.errors import SettingError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.outputs import OutputError
from evosnn.core.resources import RayResources
from evosnn.core.validation import Choice, Device, Real, Rule, Whole, rule_of
from evosnn.proxy.check import RankCheckSettings
from evosnn.search.settings import SearchSettings
from evosnn.training.tune import TuneSettings
from supernet.recipe import TrainSettings
from tests.api.exported import write_export

RECORDS = [
    SearchSettings,
    EvalSettings,
    RayResources,
    TrainSettings,
    TuneSettings,
    RankCheckSettings,
]


def _outside(rule: Rule) -> list[object]:
    """Values ``rule`` must refuse."""
    if isinstance(rule, Whole):
        return [rule.low - 1, rule.high + 1, float(rule.low), True, "3"] + (
            [] if rule.optional else [None]
        )
    if isinstance(rule, Real):
        below = rule.low if rule.low_open else rule.low - 1
        return [below, rule.high * 2, math.nan, math.inf, "1", None]
    if isinstance(rule, Choice):
        return ["no-such-choice", None]
    assert isinstance(rule, Device)
    return ["tpu", "cuda:x", "cpu:0", None]


CHECKED = [
    (record, item.name)
    for record in RECORDS
    for item in fields(record)
    if "evosnn.rule" in item.metadata
]


def test_every_settings_record_declares_rules() -> None:
    assert {record for record, _ in CHECKED} == set(RECORDS)
    assert len(CHECKED) >= 30


@pytest.mark.parametrize(("record", "name"), CHECKED, ids=lambda x: getattr(x, "__name__", x))
def test_every_checked_field_refuses_values_outside_its_rule(record: type, name: str) -> None:
    rule = rule_of(record, name)
    default = getattr(record(), name)
    rule.check(default)  # the default obeys its own rule
    for value in _outside(rule):
        with pytest.raises(SettingError, match=f"^{name}="):
            record(**{name: value})


def test_the_cli_flag_and_the_api_refuse_by_the_same_rule(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SettingError) as api:
        SearchSettings(population=10**20)
    with pytest.raises(SystemExit):
        build_parser().parse_args(
            ["search", "--space", "x", "--supernet", "x", "--population", "200000"]
        )
    cli = capsys.readouterr().err
    assert "must be from 2 to 100000" in str(api.value)
    assert "--population: must be from 2 to 100000, got 200000" in cli


@pytest.mark.parametrize(
    "fields_",
    [
        {"population": 10**20},
        {"population": math.nan},
        {"generations": 0},
        {"generations": -3},
        {"generations": math.inf},
        {"gpus_per_worker": math.nan},
        {"gpus_per_worker": -1},
        {"seed": 2**70},
        {"seed": -1},
        {"workers": 1.5},
        {"engine": "nope"},
        {"workers": 2, "gpus_per_worker": 1.5},
    ],
    ids=repr,
)
def test_run_search_refuses_bad_settings_before_anything(
    tmp_path: Path, fields_: dict[str, object]
) -> None:
    with pytest.raises(SettingError):
        evosnn.run_search("digits-tiny", tmp_path / "no.pt", **fields_)  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kwargs", [{"storage": ""}, {"study": ""}, {"study": "  "}], ids=repr)
def test_run_search_refuses_empty_storage_or_study(tmp_path: Path, kwargs: dict[str, str]) -> None:
    with pytest.raises(SettingError, match=next(iter(kwargs))):
        evosnn.run_search("digits-tiny", tmp_path / "no.pt", workers=0, **kwargs)  # type: ignore[arg-type]


def test_train_supernet_refuses_a_device_and_a_zero_epoch_count(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="tpu"):
        evosnn.train_supernet("digits-tiny", tmp_path / "r", device="tpu")
    with pytest.raises(SettingError, match="epochs=0"):
        evosnn.train_supernet("digits-tiny", tmp_path / "r", epochs=0)
    with pytest.raises(SettingError, match=r"threads=1\.5"):
        evosnn.train_supernet("digits-tiny", tmp_path / "r", threads=1.5)
    assert not (tmp_path / "r").exists()


def test_export_refuses_what_is_not_a_study_or_a_pick(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="storage URL, study name"):
        evosnn.export("notastudy", tmp_path / "ex")  # type: ignore[arg-type]
    with pytest.raises(SettingError, match="pick="):
        evosnn.export(("sqlite:///x.db", "s"), tmp_path / "ex", pick="best")
    with pytest.raises(SettingError, match="tpu"):
        evosnn.export(("sqlite:///x.db", "s"), tmp_path / "ex", device="tpu")
    with pytest.raises(SettingError, match="--trial 3"):
        evosnn.export(("sqlite:///x.db", "s"), tmp_path / "ex", trial=3)
    assert not (tmp_path / "ex").exists()


def test_retrain_refuses_a_device_an_init_and_a_file_as_out(tmp_path: Path) -> None:
    arch = tmp_path / "trial-00000.yaml"  # never read: the settings are checked first
    with pytest.raises(SettingError, match="tpu"):
        evosnn.retrain(arch, device="tpu")
    with pytest.raises(SettingError, match="init="):
        evosnn.retrain(arch, init="pretrained")
    with pytest.raises(SettingError, match="lr="):
        evosnn.retrain(arch, lr=-1.0)
    exported = write_export(tmp_path)
    a_file = tmp_path / "a-file.txt"
    a_file.write_text("not a folder")
    with pytest.raises(OutputError, match="is a file, not a folder"):
        evosnn.retrain(exported, out=a_file, epochs=1)
    assert a_file.read_text() == "not a folder"


def test_load_model_refuses_an_unknown_inference_mode(tmp_path: Path) -> None:
    with pytest.raises(SettingError, match="inference="):
        evosnn.load_model(tmp_path / "trial-00000.yaml", inference="analog")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("images", "says"),
    [
        (torch.zeros(2, 3, 32, 32, dtype=torch.uint8), "shape"),
        (torch.zeros(1, 16, 16, dtype=torch.uint8), "shape"),
        (torch.full((2, 1, 16, 16), math.nan), "NaN"),
        (torch.full((2, 1, 16, 16), 300.0), "0-255"),
        (torch.zeros(2, 1, 16, 16).numpy(), "not a tensor"),
    ],
    ids=["rgb-32", "3d", "nan", "over-255", "numpy"],
)
def test_model_inputs_refuses_images_the_model_cannot_take(
    tmp_path: Path, images: object, says: str
) -> None:
    with pytest.raises(SettingError, match=says):
        evosnn.model_inputs(write_export(tmp_path), images)  # type: ignore[arg-type]


def test_model_inputs_takes_raw_pixels_of_the_model_geometry(tmp_path: Path) -> None:
    pixels = torch.randint(0, 256, (2, 1, 16, 16), dtype=torch.uint8)
    assert evosnn.model_inputs(write_export(tmp_path), pixels).shape == (2, 1, 16, 16)
