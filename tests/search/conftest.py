"""Fixtures of the search-loop tests: the tiny space, and one SQLite file whose studies they share
(creating Optuna's schema once, not per test)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.storage.ledger import Ledger
from tests.conftest import tiny_dict

_names = itertools.count()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('search-loop') / 'ledger.db'}"


@pytest.fixture
def codec() -> GenomeCodec:
    return GenomeCodec(SearchSpace.from_dict(tiny_dict(), source="tiny"))


@pytest.fixture
def new_ledger(database: str) -> Callable[[GenomeCodec], Ledger]:
    """A fresh study in the shared database."""

    def make(codec: GenomeCodec) -> Ledger:
        return Ledger.open(database, f"study-{next(_names)}", codec)

    return make
