"""SQL Server's fast path: raw and staging tables loaded through mssql-python's bulk copy.

What the driver is handed (table, columns and their order, value types, batches, options) and the
transactions around it, recorded by the stand-in driver with mssql-python's `cursor.bulkcopy`
signature; then the same against a real SQL Server when ORDER_PLATFORM_TEST_MSSQL_URL is set.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import uuid

import pandas as pd
import pytest

from order_platform.schema import KEY_COLUMN, OrderListSchema
from order_platform.warehouse.engine import make_engine
from order_platform.warehouse.store import LoadRecord, OrderStore
from order_platform.warehouse.writes.mssql_bulk import BATCH_ROWS, load_table_name
from order_platform_tests.warehouse.conftest import URLS
from order_platform_tests.warehouse.fake_pyodbc import BulkCopy, Call, Recorder, module
from order_platform_tests.warehouse.test_statements import RAW, STAGING, sheet, staged_frame

MSSQL_URL = os.environ.get("ORDER_PLATFORM_TEST_MSSQL_URL")


@pytest.fixture
def bulk_store(recorder: Recorder, schema: OrderListSchema) -> OrderStore:
    """The production engine on a stand-in mssql-python whose cursors can bulk copy."""
    engine = make_engine(URLS["mssqlpython"], module=module(recorder, "mssqlpython", bulk_copy=True))
    with engine.connect():
        pass
    recorder.clear()
    return OrderStore(engine, schema)


def steps(recorder: Recorder) -> list[str]:
    """The calls in order: the first word of each statement, BULK for a bulk copy, COMMIT / ROLLBACK."""
    statements = recorder.statements()
    out = []
    for call in recorder.calls:
        if isinstance(call, BulkCopy):
            out.append("BULK")
        elif call in ("COMMIT", "ROLLBACK"):
            out.append(str(call))
        elif isinstance(call, Call) and call in statements:
            out.append(call.sql.split()[0].upper())
    while out and out[-1] == "ROLLBACK":  # the pool's reset of a returned connection
        out.pop()
    return out


def every_table_exists(sql: str) -> list[tuple] | None:
    """The server's answer to SQLAlchemy's has_table (it looks for the name among the rows): found."""
    if "sys.objects" in sql or "INFORMATION_SCHEMA" in sql:
        return [(name,) for name in (RAW, load_table_name(RAW))]
    return None


def test_write_raw_bulk_copies_into_a_load_table_then_swaps_in_one_transaction(
    bulk_store: OrderStore, recorder: Recorder
) -> None:
    headers = ["PO NUMBER", "SIZE]X", "2T"]
    bulk_store.write_raw(RAW, headers, sheet(headers, rows=5))
    (copy,) = recorder.bulk_copies()
    load = load_table_name(RAW)
    assert copy.table == f"[{load}]"
    assert copy.options["column_mappings"] == [*headers, "_SOURCE_FILE", "_SOURCE_SHEET", "_SOURCE_ROW", "_LOADED_AT"]
    assert copy.options | {"column_mappings": None} == {
        "batch_size": BATCH_ROWS,
        "timeout": 0,
        "column_mappings": None,
        "keep_identity": False,
        "check_constraints": False,
        "table_lock": True,
        "keep_nulls": True,
        "fire_triggers": False,
        "use_internal_transaction": False,
    }
    assert len(copy.rows) == 5 and all(type(r) is tuple and len(r) == 7 for r in copy.rows)
    lineage = ("TITLE 9 ORDER LIST (M3).xlsx", "MASTER", 5, "2024-03-25 14:05:09")
    assert copy.rows[0] == ("PO NUMBER 0", "SIZE]X 0", "2T 0", *lineage)
    assert copy.rows[1][:3] == (None, None, None)
    assert type(copy.rows[0][5]) is int  # never a numpy scalar
    calls = recorder.statements()
    assert not any(c.sql.startswith("INSERT") for c in calls)  # no row-wise statement at all
    create = next(c for c in calls if c.sql.lstrip().startswith("CREATE TABLE"))
    assert create.sql.lstrip().startswith(f"CREATE TABLE [{load}] (") and "[SIZE]]X] NVARCHAR(4000) NULL" in create.sql
    rename = next(c for c in calls if c.sql.startswith("EXEC sp_rename"))
    assert rename.first_params == (load, RAW)
    # the load table is created and committed (the copy runs on the driver's own connection), then
    # filled, then swapped in: the old table dropped and the load table renamed, in one transaction
    assert steps(recorder) == ["SELECT", "CREATE", "COMMIT", "BULK", "SELECT", "EXEC", "COMMIT"]


def test_an_existing_table_and_a_leftover_load_table_are_dropped(bulk_store: OrderStore, recorder: Recorder) -> None:
    load = load_table_name(RAW)
    recorder.respond = every_table_exists
    bulk_store.write_raw(RAW, ["PO NUMBER"], sheet(["PO NUMBER"]))
    drops = [re.sub(r"\s+", " ", c.sql).strip() for c in recorder.statements() if c.sql.lstrip().startswith("DROP")]
    assert drops == [f"DROP TABLE [{load}]", f"DROP TABLE [{RAW}]"]
    assert steps(recorder) == ["SELECT", "DROP", "CREATE", "COMMIT", "BULK", "SELECT", "DROP", "EXEC", "COMMIT"]


def test_a_failed_bulk_copy_keeps_the_old_table(bulk_store: OrderStore, recorder: Recorder) -> None:
    recorder.respond = every_table_exists
    recorder.bulk_copy_fails = True
    with pytest.raises(Exception, match="bulk copy failed"):
        bulk_store.write_raw(RAW, ["PO NUMBER"], sheet(["PO NUMBER"]))
    sql = [c.sql for c in recorder.statements()]
    assert not any(s.lstrip().startswith("DROP") and RAW in s and "_LOAD_" not in s for s in sql)
    assert not any(s.startswith("EXEC sp_rename") for s in sql)


def test_batches_of_a_large_table(bulk_store: OrderStore, recorder: Recorder) -> None:
    rows = 2 * BATCH_ROWS + 1
    bulk_store.write_raw(RAW, ["PO NUMBER"], sheet(["PO NUMBER"], rows=rows))
    (copy,) = recorder.bulk_copies()
    assert len(copy.rows) == rows and copy.options["batch_size"] == BATCH_ROWS  # the driver sends 3 batches
    assert [r[3] for r in copy.rows[:3]] == [5, 6, 7]  # sheet order kept (PO NUMBER, file, sheet, row...)


def test_write_staging_bulk_copies_typed_values(
    bulk_store: OrderStore, recorder: Recorder, schema: OrderListSchema
) -> None:
    frame, canonical = staged_frame(schema)
    bulk_store.write_staging(STAGING, frame)
    (copy,) = recorder.bulk_copies()
    assert copy.table == f"[{load_table_name(STAGING)}]"
    names = copy.options["column_mappings"]
    create = next(c for c in recorder.statements() if c.sql.lstrip().startswith("CREATE TABLE"))
    declared = [n for n in re.findall(r"\n\t(\[[^\n]*?\]|\w+) ", create.sql) if n != "PRIMARY"]
    assert [n.strip("[]").replace("]]", "]") for n in declared] == names  # the table's own column order
    row0 = dict(zip(names, copy.rows[0], strict=True))
    row1 = dict(zip(names, copy.rows[1], strict=True))
    text, integer, small, decimal, date = canonical
    assert row0[text] == "A-1" and row1[text] is None
    assert row0[integer] == 3 and type(row0[integer]) is int and row1[integer] is None
    assert row0[small] is None and row1[small] == 7 and type(row1[small]) is int
    assert row0[decimal] == 1.25 and type(row0[decimal]) is float and row1[decimal] is None
    assert row0[date] == dt.date(2024, 3, 25) and type(row0[date]) is dt.date and row1[date] is None
    assert row0[KEY_COLUMN] == frame[KEY_COLUMN].iloc[0]
    assert row0["_SOURCE_ROW"] == 5 and type(row0["_SOURCE_ROW"]) is int


def test_an_empty_table_is_created_without_a_bulk_copy(bulk_store: OrderStore, recorder: Recorder) -> None:
    bulk_store.write_raw(RAW, ["PO NUMBER"], sheet(["PO NUMBER"], rows=0))
    assert recorder.bulk_copies() == []
    assert steps(recorder) == ["SELECT", "CREATE", "COMMIT"]


def test_publish_stays_one_transaction_without_a_bulk_copy(
    bulk_store: OrderStore, recorder: Recorder, schema: OrderListSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ORDER_LIST swap is never a bulk copy (that would commit on the driver's own connection)."""
    frame, _ = staged_frame(schema)
    monkeypatch.setattr(bulk_store, "staging_columns", lambda name: list(frame.columns))
    recorder.respond = lambda sql: [(2,)] if "count(*)" in sql.lower() else None
    record = LoadRecord("load-1", "TITLE NINE", "f.xlsx", "v1", "abc", dt.datetime(2024, 3, 25, 9))
    empty = pd.DataFrame({c: pd.Series(dtype=object) for c in ("source_file", "sheet", "row_number", "value")})
    bulk_store.publish(record, RAW, STAGING, empty, {"raw_rows": 2, "staged_rows": 2}, [])
    assert recorder.bulk_copies() == []
    assert steps(recorder).count("COMMIT") == 1 and steps(recorder)[-1] == "COMMIT"


# -- against a real SQL Server ---------------------------------------------------------------------------
@pytest.mark.skipif(
    not MSSQL_URL,
    reason="no SQL Server: set ORDER_PLATFORM_TEST_MSSQL_URL (e.g. mssql+mssqlpython://sa:pw@localhost:1433/"
    "tempdb?Encrypt=yes&TrustServerCertificate=yes) to run the bulk copy against one",
)
def test_bulk_copy_against_sql_server(schema: OrderListSchema) -> None:
    assert MSSQL_URL is not None
    store = OrderStore(make_engine(MSSQL_URL), schema)
    store.ensure_tables()
    suffix = uuid.uuid4().hex[:8]
    raw, staging = f"xBULKTEST_{suffix}_ORDER_LIST_RAW", f"xBULKTEST_{suffix}_ORDER_LIST_STAGING"
    try:
        headers = ["PO NUMBER", "NOTES"]
        frame = sheet(headers, rows=2 * BATCH_ROWS + 3)
        store.write_raw(raw, headers, frame)
        store.write_raw(raw, headers, frame)  # replaced, not appended
        back, back_headers = store.read_raw(raw)
        assert back_headers == headers and len(back) == len(frame)
        assert back.sort_values("_SOURCE_ROW")["PO NUMBER"].tolist()[:2] == ["PO NUMBER 0", None]
        staged, canonical = staged_frame(schema)
        store.write_staging(staging, staged)
        got = store.read_staging(staging)
        assert len(got) == 2 and got[canonical[0]].tolist() == ["A-1", None]
        assert got[canonical[3]].tolist()[0] == pytest.approx(1.25)
        assert pd.Timestamp(got[canonical[4]].tolist()[0]).date() == dt.date(2024, 3, 25)
        with store.engine.connect() as conn:
            left = conn.exec_driver_sql("SELECT COUNT(*) FROM sys.tables WHERE name LIKE '%\\_LOAD\\_%' ESCAPE '\\'")
            assert not any(load_table_name(t) in str(left.all()) for t in (raw, staging))
    finally:
        with store.engine.begin() as conn:
            for table in (raw, staging, load_table_name(raw), load_table_name(staging)):
                conn.exec_driver_sql(f"IF OBJECT_ID(N'{table}') IS NOT NULL DROP TABLE [{table}]")
        store.engine.dispose()
