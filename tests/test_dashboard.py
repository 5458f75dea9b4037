"""`evosnn dashboard` serves a study through optuna-dashboard's HTTP API, on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from evosnn.evaluation import Evaluation
from evosnn.figures import FIGURE_IDS, SearchView, store_figures
from evosnn.genome import GenomeCodec
from evosnn.ledger import Ledger
from evosnn.space import SearchSpace


def get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


def test_dashboard_serves_the_study(tmp_path: Path, tiny_space: SearchSpace) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.db'}"
    codec = GenomeCodec(tiny_space)
    ledger = Ledger.open(url, "demo", codec)
    for i, genome in enumerate([(0,) * 11, (1,) * 11, (1, 0) + (1,) * 9]):
        trial = ledger.start(genome, {"generation": 0, "engine": "random"})
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
                studies = get(f"{base}/api/studies")["study_summaries"]
                break
            except OSError:
                assert time.monotonic() < deadline, "the dashboard did not start"
                time.sleep(0.3)
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
            listening = subprocess.run(["ss", "-ltn"], capture_output=True, text=True).stdout
            line = next(line for line in listening.splitlines() if f":{port} " in line)
            assert "127.0.0.1" in line  # loopback only by default
    finally:
        server.terminate()
        server.wait(timeout=30)
