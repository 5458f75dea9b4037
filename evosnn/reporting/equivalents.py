"""Front rows that are one network: trials whose evaluations are identical are listed once.

Two genomes can be the same network on the evaluation images (a block whose q, k or v never fired
makes its heads gene inert: see :mod:`evosnn.search.dedup`). Listing both as different results
misleads, so the printed front, the report and the export group them: the first trial of a group
stands for it, with "and N equivalent". Identical means equal accuracy, energy, SOPs and per-layer
firing rates.

Example:
    >>> for record, same in group_identical(front):  # doctest: +SKIP
    ...     print(record.number, front_note(record, same))
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from evosnn.storage.ledger import LedgerRecord

__all__ = ["front_note", "group_identical", "silence_note"]


def _identity(record: LedgerRecord) -> tuple[object, ...]:
    a = record.attrs
    rates = json.dumps(a.firing_rates, sort_keys=True)
    return (record.values, a.sops, a.correct, rates)


def group_identical(
    records: Sequence[LedgerRecord],
) -> list[tuple[LedgerRecord, list[LedgerRecord]]]:
    """``records`` grouped by identical evaluation, in order of each group's first trial."""
    groups: dict[tuple[object, ...], tuple[LedgerRecord, list[LedgerRecord]]] = {}
    for record in records:
        key = _identity(record)
        if key in groups:
            groups[key][1].append(record)
        else:
            groups[key] = (record, [])
    return list(groups.values())


def silence_note(silent: Sequence[str] | None) -> str:
    """``"silent: a, b"`` for the paths an evaluation found silent on every image ("" if none)."""
    return f"silent: {', '.join(silent)}" if silent else ""


def front_note(record: LedgerRecord, same: Sequence[LedgerRecord]) -> str:
    """What a front row adds to its architecture: its equivalents and its silent paths."""
    parts = []
    if same:
        parts.append(f"and {len(same)} equivalent (trial {', '.join(str(r.number) for r in same)})")
    silence = silence_note(record.attrs.silent_paths)
    if silence:
        parts.append(silence)
    return f" [{'; '.join(parts)}]" if parts else ""
