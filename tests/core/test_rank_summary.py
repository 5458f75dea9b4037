"""The rank-check summary record: stored summaries of every schema read back, newer ones refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evosnn.core.errors import EvosnnError
from evosnn.core.rank_summary import SCHEMA, BiasTrend, RankCheckSummary
from evosnn.reporting.report import _rank_check

ROOT = Path(__file__).resolve().parents[2]
#: A summary written before the schema was versioned (schema 1: no offset, tilt or trend).
STORED = ROOT / "benchmarks" / "results" / "rank_check_pairs" / "rank_check.json"


def test_a_stored_schema_1_summary_loads_with_its_offset_and_tilt_derived() -> None:
    data = json.loads(STORED.read_text())
    assert "schema" not in data and "bias_tilt" not in data and "bias_trend" not in data
    summary = RankCheckSummary.from_dict(data, source=str(STORED))
    assert summary.subnets == data["subnets"] == len(summary.points)
    assert summary.proxy.kendall_tau == data["proxy"]["kendall_tau"]
    assert summary.energy_only.partial_rho is None
    bins = data["bias_by_energy"]
    offset = sum(b["n"] * b["bias"] for b in bins) / sum(b["n"] for b in bins)
    assert summary.bias_offset == pytest.approx(offset)
    assert summary.bias_tilt == pytest.approx([b["bias"] - offset for b in bins])
    assert summary.bias_trend is None  # never measured by that check: not made up
    assert summary.schema == SCHEMA  # read into the current record
    page = _rank_check(summary)
    assert f"{summary.subnets} subnets stratified" in page and "trend in energy" not in page


def test_a_current_summary_round_trips_and_a_newer_schema_is_refused() -> None:
    data = json.loads(STORED.read_text())
    summary = RankCheckSummary.from_dict(data)
    trended = RankCheckSummary.from_dict(
        {
            **summary.to_dict(),
            "bias_trend": {"slope": 0.01, "tilt": [-0.01, 0.01], "residual_sd": 0.02},
        }
    )
    stored = json.loads(json.dumps(trended.to_dict()))
    assert stored["schema"] == SCHEMA and "reference" not in stored
    assert RankCheckSummary.from_dict(stored) == trended
    assert trended.bias_trend == BiasTrend(0.01, [-0.01, 0.01], 0.02)
    assert "trend in energy +1.0 points per doubling" in _rank_check(
        RankCheckSummary.from_dict(stored)
    )
    with pytest.raises(EvosnnError, match=f"schema {SCHEMA + 1} is newer"):
        RankCheckSummary.from_dict({**stored, "schema": SCHEMA + 1})
    incomplete = dict(stored)
    del incomplete["points"]
    with pytest.raises(EvosnnError, match="lacks 'points'"):
        RankCheckSummary.from_dict(incomplete, source="x.json")
