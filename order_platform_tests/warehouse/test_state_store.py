from __future__ import annotations

import pytest
import sqlalchemy as sa

from order_platform.warehouse.engine import make_engine
from order_platform.warehouse.state_store import STATE_TABLE_NAME, DbStateStore, MemoryStateStore


@pytest.fixture
def engine(tmp_path) -> sa.Engine:
    return make_engine(f"sqlite:///{tmp_path / 'state.db'}")


def test_db_state_store_round_trip_and_isolation(engine):
    a, b = DbStateStore(engine, "a"), DbStateStore(engine, "b")
    assert a.get() is None
    a.set("one")
    a.set("two" * 10_000)  # values can be large (delta state, token cache)
    b.set("other")
    assert DbStateStore(engine, "a").get() == "two" * 10_000
    assert b.get() == "other"
    a.set(None)
    assert a.get() is None
    assert STATE_TABLE_NAME in sa.inspect(engine).get_table_names()


def test_memory_state_store():
    store = MemoryStateStore()
    store.set("x")
    assert store.get() == "x"
