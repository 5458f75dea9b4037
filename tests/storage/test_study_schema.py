"""The study's schema: one module names every attribute; nothing else reads them by string."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from optuna.trial import TrialState

from evosnn.core.evaluation import Evaluation
from evosnn.storage import study_schema as schema
from evosnn.storage.ledger import LedgerRecord
from evosnn.storage.study_schema import StudyRecord, TrialAttrs

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "evosnn" / "storage" / "study_schema.py"
STORAGE = ROOT / "evosnn" / "storage"

_MAPPING = r"(?:\w*attrs(?:\(\))?|\.raw)"
#: A study or trial attribute read by a string key: ``attrs.get("x")``, ``user_attrs["x"]``,
#: ``"x" in ledger.attrs()``, ``.raw.get("x")``.
STRING_KEYED = re.compile(
    rf"{_MAPPING}\s*(?:\.get\(|\[)\s*f?[\"']|[\"'][\w:\[\].-]+[\"']\s+(?:not\s+)?in\s+[\w.]*{_MAPPING}"
)
#: The raw mappings, which only the storage package hands to the schema's typed views.
RAW = re.compile(r"\buser_attrs\b|\.attrs\(\)")


def attribute_reads(roots: list[Path]) -> list[str]:
    """``file:line: text`` of every string-keyed attribute read (anywhere but the schema) and
    every use of a raw attribute mapping outside ``evosnn/storage``.

    A line-by-line grep, not a type check: a raw mapping renamed to something without ``attrs``
    escapes the first rule, which is why the second keeps raw mappings inside the storage package.
    """
    found = []
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            if path == SCHEMA:
                continue
            in_storage = STORAGE in path.parents
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if STRING_KEYED.search(line) or (not in_storage and RAW.search(line)):
                    found.append(f"{path.relative_to(root.parent)}:{number}: {line.strip()}")
    return found


def test_no_string_keyed_attribute_read_outside_the_schema() -> None:
    found = attribute_reads([ROOT / "evosnn", ROOT / "workers"])
    assert not found, "read these through evosnn.storage.study_schema:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        'target = ledger.attrs().get("energy_target_mj")',
        'x = study_attrs["space"]',
        'if "reference_largest" not in attrs:',
        'f = record.user_attrs.get("f_aeb", 0.0)',
        "a = r.user_attrs",
        "rank = attrs.get('evosnn:rank_check')",
    ],
)
def test_the_guard_finds_a_string_keyed_read(tmp_path: Path, line: str) -> None:
    package = tmp_path / "evosnn"
    package.mkdir()
    (package / "reader.py").write_text(
        f"def f(ledger, record, r, attrs, study_attrs):\n    {line}\n"
    )
    assert attribute_reads([package]) == [f"evosnn/reader.py:2: {line}"]


def test_a_study_record_round_trips() -> None:
    attrs = {
        schema.SPACE: {"name": "tiny"},
        schema.SUPERNET_SHA256: "ab" * 32,
        schema.ENGINE: "nsga2",
        schema.SEED: 3,
        schema.POPULATION: 8,
        schema.EVALUATION: {"batch_size": 64},
        schema.ENERGY_TARGET_MJ: 0.004,
        schema.HV_REFERENCE: {"accuracy": 0.0, "energy_mj": 0.008},
        schema.HYPERVOLUME_HISTORY: [[8, 0.001]],
        schema.RANK_CHECK: {"tau": 0.5},
        "someone_elses": [1, 2],
    }
    study = StudyRecord.from_attrs(attrs)
    assert study.engine == "nsga2" and study.rank_check == {"tau": 0.5}
    assert study.other == {"someone_elses": [1, 2]}
    assert study.attrs() == attrs
    assert StudyRecord.from_attrs(study.attrs()) == study


def test_an_old_study_reads_with_the_documented_defaults() -> None:
    """A study written before most keys existed: None, empty, and the documented fallbacks."""
    study = StudyRecord.from_attrs({schema.SPACE: {"name": "tiny"}})
    assert study.energy_target_mj is None and study.reference_largest is None
    assert study.hypervolume_history == [] and study.engine_diagnostics == []
    assert study.effective_energy_target_mj == schema.DEFAULT_ENERGY_TARGET_MJ == 1.0
    assert study.hv_reference_energy_mj == 2.0
    assert StudyRecord.from_attrs({schema.ENERGY_TARGET_MJ: 0.5}).hv_reference_energy_mj == 1.0
    recorded = {schema.ENERGY_TARGET_MJ: 0.5, schema.HV_REFERENCE: {"energy_mj": 3.0}}
    assert StudyRecord.from_attrs(recorded).hv_reference_energy_mj == 3.0


def test_trial_attrs_defaults() -> None:
    empty = TrialAttrs({})
    assert empty.feasible and empty.generation == 0 and empty.params == 0
    assert empty.f_aeb is None and empty.violation is None and empty.failure is None
    assert empty.firing_rates == {} and empty.silent_paths == [] and not empty.test_scored
    assert empty.energy_mj("spikformer") is None and empty.genome is None
    assert TrialAttrs({schema.TEST_ERROR: "boom"}).test_scored
    # Evaluation.to_dict writes None for a non-finite float
    assert TrialAttrs({"energy_mj_memory": None, schema.F_AEB: None}).energy_mj("memory") is None


def test_feasibility_has_one_definition() -> None:
    def record(state: TrialState, feasible: bool | None) -> LedgerRecord:
        attrs = {} if feasible is None else {schema.FEASIBLE: feasible}
        values = (0.5, 1e-3) if state == TrialState.COMPLETE else None
        return LedgerRecord(0, (0,), state, values, attrs)

    assert record(TrialState.COMPLETE, None).feasible  # recorded before feasibility was
    assert record(TrialState.COMPLETE, True).feasible
    assert not record(TrialState.COMPLETE, False).feasible
    assert not record(TrialState.PRUNED, None).feasible


def test_evaluation_keys_are_evaluation_fields() -> None:
    """The trial keys an Evaluation writes are its field names (``to_dict``)."""
    keys = Evaluation(status="ok", accuracy=0.5, energy_mj=1e-3, f_aeb=0.5, sops=1.0, macs=1.0)
    written = keys.to_dict()
    for key in (
        schema.STATUS,
        schema.F_AEB,
        schema.PARAMS,
        schema.SOPS,
        schema.CORRECT,
        schema.FIRING_RATES,
        schema.SILENT_PATHS,
        schema.BREAK_EVEN_RATE,
        schema.ENERGY_MJ_QNN,
        schema.ENERGY_MJ_FP32,
        schema.ACCURACY_CI95,
        schema.ENERGY_MJ_PREFIX + written["energy_convention"],
    ):
        assert key in written, key
