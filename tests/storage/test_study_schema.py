"""The study's schema: typed study and trial attributes, read with the documented defaults."""

from __future__ import annotations

from optuna.trial import TrialState

from evosnn.core.evaluation import Evaluation
from evosnn.storage import study_schema as schema
from evosnn.storage.ledger import LedgerRecord
from evosnn.storage.study_schema import StudyRecord, TrialAttrs


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
