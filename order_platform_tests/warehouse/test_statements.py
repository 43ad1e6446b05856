"""What SQL Server receives from the real code paths: the store, the monday.com state, PLATFORM_STATE.

The engine is the production one (`make_engine`, mssql+mssqlpython dialect; also mssql+pyodbc with
fast_executemany) over a recording stand-in for the driver, so these tests see the exact SQL text,
parameters and transactions.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa

from order_platform.monday.reconcile.drift import create_drift_table
from order_platform.monday.state import records as monday_records
from order_platform.monday.state import sync_state as monday_state
from order_platform.schema import KEY_COLUMN, SOURCE_TABLE_COLUMN, Kind, OrderListSchema
from order_platform.staging.date_order import DateOrderContext, decide_date_order
from order_platform.staging.dates import DayMonthEvidence
from order_platform.warehouse.ddl import generate_ddl
from order_platform.warehouse.state_store import DbStateStore
from order_platform.warehouse.store import LoadRecord, OrderStore, raw_frame
from order_platform_tests.warehouse.fake_pyodbc import Call, Recorder

RAW = "xTITLE_9_ORDER_LIST_RAW"
STAGING = "xTITLE_9_ORDER_LIST_STAGING"
AWKWARD = ["PO NUMBER", "RANGE / COLLECTION", "CUSTOMER'S COLOUR", "∆ QTY", "SIZE]X", "[WEIRD", "2T"]
SQLITE_ONLY = re.compile(r"\b(main|temp)\.|\bTEMPORARY\b|\bLIMIT\b|\bOFFSET\b|\bIF (NOT )?EXISTS\b|\b(TRUE|FALSE)\b")


def normalise(sql: str) -> str:
    return " ".join(sql.split()).rstrip(";")


def assert_sql_server_safe(calls: list[Call]) -> None:
    for call in calls:
        assert not SQLITE_ONLY.search(call.sql), (SQLITE_ONLY.search(call.sql), call.sql[:200])
        assert "%s" not in call.sql and ":" not in re.sub(r"'[^']*'", "", call.sql), call.sql[:200]
        for params in call.rows:
            assert call.sql.count("?") == len(params), call.sql[:200]
            assert len(params) <= 2100  # SQL Server's parameter limit per statement


def sheet(headers: list[str], rows: int = 3) -> pd.DataFrame:
    columns = {h: [f"{h} {i}" if i % 2 == 0 else None for i in range(rows)] for h in headers}
    loaded = dt.datetime(2024, 3, 25, 14, 5, 9, 123456)
    return raw_frame(columns, list(range(5, 5 + rows)), "TITLE 9 ORDER LIST (M3).xlsx", "MASTER", loaded)


def transaction_of(recorder: Recorder) -> list[str]:
    """The recorded calls as 'SQL' / 'COMMIT' markers, dialect probes left out."""
    out = []
    for call in recorder.calls:
        if call in ("COMMIT", "ROLLBACK"):
            out.append(call)
        elif call in recorder.statements():
            out.append(call.sql.split()[0].upper())
    while out and out[-1] == "ROLLBACK":  # the pool's reset of a returned connection
        out.pop()
    return out


# -- engine -------------------------------------------------------------------------------------------
def test_engine_is_tuned_for_sql_server(engine: sa.Engine) -> None:
    assert engine.dialect.name == "mssql"
    assert engine.dialect.driver in ("mssqlpython", "pyodbc")
    if engine.dialect.driver == "pyodbc":
        assert engine.dialect.fast_executemany is True
    else:  # the driver's native placeholders, as our bulk SQL writes them
        assert engine.dialect.paramstyle == "qmark"
    assert engine.dialect.deprecate_large_types is True
    assert engine.dialect.server_version_info[0] == 16


def test_ensure_tables_emits_the_checked_in_ddl(store: OrderStore, recorder: Recorder) -> None:
    store.ensure_tables()
    create_drift_table(store.engine)  # MONDAY_DRIFT, made by the first reconcile-board
    created = [normalise(c.sql) for c in recorder.statements() if c.sql.lstrip().startswith("CREATE")]
    checked_in = [normalise(b) for b in re.split(r"^GO$", generate_ddl(), flags=re.MULTILINE) if "CREATE" in b]
    checked_in = [s[s.index("CREATE") :] for s in checked_in]
    assert sorted(created) == sorted(checked_in)


# -- raw ----------------------------------------------------------------------------------------------
def test_write_raw_creates_and_bulk_inserts_with_bracketed_headers(store: OrderStore, recorder: Recorder) -> None:
    store.write_raw(RAW, AWKWARD, sheet(AWKWARD))
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    create = next(c for c in calls if c.sql.lstrip().startswith("CREATE TABLE"))
    assert create.sql.lstrip().startswith(f"CREATE TABLE [{RAW}] (")
    for quoted in ("[PO NUMBER]", "[RANGE / COLLECTION]", "[CUSTOMER'S COLOUR]", "[∆ QTY]", "[SIZE]]X]", "[[WEIRD]"):
        assert f"{quoted} NVARCHAR(4000) NULL" in create.sql
    insert = next(c for c in calls if c.sql.startswith("INSERT"))
    columns = "[PO NUMBER], [RANGE / COLLECTION], [CUSTOMER'S COLOUR], [∆ QTY], [SIZE]]X], [[WEIRD], [2T]"
    lineage = "[_SOURCE_FILE], [_SOURCE_SHEET], [_SOURCE_ROW], [_LOADED_AT]"
    assert insert.sql == f"INSERT INTO [{RAW}] ({columns}, {lineage}) VALUES ({', '.join(['?'] * 11)})"
    assert insert.many and insert.fast_executemany
    assert len(insert.rows) == 3
    first, second = insert.rows[0], insert.rows[1]
    assert first[0] == "PO NUMBER 0" and second[0] is None
    assert first[7:] == ("TITLE 9 ORDER LIST (M3).xlsx", "MASTER", 5, "2024-03-25 14:05:09")
    assert type(first[9]) is int  # never a numpy scalar: pyodbc cannot bind those


def test_write_raw_replaces_an_existing_table_in_one_transaction(store: OrderStore, recorder: Recorder) -> None:
    recorder.respond = lambda sql: [(RAW,)] if "sys.objects" in sql or "INFORMATION_SCHEMA" in sql else None
    store.write_raw(RAW, ["PO NUMBER"], sheet(["PO NUMBER"]))
    drop = next(c for c in recorder.statements() if c.sql.lstrip().startswith("DROP"))
    assert normalise(drop.sql) == f"DROP TABLE [{RAW}]"
    assert transaction_of(recorder) == ["SELECT", "DROP", "CREATE", "INSERT", "COMMIT"]


def test_write_raw_rejects_a_cell_longer_than_nvarchar_4000(store: OrderStore, recorder: Recorder) -> None:
    frame = sheet(["PO NUMBER", "NOTES"], rows=4)
    frame.loc[2, "NOTES"] = "x" * 4001
    with pytest.raises(ValueError) as error:
        store.write_raw(RAW, ["PO NUMBER", "NOTES"], frame)
    message = str(error.value)
    for part in ("'TITLE 9 ORDER LIST (M3).xlsx'", "sheet 'MASTER'", "row 7", "column 'NOTES'", "4001", "4000"):
        assert part in message
    assert recorder.statements() == []  # refused before anything reached the server


def test_write_raw_counts_utf16_units_like_sql_server(store: OrderStore, recorder: Recorder) -> None:
    frame = sheet(["NOTES"], rows=2)
    frame.loc[0, "NOTES"] = "x" * 4000
    store.write_raw(RAW, ["NOTES"], frame)  # exactly the limit: accepted
    frame.loc[0, "NOTES"] = "😀" * 2001  # 2001 characters, 4002 UTF-16 units
    with pytest.raises(ValueError, match=r"row 5, column 'NOTES'.*4002 UTF-16 units"):
        store.write_raw(RAW, ["NOTES"], frame)


def test_write_raw_rejects_headers_sql_server_cannot_name(store: OrderStore) -> None:
    long_header = "H" * 129
    with pytest.raises(ValueError, match="longer than the 128 characters"):
        store.write_raw(RAW, [long_header], sheet([long_header]))
    many = [f"C{i}" for i in range(1021)]
    with pytest.raises(ValueError, match="1021 columns: a SQL Server table holds at most 1024"):
        store.write_raw(RAW, many, sheet(many, rows=1))


def test_sqlite_keeps_long_cells(tmp_path, schema: OrderListSchema) -> None:
    """The limits are SQL Server's: the embedded SQLite store takes the same workbook unchanged."""
    sqlite = OrderStore(sa.create_engine(f"sqlite:///{tmp_path / 'o.db'}"), schema)
    frame = sheet(["NOTES"], rows=1)
    frame.loc[0, "NOTES"] = "x" * 5000
    sqlite.write_raw(RAW, ["NOTES"], frame)
    back, headers = sqlite.read_raw(RAW)
    assert headers == ["NOTES"] and len(back.loc[0, "NOTES"]) == 5000


# -- staging and publish --------------------------------------------------------------------------
def staged_frame(schema: OrderListSchema) -> tuple[pd.DataFrame, list[str]]:
    by_kind = {
        k: next(c.name for c in schema.columns if c.kind is k and c.name != KEY_COLUMN)
        for k in Kind
        if k is not Kind.UUID
    }
    canonical = list(by_kind.values())
    frame = pd.DataFrame(
        {
            KEY_COLUMN: [str(uuid.uuid4()), str(uuid.uuid4())],
            by_kind[Kind.TEXT]: ["A-1", None],
            by_kind[Kind.INT]: pd.array([3, None], dtype="Int64"),
            by_kind[Kind.SMALLINT]: pd.array([None, 7], dtype="Int64"),
            by_kind[Kind.DECIMAL]: [1.25, float("nan")],
            by_kind[Kind.DATE]: pd.to_datetime(["2024-03-25", None]),
            SOURCE_TABLE_COLUMN: RAW,
            "_SOURCE_FILE": "TITLE 9 ORDER LIST (M3).xlsx",
            "_SOURCE_SHEET": "MASTER",
            "_SOURCE_ROW": [5, 6],
            "_LOAD_ID": "00000000-0000-0000-0000-000000000001",
            "_EXTRA_COLUMNS": ['{"NOTES": "x"}', None],
            "_CELL_ISSUES": [None, '{"2T": {"value": "lots", "reason_code": "NOT_A_NUMBER"}}'],
        }
    )
    return frame, canonical


def test_write_staging_binds_typed_values(store: OrderStore, recorder: Recorder, schema: OrderListSchema) -> None:
    frame, canonical = staged_frame(schema)
    store.write_staging(STAGING, frame)
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    create = next(c for c in calls if c.sql.lstrip().startswith("CREATE TABLE"))
    assert f"CREATE TABLE [{STAGING}]" in create.sql and "record_uuid UNIQUEIDENTIFIER NOT NULL" in create.sql
    insert = next(c for c in calls if c.sql.startswith("INSERT"))
    assert insert.many and insert.fast_executemany
    names = re.search(r"\((.*?)\) VALUES", insert.sql).group(1).split(", ")
    row0 = dict(zip(names, insert.rows[0], strict=True))
    row1 = dict(zip(names, insert.rows[1], strict=True))
    text, integer, small, decimal, date = (f"[{c}]" for c in canonical)
    assert row0[text] == "A-1" and row1[text] is None
    assert row0[integer] == 3 and type(row0[integer]) is int and row1[integer] is None
    assert row0[small] is None and row1[small] == 7
    assert row0[decimal] == 1.25 and row1[decimal] is None
    assert row0[date] == dt.date(2024, 3, 25) and type(row0[date]) is dt.date and row1[date] is None
    assert row0["[_EXTRA_COLUMNS]"] == '{"NOTES": "x"}'
    assert row0["[_CELL_ISSUES]"] is None and "NOT_A_NUMBER" in row1["[_CELL_ISSUES]"]


def test_publish_swaps_the_slice_in_one_transaction(
    store: OrderStore, recorder: Recorder, schema: OrderListSchema, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame, _ = staged_frame(schema)
    monkeypatch.setattr(store, "staging_columns", lambda name: list(frame.columns))
    # the server's count after the swap: the 2 staged rows (a different count rolls the publish back)
    # ... and a published load before this one, so the slice is compared (not a baseline)
    recorder.respond = lambda sql: (
        [(2,)] if "count(*)" in sql.lower() else [("published", None)] if "status IN" in sql else None
    )
    quarantine = pd.DataFrame(
        {
            "source_file": ["f.xlsx"],
            "sheet": ["MASTER"],
            "row_number": [9],
            "column_name": ["2T"],
            "value": [float("nan")],
            "reason_code": ["NOT_AN_ORDER"],
            "reason": ["blank AAG ORDER NUMBER"],
        }
    )
    cell_issues = pd.DataFrame(
        {
            "record_uuid": [frame[KEY_COLUMN].iloc[1]],
            "source_file": ["f.xlsx"],
            "sheet": ["MASTER"],
            "row_number": [6],
            "column_name": ["2T"],
            "source_header": ["2T"],
            "value": ["lots"],
            "reason_code": ["NOT_A_NUMBER"],
            "reason": ["'2T' is not a number"],
        }
    )
    record = LoadRecord(
        "load-1", "TITLE NINE", "TITLE 9 ORDER LIST (M3).xlsx", "v1", "abc", dt.datetime(2024, 3, 25, 9)
    )
    order = decide_date_order(DayMonthEvidence(3, 0, 5), DateOrderContext())
    store.publish(
        record,
        RAW,
        STAGING,
        quarantine,
        {"raw_rows": 3, "staged_rows": 2},
        ["NOTES"],
        cell_issues=cell_issues,
        date_order=order,
        notes=["a note"],
    )
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    assert transaction_of(recorder) == [
        *("DELETE", "SELECT"),  # this load's changes cleared; the customer's last published load
        *("SELECT", "SELECT", "SELECT"),  # lines added, removed, changed (none: nothing inserted)
        *("DELETE", "INSERT", "SELECT"),  # the slice
        *("DELETE", "INSERT"),  # quarantine
        *("DELETE", "INSERT"),  # cell issues
        *("DELETE", "INSERT"),  # the remembered date order
        *("INSERT", "COMMIT"),  # the load record, all in one transaction
    ]
    _, baseline, added, removed, changed, *calls = calls
    assert "TOP 1" in baseline.sql and baseline.first_params[0] == "TITLE NINE"
    # lines added: NOT IN the slice's line ids (gathered once); removed: NOT EXISTS in the staging table
    assert "record_uuid NOT IN (SELECT o.record_uuid FROM [ORDER_LIST] o WHERE o.[_SOURCE_TABLE] = ?)" in added.sql
    assert "NOT EXISTS" in removed.sql and added.first_params == (RAW,)
    # null-safe comparison of whole lines on SQL Server (any version): EXISTS (SELECT old EXCEPT SELECT new)
    assert "WHERE EXISTS (SELECT o.[AAG ORDER NUMBER]" in changed.sql and " EXCEPT SELECT n." in changed.sql
    assert "[_SOURCE_ROW]" not in changed.sql.split("WHERE")[1]  # platform columns are not changes
    delete, copy, count, clear, quarantined, clear_cells, cells, forget, remember, logged = calls
    assert normalise(clear_cells.sql) == (
        "DELETE FROM [ORDER_LIST_CELL_ISSUES] WHERE [ORDER_LIST_CELL_ISSUES].customer = ?"
    )
    assert cells.sql.startswith("INSERT INTO [ORDER_LIST_CELL_ISSUES] (customer, load_id, record_uuid")
    assert cells.rows[0][:3] == ("TITLE NINE", "load-1", frame[KEY_COLUMN].iloc[1])
    assert "lots" in cells.rows[0]
    assert forget.first_params == ("TITLE NINE",)
    assert remember.sql.startswith("INSERT INTO [ORDER_LIST_DATE_ORDER]") and "DMY" in remember.first_params
    assert normalise(delete.sql) == "DELETE FROM [ORDER_LIST] WHERE [ORDER_LIST].[_SOURCE_TABLE] = ?"
    assert delete.first_params == (RAW,)
    columns = ", ".join(f"[{c}]" if c != KEY_COLUMN else c for c in frame.columns)
    assert copy.sql == f"INSERT INTO [ORDER_LIST] ({columns}) SELECT {columns} FROM [{STAGING}]"
    assert "count(*)" in count.sql and count.first_params == (RAW,)
    assert normalise(clear.sql) == "DELETE FROM [ORDER_LIST_QUARANTINE] WHERE [ORDER_LIST_QUARANTINE].customer = ?"
    assert quarantined.sql.startswith("INSERT INTO [ORDER_LIST_QUARANTINE] (customer, load_id, source_file")
    assert quarantined.rows[0][:2] == ("TITLE NINE", "load-1") and quarantined.rows[0][6] is None
    assert logged.sql.startswith("INSERT INTO [ORDER_LIST_LOADS] (")
    assert dt.datetime(2024, 3, 25, 9) in logged.first_params  # bound as a datetime, not text


def test_failure_log_is_a_plain_insert(store: OrderStore, recorder: Recorder) -> None:
    record = LoadRecord("load-2", "TITLE NINE", "p", None, None, dt.datetime(2024, 3, 25, 9))
    store.record_failure(record, "boom", {"raw_rows": 1})
    (insert,) = recorder.statements()
    assert_sql_server_safe([insert])
    assert insert.sql.startswith("INSERT INTO [ORDER_LIST_LOADS]") and "OUTPUT" not in insert.sql
    assert "failed" in insert.first_params and "boom" in insert.first_params


# -- reads ----------------------------------------------------------------------------------------------
def test_reads_use_sql_server_syntax(store: OrderStore, recorder: Recorder) -> None:
    store.last_load("TITLE NINE", status="published")
    store.latest_loads()
    store.loads_by_id(["load-1", "load-2"])
    store.published_count(RAW)
    store.order_list_slice(RAW)
    store.quarantine_for("TITLE NINE")
    store.read_staging(STAGING)
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    last, latest, by_id, count, slice_, quarantine, staging = (normalise(c.sql) for c in calls)
    assert last.startswith("SELECT TOP 1 [ORDER_LIST_LOADS].load_id,")
    assert last.endswith("ORDER BY [ORDER_LIST_LOADS].started_at DESC")
    assert calls[0].first_params == ("TITLE NINE", "published")
    assert "JOIN (SELECT [ORDER_LIST_LOADS].customer AS customer, max([ORDER_LIST_LOADS].started_at)" in latest
    assert "GROUP BY [ORDER_LIST_LOADS].customer) AS anon_1 ON" in latest
    assert by_id.endswith("WHERE [ORDER_LIST_LOADS].load_id IN (?, ?) ORDER BY [ORDER_LIST_LOADS].customer")
    assert calls[2].first_params == ("load-1", "load-2")
    assert count == "SELECT count(*) AS count_1 FROM [ORDER_LIST] WHERE [ORDER_LIST].[_SOURCE_TABLE] = ?"
    assert slice_.startswith("SELECT [ORDER_LIST].record_uuid, [ORDER_LIST].[AAG ORDER NUMBER]")
    assert quarantine == "SELECT * FROM [ORDER_LIST_QUARANTINE] WHERE customer = ? ORDER BY row_number"
    assert calls[5].first_params == ("TITLE NINE",)
    assert staging == f"SELECT * FROM [{STAGING}] ORDER BY [_SOURCE_ROW]"


# -- monday.com state and PLATFORM_STATE ---------------------------------------------------------------
def test_monday_state_statements(engine: sa.Engine, recorder: Recorder) -> None:
    monday_state.create_tables(engine)
    recorder.clear()
    line = monday_state.LineState("u-1", "TITLE NINE", None, "g1", "Group", "h", "creating")
    with engine.begin() as conn:
        run_id = monday_records.start_run(conn, "123", "TITLE NINE", dry_run=True)
        monday_state.save_lines(conn, "123", [line], run_id)
        monday_state.save_subitems(conn, "123", [("u-1", monday_state.SubitemState("M", None, 3, "creating"))])
        monday_state.save_groups(conn, "123", {"Group": "g1"})
        monday_records.record_failures(
            conn,
            "123",
            "TITLE NINE",
            run_id,
            [{"record_uuid": "u-1", "operation": "create", "code": "E", "message": "m"}],
        )
        monday_records.save_plan(conn, run_id, "TITLE NINE", [("u-1", "create", '{"a": 1}')])
        monday_records.replace_cell_issues(conn, "123", "TITLE NINE", run_id, [], record_uuids=None)
        monday_records.finish_run(conn, run_id, status="ok", lines=1)
        monday_state.load_state(conn, "123", [f"id-{i}" for i in range(1200)])
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    start = calls[0]
    assert start.sql.startswith("INSERT INTO [MONDAY_SYNC_RUN]") and "OUTPUT inserted.run_id" in start.sql
    assert True in start.first_params  # the BIT is a bound parameter, never a TRUE literal
    assert run_id == 1
    in_lists = [c for c in calls if " IN (" in c.sql]
    assert in_lists and max(len(c.first_params) for c in in_lists) <= 501
    assert any(normalise(c.sql).startswith("UPDATE [MONDAY_SYNC_RUN] SET") for c in calls)
    assert transaction_of(recorder)[-1] == "COMMIT" and transaction_of(recorder).count("COMMIT") == 1


def test_platform_state_quotes_the_reserved_key_column(engine: sa.Engine, recorder: Recorder) -> None:
    store = DbStateStore(engine, "sharepoint.delta:site:documents")
    store.set('{"delta_link": "x"}')
    store.get()
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    create = next(c for c in calls if c.sql.lstrip().startswith("CREATE TABLE"))
    assert "[key] NVARCHAR(200) NOT NULL" in create.sql
    update = next(c for c in calls if c.sql.startswith("UPDATE"))
    assert normalise(update.sql).endswith("WHERE [PLATFORM_STATE].[key] = ?")
    insert = next(c for c in calls if c.sql.startswith("INSERT"))  # the fake reports 0 rows updated
    assert insert.sql.startswith("INSERT INTO [PLATFORM_STATE] ([key], value, updated_at)")


# -- shared throttle and retirement -------------------------------------------------------------------
def test_shared_throttle_statements_are_sql_server_safe(engine: sa.Engine, recorder: Recorder) -> None:
    from order_platform.throttle import SharedThrottle

    throttle = SharedThrottle(engine, "graph:graph.microsoft.com")
    throttle.hold(5.0, "HTTP 429")
    throttle.remaining()
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    sql = [normalise(c.sql) for c in calls]
    assert any(s.startswith("CREATE TABLE [PLATFORM_THROTTLE]") for s in sql)
    assert any(s.startswith("INSERT INTO [PLATFORM_THROTTLE]") for s in sql)
    assert any(s.startswith("SELECT [PLATFORM_THROTTLE].not_before") for s in sql)


def test_retire_moves_the_slice_in_one_transaction(store: OrderStore, recorder: Recorder) -> None:
    from order_platform.warehouse.retire import archive_customer

    archive_customer(store, "TITLE 9", "retired: workbook gone")
    calls = recorder.statements()
    assert_sql_server_safe(calls)
    steps = transaction_of(recorder)
    insert = next(c for c in calls if normalise(c.sql).startswith("INSERT INTO [ORDER_LIST_ARCHIVE]"))
    assert "SELECT" in insert.sql and f"WHERE [ORDER_LIST].[{SOURCE_TABLE_COLUMN}] = ?" in normalise(insert.sql)
    assert insert.first_params[-1] == "xTITLE_9_ORDER_LIST_RAW"
    archive_at = steps.index("INSERT")
    # archive, then remove the slice, its quarantine and its cell issues, and log: one transaction
    assert steps[archive_at : archive_at + 6] == ["INSERT", "DELETE", "DELETE", "DELETE", "INSERT", "COMMIT"]
    assert any(normalise(c.sql).startswith("DELETE FROM [ORDER_LIST_CELL_ISSUES]") for c in calls)
