"""The study's schema: every user attribute evosnn writes on a study and its trials.

The ledger's study is the single record of a search (:mod:`evosnn.storage.ledger`). Its user
attributes are written by the search driver and read back by the report, the export, the summary
and the dashboard; this module names each key once (module constants, as Optuna names its own,
e.g. ``_GENERATION_KEY``) and reads them through two typed views:

* :class:`StudyRecord`: the study's attributes (space, supernet, engine, energy target, ...),
  built with :meth:`StudyRecord.from_attrs` and written back with :meth:`StudyRecord.attrs`;
* :class:`TrialAttrs`: one trial's attributes (its :class:`~evosnn.core.evaluation.Evaluation`
  plus what the driver adds: generation, feasibility, violation, failure, ...).

Not to be confused with :mod:`evosnn.storage.optuna_schema`, which is about Optuna's own SQL
tables (its schema version and columns); this module is about the JSON values evosnn keeps in
them, and touches no SQL.

Studies written by older versions lack some keys; a missing key reads as its default below,
the one the readers used before this module existed. Where two readers disagreed:

* the energy target: ``None`` when not recorded; where a number is needed (the summary's
  F_AEB fallback, the hypervolume reference) it is :data:`DEFAULT_ENERGY_TARGET_MJ` (1 mJ), as
  both the summary and the report used. The report's facts used to print "0 mJ" for a study
  without one; it now says "not recorded".
* the hypervolume reference's energy: the recorded ``hv_reference``, else twice the energy
  target (the driver records exactly that), as the report computed it.

Example:
    >>> study = StudyRecord.from_attrs({ENERGY_TARGET_MJ: 0.004})
    >>> study.hv_reference_energy_mj, study.engine
    (0.008, None)
    >>> TrialAttrs({GENERATION: 3}).feasible
    True
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from evosnn.core.evaluation import Evaluation
from evosnn.core.rank_summary import RankCheckSummary

__all__ = [
    "DEFAULT_ENERGY_TARGET_MJ",
    "StudyRecord",
    "TrialAttrs",
]

# ---------------------------------------------------------------- study attribute keys
#: The search space (``SearchSpace.to_dict``); a study without it was not written by a search.
SPACE = "space"
SUPERNET_SHA256 = "supernet_sha256"
#: The engine's name; also a trial attribute (the engine that proposed the trial).
ENGINE = "engine"
ENGINE_SETTINGS = "engine_settings"
SEED = "seed"
POPULATION = "population"
#: The evaluation settings that decide results (``EvalSettings.recorded``: not the device or the
#: stem cache bound).
EVALUATION = "evaluation"
WORKERS = "workers"
BUDGET = "budget"
EVOSNN_VERSION = "evosnn_version"
ENERGY_TARGET_MJ = "energy_target_mj"
#: ``{"accuracy": 0.0, "energy_mj": ...}``: the hypervolume's reference point.
HV_REFERENCE = "hv_reference"
#: ``[[completed, hypervolume], ...]``, one pair per generation.
HYPERVOLUME_HISTORY = "hypervolume_history"
#: The largest subnet's evaluation (``Evaluation.to_dict``), on validation and on test images.
REFERENCE_LARGEST = "reference_largest"
REFERENCE_LARGEST_TEST = "reference_largest_test"
ENGINE_STATS = "engine_stats"
ENGINE_DIAGNOSTICS = "engine_diagnostics"
#: The supernet's rank check (``RankCheckSummary.to_dict``), written by ``evosnn supernet``.
RANK_CHECK = "evosnn:rank_check"

# ---------------------------------------------------------------- trial attribute keys
#: The trial's genome (gene indices); a trial without it is not evosnn's.
GENOME = "genome"
GENERATION = "generation"
#: Whether an ok evaluation lies within the space's limits (absent: feasible).
FEASIBLE = "feasible"
VIOLATION = "violation"
#: Why a PRUNED trial was rejected by a cheap constraint.
INFEASIBLE = "infeasible"
#: Why a trial FAILed: ``"evaluation"`` or ``"interrupted"``.
FAILURE = "failure"
EQUIVALENT_TO = "equivalent_to"
ATTEMPTS = "attempts"
WORKER = "worker"
WORKER_PID = "worker_pid"
# ... from the trial's Evaluation (its field names; ``status`` is not kept)
STATUS = "status"
F_AEB = "f_aeb"
PARAMS = "params"
SOPS = "sops"
CORRECT = "correct"
FIRING_RATES = "firing_rates"
SILENT_PATHS = "silent_paths"
BREAK_EVEN_RATE = "break_even_rate"
ENERGY_MJ_QNN = "energy_mj_qnn"
ENERGY_MJ_FP32 = "energy_mj_fp32"
#: ``energy_mj_<convention>``: the trial's energy under each counting convention.
ENERGY_MJ_PREFIX = "energy_mj_"
#: Derived by ``Evaluation.to_dict`` (the Wilson interval).
ACCURACY_CI95 = "accuracy_ci95"
# ... from scoring the Pareto front on the test split (:mod:`evosnn.search.holdout`)
TEST_ACCURACY = "test_accuracy"
TEST_ACCURACY_CI95 = "test_accuracy_ci95"
TEST_ERROR = "test_error"
# ... from retraining (:mod:`evosnn.training.retrain`)
RETRAINED_TEST_ACCURACY = "retrained_test_accuracy"
RETRAINED_EPOCHS = "retrained_epochs"
RETRAINED_LR = "retrained_lr"

#: The energy target (mJ/image) assumed where a study records none.
DEFAULT_ENERGY_TARGET_MJ = 1.0


def _mapping(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, Mapping) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class StudyRecord:
    """A study's attributes, typed; ``None`` (or empty) for what the study does not record.

    Attributes not named here (written by another tool, or by a newer evosnn) are kept in
    ``other``, so ``from_attrs(m).attrs() == m`` for every mapping ``m`` whose known keys hold
    neither None nor an empty list.
    """

    space: dict[str, Any] | None = None
    supernet_sha256: str | None = None
    engine: str | None = None
    engine_settings: dict[str, Any] | None = None
    seed: int | None = None
    population: int | None = None
    evaluation: dict[str, Any] | None = None
    workers: int | None = None
    budget: int | None = None
    evosnn_version: str | None = None
    energy_target_mj: float | None = None
    hv_reference: dict[str, Any] | None = None
    hypervolume_history: list[list[float]] = field(default_factory=list)
    reference_largest: dict[str, Any] | None = None
    reference_largest_test: dict[str, Any] | None = None
    engine_stats: dict[str, Any] | None = None
    engine_diagnostics: list[dict[str, Any]] = field(default_factory=list)
    rank_check: dict[str, Any] | None = None
    other: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_attrs(cls, attrs: Mapping[str, Any]) -> StudyRecord:
        """Read a study's user attributes (``optuna.Study.user_attrs``); missing keys are None."""
        keys = _STUDY_KEYS
        values: dict[str, Any] = {name: attrs[key] for name, key in keys.items() if key in attrs}
        for name in ("hypervolume_history", "engine_diagnostics"):
            values[name] = list(values.get(name) or [])
        target = values.get("energy_target_mj")
        values["energy_target_mj"] = float(target) if target is not None else None
        other = {k: v for k, v in attrs.items() if k not in _KEYS_SET}
        return cls(**values, other=other)

    def attrs(self) -> dict[str, Any]:
        """The user attributes that record this study (what is None or empty is left out)."""
        out = {
            key: getattr(self, name)
            for name, key in _STUDY_KEYS.items()
            if getattr(self, name) not in (None, [])
        }
        return {**out, **self.other}

    @property
    def largest(self) -> Evaluation | None:
        """The largest subnet's evaluation on validation (the report's baseline), typed."""
        return _evaluation(self.reference_largest)

    @property
    def largest_test(self) -> Evaluation | None:
        """The largest subnet's evaluation on the held-out test split, typed."""
        return _evaluation(self.reference_largest_test)

    @property
    def rank_check_summary(self) -> RankCheckSummary | None:
        """``evosnn supernet rank-check``'s summary stored in the study, typed (any schema
        :class:`RankCheckSummary` reads)."""
        if not self.rank_check:
            return None
        return RankCheckSummary.from_dict(self.rank_check, source="the study's evosnn:rank_check")

    @property
    def effective_energy_target_mj(self) -> float:
        """The energy target, or :data:`DEFAULT_ENERGY_TARGET_MJ` where none is recorded."""
        return self.energy_target_mj or DEFAULT_ENERGY_TARGET_MJ

    @property
    def hv_reference_energy_mj(self) -> float:
        """The hypervolume reference's energy: the recorded one, else twice the energy target."""
        recorded = _float((self.hv_reference or {}).get("energy_mj"))
        return recorded or 2.0 * self.effective_energy_target_mj


_STUDY_KEYS: dict[str, str] = {
    f.name: (RANK_CHECK if f.name == "rank_check" else f.name)
    for f in fields(StudyRecord)
    if f.name != "other"
}
_KEYS_SET = frozenset(_STUDY_KEYS.values())


@dataclass(frozen=True)
class TrialAttrs:
    """A typed view of one trial's user attributes; a missing key reads as its default.

    ``raw`` is the mapping as stored (e.g. for the export, which copies a list of keys).
    """

    raw: Mapping[str, Any]

    def _get(self, key: str, default: Any = None) -> Any:
        return self.raw.get(key, default)

    @property
    def genome(self) -> list[int] | None:
        value = self._get(GENOME)
        return list(value) if value is not None else None

    @property
    def generation(self) -> int:
        return int(self._get(GENERATION, 0))

    @property
    def feasible(self) -> bool:
        """The recorded feasibility; True where none is recorded (failed or older trials)."""
        return bool(self._get(FEASIBLE, True))

    @property
    def violation(self) -> float | None:
        return _float(self._get(VIOLATION))

    @property
    def failure(self) -> str | None:
        value = self._get(FAILURE)
        return str(value) if value is not None else None

    @property
    def equivalent_to(self) -> int | None:
        """The evaluated trial this one's network equals, or None (the trial was evaluated)."""
        value = self._get(EQUIVALENT_TO)
        return int(value) if value is not None else None

    @property
    def f_aeb(self) -> float | None:
        return _float(self._get(F_AEB))

    @property
    def params(self) -> int:
        return int(self._get(PARAMS) or 0)

    @property
    def sops(self) -> float | None:
        return _float(self._get(SOPS))

    @property
    def correct(self) -> int | None:
        value = self._get(CORRECT)
        return int(value) if value is not None else None

    @property
    def firing_rates(self) -> dict[str, float]:
        return dict(_mapping(self._get(FIRING_RATES)) or {})

    @property
    def silent_paths(self) -> list[str]:
        return list(self._get(SILENT_PATHS) or [])

    def energy_mj(self, convention: str) -> float | None:
        """The trial's energy under ``convention``, where recorded and finite."""
        return _finite(self._get(ENERGY_MJ_PREFIX + convention))

    @property
    def energy_mj_qnn(self) -> float | None:
        return _finite(self._get(ENERGY_MJ_QNN))

    @property
    def energy_mj_fp32(self) -> float | None:
        return _finite(self._get(ENERGY_MJ_FP32))

    @property
    def break_even_rate(self) -> float | None:
        return _finite(self._get(BREAK_EVEN_RATE))

    @property
    def accuracy_ci95(self) -> Sequence[float] | None:
        value: Sequence[float] | None = self._get(ACCURACY_CI95)
        return value

    @property
    def test_accuracy(self) -> float | None:
        return _float(self._get(TEST_ACCURACY))

    @property
    def test_accuracy_ci95(self) -> Sequence[float] | None:
        value: Sequence[float] | None = self._get(TEST_ACCURACY_CI95)
        return value

    @property
    def test_scored(self) -> bool:
        """Whether the trial was scored on the test split (or that scoring failed)."""
        return TEST_ACCURACY in self.raw or TEST_ERROR in self.raw

    @property
    def retrained_test_accuracy(self) -> float | None:
        return _float(self._get(RETRAINED_TEST_ACCURACY))

    @property
    def retrained_epochs(self) -> int | None:
        value = self._get(RETRAINED_EPOCHS)
        return int(value) if value is not None else None

    @property
    def retrained_lr(self) -> float:
        return float(self._get(RETRAINED_LR, 0.0))

    def evaluation(self) -> Evaluation:
        """The ok :class:`Evaluation` a COMPLETE trial recorded (the ledger drops ``status``)."""
        return Evaluation.from_dict({**self.raw, STATUS: "ok"})


def _finite(value: Any) -> float | None:
    number = _float(value)
    return number if number is not None and math.isfinite(number) else None


def _evaluation(stored: Mapping[str, Any] | None) -> Evaluation | None:
    """A stored :meth:`Evaluation.to_dict`, typed (None when absent)."""
    return Evaluation.from_dict(dict(stored)) if stored else None
