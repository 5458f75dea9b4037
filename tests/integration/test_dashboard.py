"""`evosnn dashboard` serves a study through optuna-dashboard, on loopback: its HTTP API, and the
page itself rendered by headless Chromium."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.reporting.figures import FIGURE_IDS, SearchView, store_figures
from evosnn.storage.ledger import Ledger

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# The flags a sandboxed, offline machine needs (no background connections to Google's hosts).
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1400,2400",
    "--virtual-time-budget=20000",
]


pytestmark = pytest.mark.server


def get(url: str, timeout: float = 60) -> Any:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return json.loads(response.read())


def seeded_ledger(url: str, space: SearchSpace) -> None:
    """Three evaluations in a fresh study, with the search's figures stored."""
    codec = GenomeCodec(space)
    ledger = Ledger.open(url, "demo", codec)
    for i, genome in enumerate([(0,) * 11, (1,) * 11, (1, 0) + (1,) * 9]):
        trial = ledger.start(genome, {"generation": i // 2, "engine": "random"})
        result = Evaluation(
            status="ok",
            accuracy=0.5 + 0.1 * i,
            energy_mj=1e-4 * (i + 1),
            f_aeb=0.5,
            sops=1.0,
            macs=1.0,
        )
        ledger.finish(trial, result, {"worker": 0})
    store_figures(ledger, SearchView.from_records(ledger.records(), ref_energy=1e-3))


@contextlib.contextmanager
def dashboard(url: str) -> Iterator[str]:
    """`evosnn dashboard` on a free loopback port; yields its base URL once it answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "evosnn.cli", "dashboard", "--storage", url, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                get(f"{base}/api/studies")
                break
            except OSError:
                assert server.poll() is None, "the dashboard exited"
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.3)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_dashboard_serves_the_study(tmp_path: Path, tiny_space: SearchSpace) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    seeded_ledger(url, tiny_space)
    with dashboard(url) as base:
        studies = get(f"{base}/api/studies")["study_summaries"]
        (summary,) = [s for s in studies if s["study_name"] == "demo"]
        detail = get(f"{base}/api/studies/{summary['study_id']}")
        assert detail["objective_names"] == ["accuracy", "energy_mj"]
        assert len(detail["trials"]) == 3
        assert {a["key"] for a in detail["union_user_attrs"]} >= {"f_aeb", "genome", "worker"}
        assert detail["best_trials"]  # the Pareto front
        graphs = {g["id"]: json.loads(g["graph_object"]) for g in detail["plotly_graph_objects"]}
        assert set(graphs) == set(FIGURE_IDS)
        assert graphs["evosnn-hypervolume"]["data"][0]["x"] == [1, 2, 3]
        assert len(graphs["evosnn-pareto"]["data"][0]["x"]) == 3  # every evaluation
        if shutil.which("ss"):
            port = base.rsplit(":", 1)[1]
            listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
            line = next(line for line in listening.splitlines() if f":{port} " in line)
            assert "127.0.0.1" in line  # loopback only by default


@pytest.mark.slow
def test_dashboard_page_in_headless_chromium(tmp_path: Path, tiny_space: SearchSpace) -> None:
    """Render the study page and save a screenshot (to $EVOSNN_SCREENSHOTS if set)."""
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing; .ci/run installs Debian's chromium package")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    seeded_ledger(url, tiny_space)
    shots = Path(os.environ.get("EVOSNN_SCREENSHOTS") or tmp_path)
    shots.mkdir(parents=True, exist_ok=True)
    screenshot = shots / "dashboard-study.png"
    with dashboard(url) as base, tempfile.TemporaryDirectory() as profile:
        page = f"{base}/dashboard/studies/1"
        browser = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
        dom = subprocess.run(
            [*browser, "--dump-dom", page], capture_output=True, text=True, timeout=120
        ).stdout
        subprocess.run(
            [*browser, f"--screenshot={screenshot}", page],
            capture_output=True,
            timeout=120,
            check=True,
        )
    # optuna-dashboard's own Pareto front, and the search's stored figures, rendered as SVG text
    for text in ("Pareto Front", "Hypervolume over evaluations", "Pareto front by generation"):
        assert text in dom, text
    png = screenshot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 50_000  # a rendered page, not a blank
