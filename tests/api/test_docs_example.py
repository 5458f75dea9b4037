"""The Python API's documented example runs as written (docs/tutorials/python-api.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "tutorials" / "python-api.md"


def _examples() -> list[str]:
    return re.findall(r"```python\n(.*?)```", PAGE.read_text(encoding="utf-8"), flags=re.S)


def _example() -> str:
    """The pipeline: the page's first example."""
    return _examples()[0]


def test_the_documented_error_example_prints_what_it_says(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (code,) = [code for code in _examples() if "SettingError" in code]
    exec(compile(code, str(PAGE), "exec"), {})
    said = re.search(r"print\(error\)  # (.*)", code)
    assert said is not None and capsys.readouterr().out.strip() == said.group(1)


@pytest.mark.slow
def test_the_documented_pipeline_runs_and_reproduces_the_search(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import torch

    from evosnn.data.loading import load_splits
    from evosnn.reporting.export import load_export
    from supernet.validate import count_correct

    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(_example(), str(PAGE), "exec"), namespace)

    result, knee, logits = namespace["result"], namespace["knee"], namespace["logits"]
    assert logits.shape == (8, 10) and torch.isfinite(logits).all()
    assert result.front and 0 < result.hypervolume_share <= 1
    assert len(result.study.trials) >= 8  # population x generations, all in the Optuna study
    assert (tmp_path / "runs/api/export" / knee.name).is_file()
    # the exported weights, loaded as a plain module, score exactly what the search recorded
    import evosnn

    exported = load_export(knee)
    model = evosnn.load_model(knee)
    splits = load_splits(exported.space.dataset)
    correct, total, _ = count_correct(model, splits.val, splits.mean, splits.std)
    assert correct / total == pytest.approx(exported.metrics["accuracy"])
