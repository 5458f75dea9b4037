"""Optuna's own tables, read and written directly: the only raw SQL evosnn runs on them.

Optuna's API is the way in for everything else; three things go around it, for reasons the
ledger gives (speed on large studies, annotating finished trials, one commit per result):
reading every trial of a study in three queries, writing several user attrs of a trial in one
transaction, and finding the trials left unfinished. They depend on Optuna's schema, which is not
a public interface, so this module states what it relies on and checks it before any use:

* the schema's version, as Optuna records it (the alembic revision in ``alembic_version`` and
  ``schema_version`` in ``version_info``), must be one in :data:`KNOWN_SCHEMAS`: the ones these
  statements were checked against (Optuna 4.0 to 5.1 all create revision ``v3.2.0.a``, schema
  12; ``pyproject.toml`` pins that range);
* the tables and columns in :data:`COLUMNS` must exist.

A database of another version is refused with a :class:`StorageError` naming the version, before
any read or write, instead of failing somewhere in a query or, worse, writing wrongly.

Example:
    >>> tables = OptunaTables(storage.engine)  # doctest: +SKIP
    >>> tables.count_complete(study_id)  # doctest: +SKIP
    12
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy
from optuna.trial import TrialState

from evosnn.core.errors import StorageError

__all__ = ["COLUMNS", "KNOWN_SCHEMAS", "OptunaTables", "TrialRow", "schema_version", "stored_value"]

#: (alembic revision, version_info.schema_version) pairs the statements here were checked against.
KNOWN_SCHEMAS = frozenset({("v3.2.0.a", 12)})

#: The tables of Optuna's schema used here and the columns each statement relies on.
COLUMNS: Mapping[str, tuple[str, ...]] = {
    "trials": ("trial_id", "number", "study_id", "state"),
    "trial_values": ("trial_id", "objective", "value", "value_type"),
    "trial_user_attributes": ("trial_id", "key", "value_json"),
}


@dataclass(frozen=True)
class TrialRow:
    """One trial as its tables hold it: ids, state, values by objective, user attrs."""

    trial_id: int
    number: int
    state: TrialState
    values: dict[int, float]
    user_attrs: dict[str, Any]


def schema_version(engine: sqlalchemy.Engine) -> tuple[str, int]:
    """The (alembic revision, schema version) Optuna recorded in the database.

    Raises:
        StorageError: the version tables are missing or empty (not an Optuna database).
    """
    try:
        with engine.connect() as conn:
            revision = conn.execute(sqlalchemy.text("SELECT version_num FROM alembic_version"))
            schema = conn.execute(sqlalchemy.text("SELECT schema_version FROM version_info"))
            found = revision.scalar_one_or_none(), schema.scalar_one_or_none()
    except sqlalchemy.exc.ProgrammingError as exc:  # PostgreSQL: no such table
        raise StorageError("not an Optuna study database (no schema version recorded)") from exc
    except sqlalchemy.exc.OperationalError as exc:  # SQLite: no such table
        if "no such table" not in str(exc):
            raise
        raise StorageError("not an Optuna study database (no schema version recorded)") from exc
    if found[0] is None or found[1] is None:
        raise StorageError("not an Optuna study database (no schema version recorded)")
    return str(found[0]), int(found[1])


class OptunaTables:
    """Optuna's trial tables, checked once (version and columns), then read and written.

    Raises:
        StorageError: (on construction) a schema version not in :data:`KNOWN_SCHEMAS`, or a
            table or column of :data:`COLUMNS` missing; the message names the version found.
    """

    def __init__(self, engine: sqlalchemy.Engine) -> None:
        self.engine = engine
        self.version = schema_version(engine)
        if self.version not in KNOWN_SCHEMAS:
            revision, schema = self.version
            known = ", ".join(f"{r} (schema {s})" for r, s in sorted(KNOWN_SCHEMAS))
            raise StorageError(
                f"the study database has Optuna schema {revision} (schema {schema}), which "
                f"evosnn was not checked against (it knows {known}); use the Optuna version "
                f"pyproject.toml pins, or upgrade evosnn"
            )
        metadata = sqlalchemy.MetaData()
        self.tables = {
            name: sqlalchemy.Table(name, metadata, autoload_with=engine) for name in COLUMNS
        }
        for name, columns in COLUMNS.items():
            missing = [c for c in columns if c not in self.tables[name].c]
            if missing:
                raise StorageError(
                    f"Optuna's table {name!r} lacks the column(s) {missing} evosnn relies on "
                    f"(schema {self.version[0]})"
                )

    def write_trial_attrs(self, trial_id: int, attrs: Mapping[str, Any]) -> None:
        """Add or replace user attrs of a trial in one transaction, as Optuna writes them
        (``json.dumps``, so ±inf and NaN read back); replacing makes a retried write idempotent."""
        if not attrs:
            return
        table = self.tables["trial_user_attributes"]
        with self.engine.begin() as conn:
            conn.execute(
                table.delete().where(table.c.trial_id == trial_id, table.c.key.in_(list(attrs)))
            )
            conn.execute(
                table.insert(),
                [
                    {"trial_id": trial_id, "key": key, "value_json": json.dumps(value)}
                    for key, value in attrs.items()
                ],
            )

    def unfinished_trials(self, study_id: int) -> list[int]:
        """Ids of the study's RUNNING or WAITING trials (one query, not a read of every trial)."""
        trials = self.tables["trials"]
        query = sqlalchemy.select(trials.c.trial_id).where(
            trials.c.study_id == study_id,
            trials.c.state.in_([TrialState.RUNNING.name, TrialState.WAITING.name]),
        )
        with self.engine.connect() as conn:
            return [int(tid) for (tid,) in conn.execute(query)]

    def read_trials(self, study_id: int) -> list[TrialRow]:
        """Every trial of the study in trial order, with values and user attrs (three queries)."""
        trials, values, attrs = (
            self.tables[n] for n in ("trials", "trial_values", "trial_user_attributes")
        )
        ids = sqlalchemy.select(trials.c.trial_id).where(trials.c.study_id == study_id)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sqlalchemy.select(trials.c.trial_id, trials.c.number, trials.c.state)
                .where(trials.c.study_id == study_id)
                .order_by(trials.c.number)
            ).all()
            value_of: dict[int, dict[int, float]] = {}
            for tid, objective, value, value_type in conn.execute(
                sqlalchemy.select(
                    values.c.trial_id, values.c.objective, values.c.value, values.c.value_type
                ).where(values.c.trial_id.in_(ids))
            ):
                value_of.setdefault(tid, {})[int(objective)] = stored_value(value, value_type)
            attrs_of: dict[int, dict[str, Any]] = {}
            for tid, key, value_json in conn.execute(
                sqlalchemy.select(attrs.c.trial_id, attrs.c.key, attrs.c.value_json).where(
                    attrs.c.trial_id.in_(ids)
                )
            ):
                attrs_of.setdefault(tid, {})[key] = json.loads(value_json)
        return [
            TrialRow(
                tid,
                number,
                TrialState[state] if isinstance(state, str) else TrialState(state),
                value_of.get(tid, {}),
                attrs_of.get(tid, {}),
            )
            for tid, number, state in rows
        ]

    def count_complete(self, study_id: int) -> int:
        """How many of the study's trials are COMPLETE."""
        trials = self.tables["trials"]
        query = (
            sqlalchemy.select(sqlalchemy.func.count())
            .select_from(trials)
            .where(trials.c.study_id == study_id, trials.c.state == TrialState.COMPLETE.name)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())


def stored_value(value: float | None, value_type: Any) -> float:
    """A trial value as Optuna stores it in ``trial_values``: ±inf as NULL with type
    ``INF_POS``/``INF_NEG`` (Optuna's ``TrialValueModel.stored_repr_to_value``); a FINITE NULL,
    which SQLite makes of a NaN, reads as NaN."""
    kind = getattr(value_type, "name", value_type)
    if kind == "INF_POS":
        return math.inf
    if kind == "INF_NEG":
        return -math.inf
    return math.nan if value is None else float(value)
