"""`evosnn supernet rank-check`: stratified subnets, stand-alone runs on Ray workers that resume
after a SIGKILL without redoing finished runs, the statistics in the study and the report, and
bad input that never yields a silent wrong number."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from evosnn.core.errors import EvosnnError
from evosnn.core.evaluation import EvalSettings
from evosnn.core.space import SearchSpace
from evosnn.proxy.check import PLATEAU_TOLERANCE, RankCheckSettings, rank_check
from evosnn.reporting.report import write_report
from evosnn.search import SearchSettings, search_study
from evosnn.storage.ledger import read_study_attrs
from tests.conftest import tiny_dict

#: Long enough (at this learning rate) that stand-alone runs of the tiny space rank subnets.
QUICK = ["--subnets", "6", "--seeds", "2", "--epochs", "10", "--lr", "1e-2", "--batch-size", "16"]


@pytest.mark.slow
@pytest.mark.ray
def test_rank_check_resumes_after_sigkill_and_lands_in_study_and_report(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    settings = SearchSettings(
        population=4, generations=1, workers=0, eval=EvalSettings(recal_batches=1)
    )
    search_study(
        SearchSpace.from_dict(tiny_dict()), tiny_checkpoint, url, "s", settings, progress=False
    )
    out = tmp_path / "check"
    command = [
        sys.executable, "-m", "evosnn.cli", "supernet", "rank-check", "--supernet",
        str(tiny_checkpoint), "--out", str(out), "--workers", "2", *QUICK,
    ]  # fmt: skip
    driver = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    results = out / "results.json"
    deadline = time.monotonic() + 300
    while not (results.is_file() and len(json.loads(results.read_text())) >= 2):
        assert driver.poll() is None, "the check ended before it could be killed"
        assert time.monotonic() < deadline, "no stand-alone run finished"
        time.sleep(0.05)
    os.killpg(driver.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    driver.wait()
    finished = json.loads(results.read_text())
    assert 2 <= len(finished) < 12
    checkpoints = {
        key: (out / "runs" / f"subnet-{int(key.split('-')[0]):02d}-seed-{key.split('-')[1]}"
              ".retrained.pt").stat().st_mtime_ns
        for key in finished
    }  # fmt: skip

    done = subprocess.run(
        [*command, "--storage", url, "--study", "s"], capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "6 subnets: inherited tau" in done.stdout
    everything = json.loads(results.read_text())
    assert len(everything) == 12 and all(r["status"] == "ok" for r in everything.values())
    for key, mtime in checkpoints.items():  # finished before the kill: not trained again
        assert everything[key] == finished[key]
        name = f"subnet-{int(key.split('-')[0]):02d}-seed-{key.split('-')[1]}.retrained.pt"
        assert (out / "runs" / name).stat().st_mtime_ns == mtime

    summary = json.loads((out / "rank_check.json").read_text())
    unconverged = summary["plateau_gain_last_quarter"] > PLATEAU_TOLERANCE
    assert ("the stand-alone runs have not converged" in done.stderr) == unconverged
    assert (out / "rank_check.png").stat().st_size > 0
    chosen = json.loads((out / "subnets.json").read_text())["subnets"]
    energies = [s["energy_mj"] for s in chosen]
    assert energies == sorted(energies)  # one per energy stratum, low to high
    assert summary["subnets"] == 6 and len(summary["bias_by_energy"]) == 4
    points = summary["points"]  # the offset is the mean bias; the tilts are what is left per bin
    offset = sum(p["inherited"] - p["standalone"] for p in points) / len(points)
    assert summary["bias_offset"] == pytest.approx(offset)
    assert summary["bias_tilt"] == pytest.approx(
        [b["bias"] - offset for b in summary["bias_by_energy"]]
    )
    assert f"offset {100 * offset:+.1f}" in done.stdout
    trend = summary["bias_trend"]  # least squares of the bias on log2 energy
    bias = [p["inherited"] - p["standalone"] for p in points]
    slope = np.polyfit(np.log2([p["energy_mj"] for p in points]), bias, 1)[0]
    assert trend["slope"] == pytest.approx(slope) and len(trend["tilt"]) == 4
    assert f"trend {100 * slope:+.1f} per doubling" in done.stdout
    assert -1 <= summary["proxy"]["kendall_tau"] <= 1
    assert summary["energy_only"]["partial_rho"] is None
    assert read_study_attrs(url, "s")["evosnn:rank_check"] == summary
    report = write_report(url, "s", tmp_path / "report")
    assert "Supernet rank check" in report.index.read_text()
    assert "tilt from it" in report.index.read_text()
    assert "points per doubling" in report.index.read_text()

    # Held to this check as a reference, another evaluation of the proxy trains nothing: same
    # subnets, same stand-alone runs (so the same ceiling), a proxy measured anew.
    again = subprocess.run(
        [sys.executable, "-m", "evosnn.cli", "supernet", "rank-check", "--supernet",
         str(tiny_checkpoint), "--out", str(tmp_path / "again"), "--reference", str(out),
         "--recal-batches", "1", "--workers", "0"],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert again.returncode == 0, again.stderr[-2000:]
    second = json.loads((tmp_path / "again" / "rank_check.json").read_text())
    assert not (tmp_path / "again" / "runs").exists()
    assert second["reference"] == str(out.resolve())
    assert second["settings"]["epochs"] == 10 and second["settings"]["eval"]["recal_batches"] == 1
    assert second["ceiling_partial_rho"] == summary["ceiling_partial_rho"]
    assert [p["standalone"] for p in second["points"]] == [
        p["standalone"] for p in summary["points"]
    ]
    rechosen = json.loads((tmp_path / "again" / "subnets.json").read_text())["subnets"]
    assert [s["config"] for s in rechosen] == [s["config"] for s in chosen]
    assert [s["inherited"] for s in rechosen] != [
        s["inherited"] for s in chosen
    ]  # 1 BN batch, not 4


def test_bad_input_is_refused_before_any_training(tiny_checkpoint: Path, tmp_path: Path) -> None:
    with pytest.raises(EvosnnError, match="at least 6 subnets"):
        RankCheckSettings(subnets=5)
    with pytest.raises(EvosnnError, match="at least 2 seeds"):
        RankCheckSettings(seeds=1)
    other = tiny_dict()
    other["name"] = "another-space"
    with pytest.raises(EvosnnError, match="trained for a different space than the one given"):
        rank_check(
            tiny_checkpoint,
            tmp_path / "a",
            RankCheckSettings(subnets=6, seeds=2, epochs=1),
            space=SearchSpace.from_dict(other),
        )
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "request.json").write_text(json.dumps({"settings": "other"}))
    with pytest.raises(EvosnnError, match="holds a rank-check of another supernet or other"):
        rank_check(tiny_checkpoint, tmp_path / "b", RankCheckSettings(subnets=6, seeds=2))
    assert not (tmp_path / "a" / "results.json").exists()

    with pytest.raises(EvosnnError, match="not a finished rank-check folder"):
        rank_check(tiny_checkpoint, tmp_path / "c", RankCheckSettings(), reference=tmp_path / "b")
    finished = tmp_path / "finished"
    finished.mkdir()
    for name in ("request.json", "subnets.json", "results.json"):
        (finished / name).write_text(json.dumps({"settings": {}, "subnets": []}))
    (finished / "rank_check.json").write_text(json.dumps({"space": other}))
    with pytest.raises(EvosnnError, match="checked a supernet of space 'another-space'"):
        rank_check(tiny_checkpoint, tmp_path / "d", RankCheckSettings(), reference=finished)
    assert not (tmp_path / "d").exists()


def test_diverging_runs_are_recorded_and_no_statistic_is_made_up(
    tiny_checkpoint: Path, tmp_path: Path
) -> None:
    settings = RankCheckSettings(
        subnets=6, seeds=2, epochs=1, batch_size=16, lr=1e9, eval=EvalSettings(recal_batches=1)
    )
    with pytest.raises(EvosnnError, match=r"only 0 of 6 subnets trained on every seed"):
        rank_check(tiny_checkpoint, tmp_path, settings, progress=False)
    recorded = json.loads((tmp_path / "results.json").read_text())
    assert len(recorded) == 12
    assert {r["status"] for r in recorded.values()} == {"diverged"}
    assert all("loss became" in r["error"] for r in recorded.values())
    assert not (tmp_path / "rank_check.json").exists()


def test_the_space_file_given_must_be_the_supernets(tiny_checkpoint: Path, tmp_path: Path) -> None:
    """Through the CLI: --space names another space -> one line, exit status 2."""
    other = tiny_dict()
    other["choices"]["depth"] = [1]
    space_file = tmp_path / "other.yaml"
    space_file.write_text(yaml.safe_dump(other))
    done = subprocess.run(
        [sys.executable, "-m", "evosnn.cli", "supernet", "rank-check", "--supernet",
         str(tiny_checkpoint), "--space", str(space_file), "--out", str(tmp_path / "x"), *QUICK],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("evosnn: error: ")
    assert "was trained for a different space" in done.stderr
