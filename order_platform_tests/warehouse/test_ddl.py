"""The checked-in SQL Server DDL: in step with the schema, well-formed batches, within SQL Server limits."""

from __future__ import annotations

import re

import sqlalchemy as sa
from sqlalchemy.schema import CreateIndex, CreateTable

from order_platform.monday.state import sync_state as monday_state
from order_platform.schema import Kind, OrderListSchema
from order_platform.warehouse.ddl import DDL_PATH, HEADER, generate_ddl
from order_platform.warehouse.state_store import platform_state
from order_platform.warehouse.tables import (
    CELL_ISSUES,
    CHANGES,
    DATE_ORDER,
    LOADS,
    MSSQL_MAX_COLUMNS,
    MSSQL_MAX_IDENTIFIER,
    ORDER_LIST,
    QUARANTINE,
    mssql_dialect,
    platform_metadata,
    raw_table,
    staging_table,
)

# Types SQL Server has deprecated (or SQLite-only syntax) that must never appear in what we emit.
FORBIDDEN = re.compile(r"\b(NTEXT|TEXT|IMAGE|TEMPORARY|AUTOINCREMENT|BOOLEAN|LIMIT)\b|\bDATETIME\b(?!2)")


def batches(ddl: str) -> list[str]:
    """The statements of a sqlcmd/SSMS script: text between `GO` lines, without comment lines."""
    body = "\n".join(line for line in ddl.splitlines() if not line.startswith("--"))
    return [b.strip() for b in re.split(r"^GO$", body, flags=re.MULTILINE) if b.strip()]


def test_checked_in_ddl_is_generated_from_the_schema() -> None:
    assert DDL_PATH.read_text(encoding="utf-8") == generate_ddl(), (
        "sql/order_list.sql is out of date: run `uv run order-platform ddl` and commit it"
    )


def test_ddl_is_one_statement_per_go_batch() -> None:
    ddl = DDL_PATH.read_text(encoding="utf-8")
    assert ddl.startswith(HEADER)
    statements = batches(ddl)
    assert [s.split("(")[0].split()[:2] for s in statements].count(["CREATE", "TABLE"]) == 7
    assert sum(s.startswith("CREATE INDEX") for s in statements) == 11
    for statement in statements:
        assert statement.endswith(";"), statement[:60]
        assert statement.count(";") == 1, statement[:60]
        assert statement.count("(") == statement.count(")"), statement[:60]
        assert not FORBIDDEN.search(statement), FORBIDDEN.search(statement)
    # Each batch is followed by GO on its own line, and nothing trails the last one.
    assert ddl.rstrip().endswith(";\nGO")
    assert ddl.count(";\nGO\n") == len(statements)


def test_ddl_types_for_sql_server(schema: OrderListSchema) -> None:
    ddl = generate_ddl()
    assert "record_uuid UNIQUEIDENTIFIER NOT NULL" in ddl
    assert "[ORDER DATE PO RECEIVED] DATE NULL" in ddl  # DATE, not SQL Server 2000's DATETIME
    assert "started_at DATETIME2 NOT NULL" in ddl
    assert "[_EXTRA_COLUMNS] NVARCHAR(max) NULL" in ddl
    assert "[_CELL_ISSUES] NVARCHAR(max) NULL" in ddl
    assert "id INTEGER NOT NULL IDENTITY" in ddl
    text = next(c for c in schema.columns if c.kind is Kind.TEXT)
    assert f"[{text.name}] NVARCHAR({text.length}) NULL" in ddl


def test_monday_drift_is_in_the_ddl() -> None:
    ddl = generate_ddl()
    table = next(s for s in batches(ddl) if s.startswith("CREATE TABLE [MONDAY_DRIFT]"))
    for column in ("board_id NVARCHAR(32) NOT NULL", "record_uuid NVARCHAR(64) NULL", "column_name NVARCHAR(255) NULL"):
        assert column in table
    assert "found_at DATETIME2 NOT NULL" in table and "drift_id INTEGER NOT NULL IDENTITY" in table
    assert "CREATE INDEX [IX_MONDAY_DRIFT_ITEM] ON [MONDAY_DRIFT] (board_id, item_id);" in ddl


def test_platform_tables_fit_sql_server_limits(schema: OrderListSchema) -> None:
    metadata = platform_metadata(schema)
    order_list = metadata.tables[ORDER_LIST]
    assert len(order_list.columns) <= MSSQL_MAX_COLUMNS
    assert len(order_list.columns) == len(schema.columns) + 6  # the schema plus lineage
    for table in metadata.tables.values():
        names = [table.name, *table.columns.keys(), *(i.name for i in table.indexes)]
        too_long = [n for n in names if len(n.encode("utf-16-le")) // 2 > MSSQL_MAX_IDENTIFIER]
        assert not too_long, too_long
    assert set(metadata.tables) == {ORDER_LIST, QUARANTINE, CELL_ISSUES, LOADS, DATE_ORDER, CHANGES}


def test_widest_staging_table_fits_sql_server_limits(schema: OrderListSchema) -> None:
    every = [c.name for c in schema.columns]
    table = staging_table("xA_VERY_LONG_CUSTOMER_NAME_ORDER_LIST_STAGING", schema, every)
    assert len(table.columns) <= MSSQL_MAX_COLUMNS
    CreateTable(table).compile(dialect=mssql_dialect())


def test_raw_and_staging_tables_never_carry_sqlite_prefixes_on_sql_server(schema: OrderListSchema) -> None:
    """The TEMPORARY prefix is for the SQLite scratch tables only; SQL Server DDL is plain."""
    dialect = mssql_dialect()
    raw = str(CreateTable(raw_table("xA_ORDER_LIST_RAW", ["PO NUMBER"])).compile(dialect=dialect))
    staging = str(CreateTable(staging_table("xA_ORDER_LIST_STAGING", schema, ["PO NUMBER"])).compile(dialect=dialect))
    for statement in (raw, staging):
        assert statement.lstrip().startswith("CREATE TABLE [x")
        assert not FORBIDDEN.search(statement), FORBIDDEN.search(statement)
    assert "[PO NUMBER] NVARCHAR(4000) NULL" in raw
    assert "[_LOADED_AT] DATETIME2 NULL" in raw


def test_monday_and_state_tables_compile_for_sql_server() -> None:
    dialect = mssql_dialect()
    tables = [*monday_state.metadata.sorted_tables, platform_state]
    assert {t.name for t in tables} >= {"MONDAY_LINE", "MONDAY_SUBITEM", "MONDAY_SYNC_RUN", "PLATFORM_STATE"}
    for table in tables:
        ddl = str(CreateTable(table).compile(dialect=dialect))
        for index in table.indexes:
            ddl += str(CreateIndex(index).compile(dialect=dialect))
        assert not re.search(r"\b(NTEXT|TEXT|IMAGE|TEMPORARY|BOOLEAN)\b", ddl), ddl
        assert len(table.columns) <= MSSQL_MAX_COLUMNS
    run = str(CreateTable(monday_state.run_table).compile(dialect=dialect))
    assert "dry_run BIT NOT NULL" in run
    assert "run_id INTEGER NOT NULL IDENTITY" in run
    state = str(CreateTable(platform_state).compile(dialect=dialect))
    assert "[key] NVARCHAR(200) NOT NULL" in state  # KEY is reserved in T-SQL: it must be bracketed
    assert "PRIMARY KEY ([key])" in state


def test_identifier_quoting_for_workbook_headers() -> None:
    """Headers become column names as they are; brackets quote them and `]` is doubled."""
    quote = mssql_dialect().identifier_preparer.quote
    assert quote("PO NUMBER") == "[PO NUMBER]"
    assert quote("RANGE / COLLECTION") == "[RANGE / COLLECTION]"
    assert quote("CUSTOMER'S COLOUR") == "[CUSTOMER'S COLOUR]"
    assert quote("∆ QTY") == "[∆ QTY]"
    assert quote("SIZE]X") == "[SIZE]]X]"
    assert quote("[WEIRD") == "[[WEIRD]"
    assert quote("2T") == "[2T]"
    assert quote("DROP") == "[DROP]"  # reserved words too
    assert quote("customer") == "customer"


def test_create_table_with_awkward_headers_round_trips_their_names() -> None:
    headers = ["PO NUMBER", "A/B", "CUSTOMER'S", "∆ QTY", "x]y", "[z", "ORDER", "select"]
    ddl = str(CreateTable(raw_table("xA_ORDER_LIST_RAW", headers)).compile(dialect=mssql_dialect()))
    for quoted in ("[PO NUMBER]", "[A/B]", "[CUSTOMER'S]", "[∆ QTY]", "[x]]y]", "[[z]", "[ORDER]", "[select]"):
        assert f"\t{quoted} NVARCHAR(4000) NULL" in ddl


def test_mssql_dialect_pins_modern_types() -> None:
    dialect = mssql_dialect()
    assert dialect.deprecate_large_types is True
    assert str(sa.UnicodeText().compile(dialect=dialect)) == "NVARCHAR(max)"
