"""The raw SQL on Optuna's tables: checked against the schema it knows, refused on any other."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import optuna
import pytest
from packaging.requirements import Requirement

from evosnn.core.errors import StorageError
from evosnn.core.evaluation import Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.storage.ledger import Ledger, open_storage
from evosnn.storage.optuna_schema import KNOWN_SCHEMAS, OptunaTables, schema_version

ROOT = Path(__file__).resolve().parents[2]


def _study(tmp_path: Path, space: SearchSpace) -> Path:
    """A real study with one complete and one running trial, written by the ledger."""
    path = tmp_path / "study.db"
    ledger = Ledger.open(f"sqlite:///{path}", "s", GenomeCodec(space))
    done = ledger.start((0,) * 11, {"generation": 0})
    ok = Evaluation(status="ok", accuracy=0.5, energy_mj=1e-4, f_aeb=0.5, sops=1.0, macs=1.0)
    ledger.finish(done, ok, {"note": "first"})
    ledger.start((1,) * 11, {"generation": 0})
    return path


def test_the_installed_optuna_writes_a_schema_evosnn_knows(
    tmp_path: Path, tiny_space: SearchSpace
) -> None:
    """Fails loudly when an Optuna upgrade changes its schema: check the statements, then add it."""
    path = _study(tmp_path, tiny_space)
    engine = open_storage(f"sqlite:///{path}").engine
    assert schema_version(engine) in KNOWN_SCHEMAS, (
        f"Optuna {optuna.__version__} writes schema {schema_version(engine)}: check the "
        f"statements of evosnn/storage/optuna_schema.py against it before adding it"
    )
    tables = OptunaTables(engine)
    rows = tables.read_trials(tables_study_id(path))
    assert [r.number for r in rows] == [0, 1]
    assert rows[0].values == {0: 0.5, 1: 1e-4} and rows[0].user_attrs["note"] == "first"
    assert tables.count_complete(tables_study_id(path)) == 1
    assert tables.unfinished_trials(tables_study_id(path)) == [rows[1].trial_id]


def tables_study_id(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("SELECT study_id FROM studies").fetchone()[0])


def test_pyproject_pins_optuna_to_a_range_holding_the_installed_version() -> None:
    text = (ROOT / "pyproject.toml").read_text()
    (spec,) = [Requirement(d) for d in re.findall(r'^\s*"(optuna>[^"]*)"', text, re.MULTILINE)]
    assert any(s.operator == "<" for s in spec.specifier), "the range must be bounded above"
    assert spec.specifier.contains(optuna.__version__)


def test_an_unknown_schema_version_is_refused_by_name(
    tmp_path: Path, tiny_space: SearchSpace
) -> None:
    path = _study(tmp_path, tiny_space)
    newer = tmp_path / "newer.db"
    with sqlite3.connect(path) as source, sqlite3.connect(newer) as copy:
        source.backup(copy)  # the WAL's pages included
    with sqlite3.connect(newer) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'v9.0.0.a'")
        conn.execute("UPDATE version_info SET schema_version = 99")
    engine = optuna.storages.RDBStorage(f"sqlite:///{path}").engine  # the known one still opens
    assert OptunaTables(engine).count_complete(tables_study_id(path)) == 1
    from sqlalchemy import create_engine

    with pytest.raises(StorageError, match=r"Optuna schema v9\.0\.0\.a \(schema 99\)"):
        OptunaTables(create_engine(f"sqlite:///{newer}"))


def test_a_missing_column_and_a_database_without_optuna_are_refused(
    tmp_path: Path, tiny_space: SearchSpace
) -> None:
    from sqlalchemy import create_engine

    path = _study(tmp_path, tiny_space)
    with sqlite3.connect(path) as conn:
        conn.execute("ALTER TABLE trial_user_attributes RENAME COLUMN value_json TO value_text")
    with pytest.raises(StorageError, match=r"'trial_user_attributes' lacks .*value_json"):
        OptunaTables(create_engine(f"sqlite:///{path}"))
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).close()
    with pytest.raises(StorageError, match="not an Optuna study database"):
        OptunaTables(create_engine(f"sqlite:///{empty}"))


def test_the_ledger_reads_through_the_checked_tables(
    tmp_path: Path, tiny_space: SearchSpace
) -> None:
    """The ledger's own reads refuse an unknown schema before touching a table."""
    path = _study(tmp_path, tiny_space)
    url = f"sqlite:///{path}"
    ledger = Ledger.open(url, "s", GenomeCodec(tiny_space), create=False)
    assert [r.number for r in ledger.records()] == [0, 1] and ledger.count_complete() == 1
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'v9.0.0.a'")
    fresh = Ledger(ledger.storage, ledger.study, ledger.codec, url)
    with pytest.raises(StorageError, match=r"v9\.0\.0\.a"):
        fresh.records()
