"""The front lists one row per network: identical evaluations are grouped, silence is shown."""

from __future__ import annotations

from typing import Any

from optuna.trial import TrialState

from evosnn.reporting.equivalents import front_note, group_identical, silence_note
from evosnn.storage.ledger import LedgerRecord


def record(number: int, values: tuple[float, float], **attrs: Any) -> LedgerRecord:
    attrs = {"sops": 10.0, "firing_rates": {"blocks.0.proj": 0.0}, "correct": 9, **attrs}
    return LedgerRecord(number, (number,), TrialState.COMPLETE, values, attrs)


def test_identical_evaluations_are_one_row_with_their_equivalents() -> None:
    silent = ["blocks.0.attn_v", "blocks.0.proj"]
    first = record(16, (0.92, 0.01), silent_paths=silent)
    twin = record(32, (0.92, 0.01), silent_paths=silent, equivalent_to=16)
    late_twin = record(75, (0.92, 0.01), silent_paths=silent)
    other = record(20, (0.95, 0.02))
    same_values_other_rates = record(40, (0.92, 0.01), firing_rates={"blocks.0.proj": 0.1})
    groups = group_identical([first, other, twin, same_values_other_rates, late_twin])
    assert [(r.number, [s.number for s in same]) for r, same in groups] == [
        (16, [32, 75]),
        (20, []),
        (40, []),
    ]
    assert front_note(first, [twin, late_twin]) == (
        " [and 2 equivalent (trial 32, 75); silent: blocks.0.attn_v, blocks.0.proj]"
    )
    assert front_note(other, []) == ""
    assert silence_note([]) == "" and silence_note(["sps.conv2"]) == "silent: sps.conv2"
