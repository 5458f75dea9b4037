"""The search summary a newcomer reads: hypervolume as a share of a stated box, units everywhere."""

from __future__ import annotations

from evosnn.search.settings import ParetoRow, SearchSummary
from evosnn.search.summary import format_summary


def _summary(
    *, hv_reference_mj: float = 0.0, energy_target_mj: float | None = None
) -> SearchSummary:
    rows = [ParetoRow(7, 0.95, 0.004, 0.93, 12_345, "depth 2", None)]
    return SearchSummary(
        "demo",
        "sqlite:///x.db",
        96,
        96,
        0,
        0.0066,
        rows,
        31.4,
        0,
        hv_reference_mj=hv_reference_mj,
        energy_target_mj=energy_target_mj,
    )


def test_hypervolume_is_a_share_of_the_reference_box() -> None:
    summary = _summary(hv_reference_mj=0.0075, energy_target_mj=0.00375)
    assert summary.hypervolume_share == 0.0066 / 0.0075
    first = format_summary(summary)[0]
    assert first.endswith(
        "hypervolume 88.0 % of the reference box (accuracy 0-100 % x energy 0-0.0075 mJ/image)"
    )
    assert "in 31 s;" in first


def test_without_a_box_the_hypervolume_keeps_its_unit() -> None:
    summary = _summary()
    assert summary.hypervolume_share is None
    assert format_summary(summary)[0].endswith("hypervolume 0.0066 accuracy x mJ/image")


def test_every_column_has_its_unit() -> None:
    lines = format_summary(_summary(hv_reference_mj=0.0075, energy_target_mj=0.00375))
    assert "mJ/image" in lines[2] and "val acc" in lines[2]
    assert lines[3].split()[:5] == ["7", "95.00%", "-", "0.004", "0.9300"]
    assert "12,345" in lines[3]
    assert "0.00375 mJ/image" in lines[-1] and "F_AEB" in lines[-1]
