"""``evosnn space list`` and ``space check`` by shipped name, with units on every figure."""

from __future__ import annotations

import pytest

from evosnn.cli import main
from tests.conftest import SPACES


def test_space_list_names_every_shipped_space(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "list"]) == 0
    out = capsys.readouterr().out
    shipped = sorted(p.stem for p in SPACES.glob("*.yaml"))
    assert len(shipped) >= 7 and out.startswith(f"{len(shipped)} shipped search spaces in ")
    for name in shipped:
        assert f"  {name} " in out
    assert "cifar10 3x32x32 pixels, 10 classes, 6,192 architectures" in out


def test_space_check_takes_a_shipped_name(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "check", "digits-tiny"]) == 0
    out = capsys.readouterr().out
    assert "search_spaces/digits-tiny.yaml: OK, space 'digits-tiny'" in out
    assert "1x16x16 pixels" in out and "embed 64 channels" in out


def test_an_unknown_space_name_is_one_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["space", "check", "cifar11"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("evosnn: error: cifar11: no such search-space")
