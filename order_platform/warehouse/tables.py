"""SQLAlchemy tables, all derived from the ORDER_LIST schema definition.

ORDER_LIST (production), the per-customer raw and staging tables, the quarantine, the cell issues,
the load log and the remembered day/month order of each customer's text dates.
The SQL Server DDL in sql/ is generated from these (`order-platform ddl`), and a test keeps it in step.
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import mssql

from order_platform.schema import KEY_COLUMN, SOURCE_TABLE_COLUMN, Column, Kind, OrderListSchema

ORDER_LIST = "ORDER_LIST"
QUARANTINE = "ORDER_LIST_QUARANTINE"
CELL_ISSUES = "ORDER_LIST_CELL_ISSUES"
LOADS = "ORDER_LIST_LOADS"
DATE_ORDER = "ORDER_LIST_DATE_ORDER"
CHANGES = "ORDER_LIST_CHANGES"
CELL_ISSUES_COLUMN = "_CELL_ISSUES"
UUID_TYPE = sa.String(36).with_variant(mssql.UNIQUEIDENTIFIER(as_uuid=False), "mssql")
# Without a live server the mssql dialect assumes SQL Server 2000 (DATETIME for dates); pin DATE.
DATE_TYPE = sa.Date().with_variant(mssql.DATE(), "mssql")
# DATETIME2, not DATETIME: DATETIME parses 'YYYY-MM-DD hh:mm:ss' text by the login's DATEFORMAT (the raw
# _LOADED_AT is bound as text) and rounds to 1/300 s; DATETIME2 is language-neutral and exact.
DATETIME_TYPE = sa.DateTime().with_variant(mssql.DATETIME2(), "mssql")

# NVARCHAR(4000) rather than (max) on SQL Server: array-bound executemany binds max columns slowly.
RAW_TEXT_LENGTH = 4000
RAW_TEXT_TYPE = sa.UnicodeText().with_variant(mssql.NVARCHAR(RAW_TEXT_LENGTH), "mssql")
# SQL Server limits the raw tables must respect (workbook headers become column names).
MSSQL_MAX_COLUMNS = 1024
MSSQL_MAX_IDENTIFIER = 128
# Widths every customer name and source path must fit (load log, quarantine, lineage, monday.com state).
CUSTOMER_NAME_LENGTH = 100
SOURCE_PATH_LENGTH = 400


def mssql_dialect() -> sa.Dialect:
    """The dialect the DDL and statement tests compile for: mssql-python, SQL Server 2016+ types."""
    from sqlalchemy.dialects.mssql import mssqlpython

    return mssqlpython.dialect(deprecate_large_types=True)


def sql_type(column: Column) -> sa.types.TypeEngine:
    if column.kind is Kind.TEXT:
        return sa.Unicode(column.length)
    if column.kind is Kind.INT:
        return sa.Integer()
    if column.kind is Kind.SMALLINT:
        return sa.SmallInteger()
    if column.kind is Kind.DECIMAL:
        return sa.DECIMAL(column.precision, column.scale, asdecimal=False)
    if column.kind is Kind.DATE:
        return DATE_TYPE
    return UUID_TYPE


def lineage_columns() -> list[sa.Column]:
    return [
        sa.Column("_SOURCE_FILE", sa.Unicode(SOURCE_PATH_LENGTH)),
        sa.Column("_SOURCE_SHEET", sa.Unicode(100)),
        sa.Column("_SOURCE_ROW", sa.Integer),
        sa.Column("_LOAD_ID", sa.String(36)),
        sa.Column("_EXTRA_COLUMNS", sa.UnicodeText),
        # JSON: ORDER_LIST column -> {"value": text as written, "reason_code"} for the line's cells that
        # were not loaded (NULL in their column); the same cells are rows of ORDER_LIST_CELL_ISSUES.
        sa.Column(CELL_ISSUES_COLUMN, sa.UnicodeText),
    ]


def _typed_columns(schema: OrderListSchema, names: list[str] | None = None) -> list[sa.Column]:
    wanted = None if names is None else set(names)
    out = []
    for column in schema.columns:
        if wanted is not None and column.name not in wanted:
            continue
        if column.name == KEY_COLUMN:
            out.append(sa.Column(KEY_COLUMN, UUID_TYPE, primary_key=True))
        else:
            out.append(sa.Column(column.name, sql_type(column)))
    return out


@cache
def platform_metadata(schema: OrderListSchema) -> sa.MetaData:
    """The fixed tables: ORDER_LIST, its quarantine and the load log (built once per schema: ~40 ms for
    ~450 columns, which each worker process would otherwise pay again; see workers/warmup.py)."""
    metadata = sa.MetaData()
    sa.Table(
        ORDER_LIST,
        metadata,
        *_typed_columns(schema),
        *lineage_columns(),
        sa.Index("IX_ORDER_LIST_SOURCE_TABLE", SOURCE_TABLE_COLUMN),
    )
    sa.Table(
        QUARANTINE,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.Unicode(CUSTOMER_NAME_LENGTH), nullable=False, index=True),
        sa.Column("load_id", sa.String(36), nullable=False),
        sa.Column("source_file", sa.Unicode(SOURCE_PATH_LENGTH)),
        sa.Column("sheet", sa.Unicode(100)),
        sa.Column("row_number", sa.Integer),
        sa.Column("column_name", sa.Unicode(255)),
        sa.Column("value", sa.UnicodeText),
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("reason", sa.UnicodeText, nullable=False),
    )
    sa.Table(
        CELL_ISSUES,
        metadata,
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("customer", sa.Unicode(100), nullable=False, index=True),
        sa.Column("load_id", sa.String(36), nullable=False),
        sa.Column("record_uuid", UUID_TYPE, nullable=False),  # the ORDER_LIST line
        sa.Column("source_file", sa.Unicode(400)),
        sa.Column("sheet", sa.Unicode(100)),
        sa.Column("row_number", sa.Integer),
        sa.Column("column_name", sa.Unicode(255), nullable=False),  # the ORDER_LIST column
        sa.Column("source_header", sa.Unicode(255)),  # the workbook's header
        sa.Column("value", sa.UnicodeText),  # the cell's text as written
        sa.Column("reason_code", sa.String(40), nullable=False),
        sa.Column("reason", sa.UnicodeText, nullable=False),
    )
    sa.Table(
        DATE_ORDER,
        metadata,
        sa.Column("customer", sa.Unicode(100), primary_key=True),
        sa.Column("date_order", sa.String(3), nullable=False),  # DMY | MDY
        sa.Column("decided_by", sa.String(20), nullable=False),
        sa.Column("day_first_evidence", sa.Integer),
        sa.Column("month_first_evidence", sa.Integer),
        sa.Column("load_id", sa.String(36), nullable=False),
        sa.Column("updated_at", DATETIME_TYPE, nullable=False),
    )
    sa.Table(
        CHANGES,
        metadata,
        # One row per changed cell of a line (change_kind `changed`), or per line added or removed, recorded
        # in the transaction that published the load (warehouse/changes/diff.py).
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer, "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("load_id", sa.String(36), nullable=False, index=True),
        sa.Column("customer", sa.Unicode(CUSTOMER_NAME_LENGTH), nullable=False),
        sa.Column("record_uuid", UUID_TYPE, nullable=False, index=True),
        sa.Column("change_kind", sa.String(10), nullable=False),  # added | changed | removed
        sa.Column("column_name", sa.Unicode(255)),  # the ORDER_LIST column (changed); NULL for lines
        # as text, as ORDER_LIST holds them; a removed line's old value and an added line's new value are
        # the line's non-blank values as JSON (so the line can be shown as it was)
        sa.Column("old_value", sa.UnicodeText),
        sa.Column("new_value", sa.UnicodeText),
        sa.Column("cell_issue", sa.Unicode(400)),  # why the new value is NULL: `NOT_A_DATE: 32/13/2025`
        sa.Column("significance", sa.SmallInteger, nullable=False),  # 1 quantities ... 9 other (most first)
        # the line as people name it, kept with the change (a removed line is gone from ORDER_LIST)
        sa.Column("aag_order_number", sa.Unicode(100)),
        sa.Column("po_number", sa.Unicode(255), index=True),
        sa.Column("customer_style", sa.Unicode(100)),
        sa.Column("changed_at", DATETIME_TYPE, nullable=False, index=True),
    )
    sa.Table(
        LOADS,
        metadata,
        sa.Column("load_id", sa.String(36), primary_key=True),
        sa.Column("customer", sa.Unicode(CUSTOMER_NAME_LENGTH), nullable=False, index=True),
        sa.Column("source_path", sa.Unicode(SOURCE_PATH_LENGTH)),
        sa.Column("source_version", sa.Unicode(200)),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("status", sa.String(20), nullable=False),  # published | failed | source_removed | retired
        sa.Column("started_at", DATETIME_TYPE, nullable=False),
        sa.Column("finished_at", DATETIME_TYPE),
        sa.Column("raw_rows", sa.Integer),
        sa.Column("staged_rows", sa.Integer),
        sa.Column("quarantined_rows", sa.Integer),
        sa.Column("published_rows", sa.Integer),
        sa.Column("unknown_headers", sa.UnicodeText),
        sa.Column("error", sa.UnicodeText),
        sa.Column("cell_issues", sa.Integer),  # cell issues (placeholders not counted)
        sa.Column("date_order", sa.String(3)),  # the order the load read text dates in
        sa.Column("notes", sa.UnicodeText),  # JSON list: e.g. a change of date order
        # JSON list: the ORDER_LIST columns the load filled (the next load's change history compares only these
        # and its own; every other column is NULL in both slices)
        sa.Column("staged_columns", sa.UnicodeText),
    )
    return metadata


def raw_table(name: str, headers: list[str]) -> sa.Table:
    """Every header as text, plus where each row came from."""
    return sa.Table(
        name,
        sa.MetaData(),
        *(sa.Column(h, RAW_TEXT_TYPE) for h in headers),
        sa.Column("_SOURCE_FILE", sa.Unicode(SOURCE_PATH_LENGTH)),
        sa.Column("_SOURCE_SHEET", sa.Unicode(100)),
        sa.Column("_SOURCE_ROW", sa.Integer),
        sa.Column("_LOADED_AT", DATETIME_TYPE),
    )


def staging_table(name: str, schema: OrderListSchema, canonical_columns: list[str]) -> sa.Table:
    """The canonical columns this customer's file feeds, typed as in ORDER_LIST, plus lineage."""
    names = [KEY_COLUMN, *canonical_columns, SOURCE_TABLE_COLUMN]
    return sa.Table(name, sa.MetaData(), *_typed_columns(schema, names), *lineage_columns())
