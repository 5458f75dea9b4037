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
