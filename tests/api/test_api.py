"""The Python API's cheap parts: shipped spaces by name, lazy re-exports, bad input."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import evosnn
from evosnn.core.errors import CheckpointError, ConfigError, SpaceError
from evosnn.core.shipped import is_space_name, resolve_space

ROOT = Path(__file__).resolve().parents[2]


def test_shipped_spaces_are_found_by_name_and_paths_still_work() -> None:
    names = evosnn.list_spaces()
    assert {"digits-tiny", "cifar10-spikformer"} <= set(names)
    by_name = evosnn.load_space("cifar10-spikformer")
    by_path = evosnn.load_space(ROOT / "search_spaces" / "cifar10-spikformer.yaml")
    assert by_name == by_path and by_name.dataset.num_classes == 10
    assert evosnn.api.load_space is evosnn.load_space  # one function, however imported
    assert evosnn.api.spaces.as_space(by_name) is by_name


def test_a_file_in_the_working_folder_wins_over_a_shipped_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "digits-tiny").write_text("not: a space\n")
    monkeypatch.chdir(tmp_path)
    assert resolve_space("digits-tiny") == Path("digits-tiny")
    assert is_space_name("digits-tiny") and not is_space_name("x/digits-tiny")
    assert not is_space_name("mine.yaml")


def test_an_unknown_name_is_one_error_listing_the_shipped_spaces() -> None:
    with pytest.raises(SpaceError, match=r"no-such-space: .*shipped: .*digits-tiny"):
        evosnn.load_space("no-such-space")
    with pytest.raises(SpaceError, match="not found"):
        evosnn.load_space("missing/no-such.yaml")


def test_the_api_is_reexported_lazily() -> None:
    code = (
        "import sys, evosnn; before = {'torch', 'ray'} & set(sys.modules); "
        "f = evosnn.run_search; print(sorted(before), 'torch' in sys.modules, f.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["[]", "True", "evosnn.api.search"]
    assert {"run_search", "load_model", "export"} <= set(dir(evosnn))
    with pytest.raises(AttributeError):
        _ = evosnn.no_such_name


def test_load_model_rejects_what_is_not_an_exported_architecture(tmp_path: Path) -> None:
    bad = tmp_path / "trial-00001.yaml"
    bad.write_text("format: something-else\n")
    with pytest.raises(ConfigError, match="not an evosnn architecture file"):
        evosnn.load_model(bad)


def test_load_model_names_a_missing_or_foreign_weights_file(tmp_path: Path) -> None:
    import torch

    from tests.api.exported import write_export

    path = write_export(tmp_path)
    with pytest.raises(CheckpointError, match="weights file not found"):
        evosnn.load_model(path, weights=tmp_path / "nope.pt")
    torch.save({"head.weight": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(CheckpointError, match=r"not the weights of trial-00003\.yaml"):
        evosnn.load_model(path, weights=tmp_path / "other.pt")


def test_load_model_gives_a_plain_module_that_round_trips_its_weights(tmp_path: Path) -> None:
    import torch

    from tests.api.exported import write_export

    path = write_export(tmp_path)
    model = evosnn.load_model(path, weights=None)  # no weights beside it: fresh ones
    assert isinstance(model, torch.nn.Module) and not model.training
    torch.save(model.state_dict(), path.with_suffix(".pt"))
    again = evosnn.load_model(path)  # "exported": the .pt beside the file
    images = torch.randn(2, 1, 16, 16)
    assert torch.equal(model(images), again(images))
