"""The SQLite engine's own settings: durability kept (WAL, synchronous=NORMAL), 16 KiB pages for a new
database, a larger page cache, and one connection reused while the code runs one statement at a time;
and the store's bulk writes on it."""

from __future__ import annotations

import datetime as dt
import sqlite3

import sqlalchemy as sa

from order_platform.schema import order_list_schema
from order_platform.warehouse.engine import SQLITE_CACHE_KIB, SQLITE_PAGE_SIZE, make_engine
from order_platform.warehouse.store import OrderStore, raw_frame

_LOADED = dt.datetime(2024, 3, 25, 9)


def _pragma(conn: sa.Connection, name: str) -> object:
    return conn.exec_driver_sql(f"PRAGMA {name}").scalar_one()


def test_a_new_database_gets_wal_normal_sync_and_large_pages(tmp_path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'new.db'}")
    with engine.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t (a)")
        assert _pragma(conn, "journal_mode") == "wal"
        assert _pragma(conn, "synchronous") == 1  # NORMAL
        assert _pragma(conn, "page_size") == SQLITE_PAGE_SIZE
        assert _pragma(conn, "cache_size") == -SQLITE_CACHE_KIB


def test_an_existing_database_keeps_its_page_size(tmp_path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as old:
        old.execute("PRAGMA page_size=4096")
        old.execute("CREATE TABLE t (a)")
        old.execute("INSERT INTO t VALUES (1)")
    old.close()
    engine = make_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert _pragma(conn, "page_size") == 4096
        assert _pragma(conn, "journal_mode") == "wal"
        assert conn.exec_driver_sql("SELECT a FROM t").scalar_one() == 1


def test_the_connection_used_last_is_used_again(tmp_path) -> None:
    """Two connections were opened at once; sequential work then stays on one of them (a connection that
    did not make the last DDL re-reads the whole schema on its next statement)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'pool.db'}")
    with engine.connect() as first, engine.connect() as second:
        ids = {id(first.connection.dbapi_connection), id(second.connection.dbapi_connection)}
    assert len(ids) == 2
    used = set()
    for _ in range(4):
        with engine.connect() as conn:
            used.add(id(conn.connection.dbapi_connection))
    assert len(used) == 1


def test_an_in_memory_database_still_works() -> None:
    engine = make_engine("sqlite://")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar_one() == 1


def test_raw_and_staging_tables_take_their_columns_from_the_frame_by_name(tmp_path) -> None:
    """The frame may hold its columns in another order and more of them: the table's are written."""
    store = OrderStore(make_engine(f"sqlite:///{tmp_path / 'o.db'}"), order_list_schema())
    store.ensure_tables()
    frame = raw_frame({"B": ["b1", None], "A": ["a1", "a2"]}, [5, 6], "f.xlsx", "MASTER", _LOADED)
    frame["NOT A HEADER"] = "x"
    store.write_raw("RAW", ["A", "B"], frame[list(reversed(frame.columns))])
    back, headers = store.read_raw("RAW")
    assert headers == ["A", "B"] and "NOT A HEADER" not in back.columns
    assert back[["A", "B", "_SOURCE_ROW"]].to_dict("list") == {
        "A": ["a1", "a2"],
        "B": ["b1", None],
        "_SOURCE_ROW": [5, 6],
    }
