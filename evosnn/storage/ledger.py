"""The ledger: one Optuna study in a SQL database, the single record of a search.

Every evaluated genome is one trial: params are the genes (categorical distributions over the
space's choices), values are ``[accuracy, energy_mj]`` (maximize, minimize; named for the
dashboard), user attrs hold the rest of the Evaluation. A trial is created RUNNING when its genome
is dispatched and made COMPLETE (or FAIL, with the reason) the moment its result arrives, so the
dashboard shows a search as it runs and a killed driver loses nothing that had finished.
Infeasible genomes (cheap constraints) are recorded as PRUNED trials and never evaluated.

Only the search driver writes the ledger. Study user attrs record the space, the supernet sha256,
the engine, its settings and seed, the worker count, the energy target and the hypervolume
reference point; :mod:`evosnn.storage.study_schema` names every study and trial attr and reads
them typed (:class:`~evosnn.storage.study_schema.StudyRecord`, :attr:`LedgerRecord.attrs`). The driver lock (:mod:`evosnn.storage.lock`: a row kept fresh by a heartbeat thread,
judged by the database's clock) refuses a second driver while one is running, and the ledger
refuses writes once its driver has lost the lock.

Example:
    >>> ledger = Ledger.open("sqlite:///runs/demo/evosnn.db", "demo", codec)  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import sqlite3
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import optuna
import sqlalchemy
import sqlalchemy.exc
from optuna.distributions import BaseDistribution, CategoricalDistribution
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState

from evosnn.core.errors import StorageError
from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.storage.lock import LOCK_STALE_S, DriverLock, LockHolder
from evosnn.storage.optuna_schema import OptunaTables, stored_value
from evosnn.storage.retry import RETRY_FOR_S
from evosnn.storage.retry import retry as _retry
from evosnn.storage.study_lock import StudyLock
from evosnn.storage.study_schema import (
    FAILURE,
    GENOME,
    INFEASIBLE,
    VIOLATION,
    StudyRecord,
    TrialAttrs,
)
from evosnn.storage.url import check_url, redact

__all__ = [
    "LOCK_STALE_S",
    "RETRY_FOR_S",
    "Ledger",
    "LedgerRecord",
    "open_storage",
    "read_study_attrs",
    "redact",
    "stored_value",
]

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Opening a new database is tried this often while other processes create its schema.
SCHEMA_RACE_ATTEMPTS = 8


def _check_sqlite_path(path: Path, *, create: bool) -> None:
    """A SQLite study file: there (to read it), or a new file in an existing folder (to create).

    Raises:
        StorageError: no such file, no such folder, a path under a file, or a folder given.
    """
    blocking = next((p for p in path.parents if p.exists() and not p.is_dir()), None)
    if blocking is not None:
        raise StorageError(f"{path}: lies under the file {blocking}; choose a folder")
    if path.is_dir():
        raise StorageError(f"{path}: is a folder, not a study database file")
    if path.is_file():
        return
    if not create:
        raise StorageError(f"{path}: no such study database")
    if not path.parent.is_dir():
        raise StorageError(
            f"{path}: the folder {path.parent} does not exist (a typo?); create it first"
        )


def check_writable(path: Path) -> None:
    """Refuse a SQLite study database this process cannot write, naming it read-only.

    SQLite writes the file and, beside it, its journal (``-wal``, ``-shm``): both the file and
    its folder must be writable (an immutable file, ``chattr +i``, is not).

    Raises:
        StorageError: the file or its folder is read-only.
    """
    for where, what in ((path, "file"), (path.parent, "folder")):
        if where.exists() and not os.access(where, os.W_OK):
            raise StorageError(
                f"{path}: the study database is read-only (its {what} {where} cannot be "
                "written); make it writable, or copy it and give the copy as --storage"
            )


def open_storage(url: str, *, create: bool = True, write: bool = True) -> RDBStorage:
    """An Optuna RDB storage for ``url``; SQLite gets WAL and a long lock timeout.

    With ``create=False`` (commands that only read a study, or annotate one) a SQLite file that
    does not exist is an error instead of a new, empty database at a mistyped path. With
    ``create`` a new SQLite file's folder must exist (a mistyped folder is not created), and
    ``write`` (the default) refuses a read-only database at once, instead of retrying writes
    for minutes (:func:`check_writable`).

    Raises:
        StorageError: the database cannot be reached (within seconds), with the password hidden.
    """
    shown = redact(url)
    parsed = check_url(url)  # a URL, a known database, its driver installed, persistent
    engine_kwargs: dict[str, Any] = {"pool_pre_ping": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            path = Path(database)
            _check_sqlite_path(path, create=create)
            if write:
                check_writable(path)
            if write or os.access(path, os.W_OK):  # a read-only file is read as it is
                _set_wal(path)
        engine_kwargs["connect_args"] = {"timeout": 60}
    elif parsed.get_backend_name() == "postgresql":
        engine_kwargs["connect_args"] = {"connect_timeout": 5}
    try:
        attempt = 0
        while True:
            try:
                return RDBStorage(url, engine_kwargs=engine_kwargs)
            except sqlalchemy.exc.DatabaseError as exc:
                attempt += 1
                if attempt == SCHEMA_RACE_ATTEMPTS or not _schema_race(exc):
                    raise
                # another process (a dashboard, a second search) was creating the schema at the
                # same moment; once it is done, opening finds it
                time.sleep(0.1 * attempt)
    except (sqlalchemy.exc.SQLAlchemyError, ImportError, ValueError) as exc:
        reason = type(exc).__name__
        orig = getattr(exc, "orig", None)
        if orig is not None:
            reason = str(orig).strip().splitlines()[0][:200] if str(orig).strip() else reason
        message = reason.replace(parsed.password or "\0", "***") if parsed.password else reason
        raise StorageError(f"cannot reach the study storage {shown}: {message}") from _safe_cause(
            exc, parsed.password
        )


@dataclass(frozen=True)
class LedgerRecord:
    """One recorded genome: its trial, state and what the engine was told."""

    number: int
    genome: Genome
    state: TrialState
    values: tuple[float, float] | None
    user_attrs: dict[str, Any]

    @property
    def attrs(self) -> TrialAttrs:
        """The trial's user attrs, typed (:mod:`evosnn.storage.study_schema`)."""
        return TrialAttrs(self.user_attrs)

    @property
    def feasible(self) -> bool:
        """Completed, with values, and within the space's limits: a candidate for the front.

        The one definition of feasibility: every reader (front, report, export) asks this.
        """
        return self.state == TrialState.COMPLETE and self.values is not None and self.attrs.feasible


class Ledger:
    """Reads and writes the search's study. Build with :meth:`open`.

    The study's driver lock is a member, :attr:`driver_lock` (a
    :class:`~evosnn.storage.study_lock.StudyLock`), through which every write goes; every
    statement on Optuna's own tables is :class:`~evosnn.storage.optuna_schema.OptunaTables`'.
    """

    def __init__(
        self, storage: RDBStorage, study: optuna.Study, codec: GenomeCodec, url: str
    ) -> None:
        self.storage, self.study, self.codec = storage, study, codec
        self.url = redact(url)
        self.study_id = storage.get_study_id_from_name(study.study_name)
        self._distributions: dict[str, BaseDistribution] = {
            g.name: CategoricalDistribution(choices=list(g.choices)) for g in codec.genes
        }
        #: The study's driver lock (held between :meth:`acquire` and :meth:`release`).
        self.driver_lock = StudyLock(storage.engine, self.study_id, study.study_name)
        self._tables: OptunaTables | None = None

    @classmethod
    def open(
        cls,
        url: str,
        study_name: str,
        codec: GenomeCodec,
        *,
        create: bool = True,
        write: bool = True,
    ) -> Ledger:
        """Open (or create) the study ``study_name`` at ``url`` (``write``: refuse a read-only
        database at once; see :func:`open_storage`)."""
        storage = open_storage(url, create=create, write=write)
        optuna.logging.set_verbosity(optuna.logging.WARNING)

        def load() -> optuna.Study:
            if create:
                study = optuna.create_study(
                    storage=storage,
                    study_name=study_name,
                    directions=["maximize", "minimize"],
                    sampler=optuna.samplers.RandomSampler(),
                    load_if_exists=True,
                )
                if study.metric_names != ["accuracy", "energy_mj"]:
                    with warnings.catch_warnings():  # experimental in Optuna, stable in practice
                        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
                        study.set_metric_names(["accuracy", "energy_mj"])
                return study
            return optuna.load_study(
                study_name=study_name, storage=storage, sampler=optuna.samplers.RandomSampler()
            )

        try:
            study = _retry(load, f"opening study {study_name!r}")
        except KeyError as exc:
            raise StorageError(f"no study named {study_name!r} in {redact(url)}") from exc
        return cls(storage, study, codec, url)

    @classmethod
    def open_search(cls, url: str, study_name: str) -> tuple[Ledger, StudyRecord]:
        """Open an existing study written by ``evosnn search``, decoded with the search space it
        recorded; also returns the study's record."""
        from evosnn.core.errors import EvosnnError
        from evosnn.core.space import SearchSpace

        study = StudyRecord.from_attrs(read_study_attrs(url, study_name))
        if study.space is None:
            raise EvosnnError(
                f"study {study_name!r} was not written by evosnn search (no search space recorded)"
            )
        space = SearchSpace.from_dict(study.space, source=f"study {study_name!r}")
        ledger = cls.open(url, study_name, GenomeCodec(space), create=False, write=False)
        return ledger, study

    # ------------------------------------------------------------------ the driver lock
    @property
    def lock(self) -> DriverLock | None:
        """The driver lock, while this ledger holds it (:meth:`acquire`)."""
        return self.driver_lock.held

    def acquire(self, *, stale_s: float = LOCK_STALE_S) -> None:
        """Take the study's driver lock (:meth:`StudyLock.acquire
        <evosnn.storage.study_lock.StudyLock.acquire>`).

        Raises:
            StorageError: another driver holds the lock.
        """
        self.driver_lock.acquire(stale_s=stale_s)

    def heartbeat(self) -> None:
        """One heartbeat of the driver lock now (the lock's thread beats on its own)."""
        self.driver_lock.heartbeat()

    def release(self) -> None:
        """Stop the lock's heartbeat and free the lock at once."""
        self.driver_lock.release()

    def lock_holder(self) -> LockHolder | None:
        """Who holds the study's driver lock now (None when nobody does)."""
        return self.driver_lock.holder()

    def _write(self, action: Callable[[], T], what: str) -> T:
        """Run a write with retries; refused (StorageError) if this driver lost its lock."""
        return self.driver_lock.write(action, what)

    # ------------------------------------------------------------------ figures
    def save_figure(self, figure_id: str, figure: Any) -> None:
        """Store (overwrite) a plotly figure in the study, where optuna-dashboard shows it."""
        from optuna_dashboard import save_plotly_graph_object

        self._write(
            lambda: save_plotly_graph_object(self.study, figure, graph_object_id=figure_id),
            f"storing figure {figure_id!r}",
        )

    # ------------------------------------------------------------------ study attributes
    def attrs(self) -> dict[str, Any]:
        """The study's user attrs as stored; read them through :meth:`record`."""
        return _retry(lambda: dict(self.study.user_attrs), "reading study attributes")

    def record(self) -> StudyRecord:
        """The study's attributes, typed (:mod:`evosnn.storage.study_schema`)."""
        return StudyRecord.from_attrs(self.attrs())

    def set_attr(self, key: str, value: Any) -> None:
        self._write(
            lambda: self.study.set_user_attr(key, value), f"writing study attribute {key!r}"
        )

    def check_or_record(self, expected: dict[str, Any]) -> None:
        """Record ``expected`` on a new study; on an existing one, refuse if any of it differs."""
        stored = self.attrs()
        for key, value in expected.items():
            if key in stored and stored[key] != value:
                raise StorageError(
                    f"study {self.study.study_name!r} was searched with a different {key} "
                    f"({_short(stored[key])} here, {_short(value)} now); re-run with the same "
                    f"settings or choose another --study"
                )
        for key, value in expected.items():
            if key not in stored:
                self.set_attr(key, value)

    # ------------------------------------------------------------------ trials
    def _params(self, genome: Genome) -> dict[str, Any]:
        return {g.name: g.choices[i] for g, i in zip(self.codec.genes, genome, strict=True)}

    def _create(self, genome: Genome, state: TrialState, attrs: dict[str, Any]) -> int:
        now = dt.datetime.now()
        template = FrozenTrial(
            number=-1,
            state=state,
            value=None,
            datetime_start=now,
            datetime_complete=now if state.is_finished() else None,
            params=self._params(genome),
            distributions=self._distributions,
            user_attrs={GENOME: list(genome), **attrs},
            system_attrs={},
            intermediate_values={},
            trial_id=-1,
        )
        return self._write(
            lambda: self.storage.create_new_trial(self.study_id, template_trial=template),
            "recording a trial",
        )

    def start(self, genome: Genome, attrs: dict[str, Any]) -> int:
        """A RUNNING trial for a dispatched genome; returns its trial id."""
        return self._create(genome, TrialState.RUNNING, attrs)

    def trial_number(self, trial_id: int) -> int:
        return _retry(lambda: self.storage.get_trial_number_from_id(trial_id), "reading a trial")

    def record_infeasible(
        self, genome: Genome, reason: str, violation: float, attrs: dict[str, Any]
    ) -> None:
        """A PRUNED trial for a genome rejected by cheap constraints (never evaluated)."""
        self._create(genome, TrialState.PRUNED, {**attrs, INFEASIBLE: reason, VIOLATION: violation})

    def finish(self, trial_id: int, evaluation: Evaluation, attrs: dict[str, Any]) -> None:
        """Complete (ok) or fail (failed) a RUNNING trial with its evaluation."""
        data = evaluation.to_dict()
        values = None
        if evaluation.ok:
            values = [evaluation.accuracy, evaluation.energy_mj]
            state = TrialState.COMPLETE
        else:
            state = TrialState.FAIL
            attrs = {**attrs, FAILURE: "evaluation"}
        record = {k: v for k, v in {**data, **attrs}.items() if k != "status"}
        self._write(partial(self._set_attrs, trial_id, record), "recording a result")
        self._set_state(trial_id, state, values, "recording a result")

    def _set_attrs(self, trial_id: int, attrs: dict[str, Any]) -> None:
        """Add or replace user attrs of a trial in one transaction (one commit, not one per attr)."""
        self._optuna().write_trial_attrs(trial_id, attrs)

    def _set_state(
        self, trial_id: int, state: TrialState, values: list[float] | None, what: str
    ) -> None:
        """Finish a trial; a retry after a commit that landed but whose answer was lost finds
        the trial already in ``state``, which counts as done."""

        def write() -> None:
            try:
                self.storage.set_trial_state_values(trial_id, state, values)
            except optuna.exceptions.UpdateFinishedTrialError:
                if self.storage.get_trial(trial_id).state != state:
                    raise

        self._write(write, what)

    def fail_interrupted(self) -> list[Genome]:
        """Mark trials left RUNNING by a dead driver as FAIL ('interrupted'); return their genomes."""
        tables = self._optuna()
        running = _retry(partial(tables.unfinished_trials, self.study_id), "reading trials")
        genomes = []
        for tid in running:
            trial = _retry(partial(self.storage.get_trial, tid), "reading a trial")
            self._write(
                partial(self.storage.set_trial_user_attr, tid, FAILURE, "interrupted"),
                "failing a trial",
            )
            self._set_state(tid, TrialState.FAIL, None, "failing a trial")
            genomes.append(tuple(TrialAttrs(trial.user_attrs).genome or []))
        if running:
            log.info(
                "%d trial(s) left RUNNING (by a dead driver, or created twice by a retried write) marked FAIL; their genomes are evaluated again when the engine reaches them",
                len(running),
            )
        return genomes

    def records(self) -> list[LedgerRecord]:
        """Every recorded genome, in trial order.

        Read with three plain queries on Optuna's tables (trials, values, user attrs) rather than
        ``study.get_trials``, which also decodes every parameter's distribution: 5,000 trials
        take about a second instead of eight. Values are decoded as Optuna stores them
        (:func:`stored_value`); attrs are JSON as Optuna writes it (``Infinity``/``NaN`` included).
        """
        tables = self._optuna()

        def read() -> list[LedgerRecord]:
            out = []
            for row in tables.read_trials(self.study_id):
                stored = TrialAttrs(row.user_attrs).genome
                if stored is None:
                    continue
                vals = row.values
                pair = (vals[0], vals[1]) if row.state == TrialState.COMPLETE and vals else None
                genome = tuple(stored)
                out.append(LedgerRecord(row.number, genome, row.state, pair, row.user_attrs))
            return out

        return _retry(read, "reading trials")

    def _optuna(self) -> OptunaTables:
        """Optuna's trial tables, checked (schema version, columns) and reflected once."""
        if self._tables is None:
            self._tables = OptunaTables(self.storage.engine)
        return self._tables

    def annotate_trial(self, number: int, attrs: dict[str, Any]) -> None:
        """Add or replace user attrs of a trial, finished or not (e.g. its retraining results).

        Optuna's API refuses to change a finished trial, to keep samplers' views stable; these
        annotations are read by people (dashboard, report), never by a sampler, so they are
        written into Optuna's ``trial_user_attributes`` table directly, in one transaction, as
        JSON written the way Optuna writes it (``json.dumps``, so ±inf and NaN read back).
        """

        def write() -> None:
            self._set_attrs(
                self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number), attrs
            )

        try:
            self._write(write, f"annotating trial {number}")
        except KeyError as exc:
            raise StorageError(f"study {self.study.study_name!r} has no trial {number}") from exc

    def trial_attrs(self, number: int) -> TrialAttrs:
        """The user attrs of trial ``number``, finished or not (StorageError if there is none)."""
        try:
            trial_id = _retry(
                partial(
                    self.storage.get_trial_id_from_study_id_trial_number, self.study_id, number
                ),
                "reading a trial",
            )
        except KeyError as exc:
            raise StorageError(f"study {self.study.study_name!r} has no trial {number}") from exc
        trial = _retry(partial(self.storage.get_trial, trial_id), "reading a trial")
        return TrialAttrs(dict(trial.user_attrs))

    def count_complete(self) -> int:
        tables = self._optuna()
        return _retry(partial(tables.count_complete, self.study_id), "counting trials")


def read_study_attrs(url: str, study_name: str) -> dict[str, Any]:
    """The user attrs of an existing study (StorageError if it does not exist)."""
    storage = open_storage(url, create=False, write=False)
    try:
        study = _retry(
            lambda: optuna.load_study(study_name=study_name, storage=storage), "opening the study"
        )
    except KeyError as exc:
        raise StorageError(f"no study named {study_name!r} in {redact(url)}") from exc
    return dict(study.user_attrs)


def _set_wal(path: Path) -> None:
    """Put a SQLite database in WAL mode, which lets readers (the dashboard) and the writer (the
    driver) work at once; switching waits while another process holds the file locked."""
    deadline = time.monotonic() + 30
    while True:
        try:
            with sqlite3.connect(path, timeout=30) as conn:
                conn.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.Error as exc:
            if "locked" in str(exc) and time.monotonic() < deadline:
                time.sleep(0.1)
                continue
            raise StorageError(f"cannot open SQLite database {path}: {exc}") from exc


def _schema_race(exc: sqlalchemy.exc.DatabaseError) -> bool:
    """Whether opening failed because another process created Optuna's schema at the same moment:
    a table that already exists, or the second insert of the schema version (SQLite's UNIQUE
    constraint; PostgreSQL's duplicate key, also in its catalog of types)."""
    text = str(exc)
    if isinstance(exc, sqlalchemy.exc.IntegrityError):
        return "UNIQUE constraint failed" in text or "duplicate key" in text
    return "already exists" in text


def _safe_cause(exc: BaseException, secret: str | None) -> BaseException | None:
    """``exc`` as the cause to chain, or None when its chain's text shows ``secret`` (a driver
    that echoes its connection string); -v prints the chain, the password must not appear."""
    if not secret:
        return exc
    seen: BaseException | None = exc
    while seen is not None:
        if secret in str(seen) or secret in repr(getattr(seen, "args", ())):
            return None
        seen = seen.__cause__ or seen.__context__
    return exc


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
