"""Security: no credentials in logs, errors, exports, reports or the study; safe loaders only."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import uuid
from pathlib import Path

import optuna
import pytest
import yaml

from tests.conftest import ROOT, tiny_dict

PLANTED = "planted-pw-7rq2"  # trust auth ignores it; it must never show up anywhere
POSTGRES = f"postgresql+psycopg://postgres:{PLANTED}@127.0.0.1:5432/test"
SOURCES = [p for d in ("evosnn", "supernet", "workers") for p in (ROOT / d).rglob("*.py")]


def calls(name: str) -> list[tuple[Path, ast.Call]]:
    """Every call of ``something.name(...)`` or ``name(...)`` in the project's sources."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
                if called == name:
                    found.append((path, node))
    return found


def test_torch_load_is_always_weights_only() -> None:
    loads = calls("load")
    torch_loads = [
        (p, c)
        for p, c in loads
        if isinstance(c.func, ast.Attribute) and getattr(c.func.value, "id", "") == "torch"
    ]
    assert torch_loads  # the check looks at something
    for path, call in torch_loads:
        flags = {k.arg: k.value for k in call.keywords}
        weights_only = flags.get("weights_only")
        assert isinstance(weights_only, ast.Constant), f"{path}:{call.lineno}"
        assert weights_only.value is True, f"{path}:{call.lineno}"


def test_yaml_only_through_the_safe_loader() -> None:
    for path, call in calls("load") + calls("load_all") + calls("unsafe_load"):
        if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", "") == "yaml":
            pytest.fail(f"{path}:{call.lineno}: yaml.load; use yaml.safe_load")
    assert calls("safe_load")


def test_pickle_only_through_the_restricted_unpickler() -> None:
    for path in SOURCES:
        text = path.read_text()
        assert "pickle.load(" not in text and "pickle.loads(" not in text, path
    assert "_NumpyOnlyUnpickler(" in (ROOT / "evosnn" / "data" / "loading.py").read_text()


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.ray
def test_planted_password_appears_nowhere(tiny_checkpoint: Path, tmp_path: Path) -> None:
    study = f"secret-{uuid.uuid4().hex[:8]}"
    space_file = tmp_path / "tiny.yaml"
    space_file.write_text(yaml.safe_dump(tiny_dict()))
    cli = [sys.executable, "-m", "evosnn.cli", "-v"]
    runs = [
        [*cli, "search", "--space", str(space_file), "--supernet", str(tiny_checkpoint),
         "--storage", POSTGRES, "--study", study, "--population", "2", "--generations", "2",
         "--workers", "1", "--recal-batches", "1"],
        [*cli, "export", "--storage", POSTGRES, "--study", study, "--out", str(tmp_path / "x"),
         "--pick", "knee", "--with-weights", "--supernet", str(tiny_checkpoint)],
        [*cli, "report", "--storage", POSTGRES, "--study", study, "--out", str(tmp_path / "r")],
        [*cli, "export", "--storage", POSTGRES, "--study", "no-such-study", "--out",
         str(tmp_path / "y")],
        [*cli, "search", "--space", str(space_file), "--supernet", str(tiny_checkpoint),
         "--storage", POSTGRES.replace("5432", "1"), "--study", study],
    ]  # fmt: skip
    for command in runs:
        run = subprocess.run(command, capture_output=True, text=True, timeout=300)
        output = run.stdout + run.stderr
        assert PLANTED not in output, command[4]
        if "no-such-study" in command or ":1/" in " ".join(command):
            assert run.returncode == 2 and "***" in output  # the URL is shown, redacted
        else:
            assert run.returncode == 0, output[-2000:]
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".yaml", ".html")]
    assert len(written) >= 2
    for path in written:
        assert PLANTED not in path.read_text(), path
    storage = optuna.storages.RDBStorage(POSTGRES)
    study_id = storage.get_study_id_from_name(study)
    stored = {
        "user": storage.get_study_user_attrs(study_id),
        "system": storage.get_study_system_attrs(study_id),
        "trials": [t.user_attrs for t in storage.get_all_trials(study_id)],
    }
    assert PLANTED not in json.dumps(stored, default=str)
