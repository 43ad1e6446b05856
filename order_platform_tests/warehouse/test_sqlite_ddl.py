"""The SQLite CREATE TABLE statements compiled from cached column definitions are SQLAlchemy's own."""

from __future__ import annotations

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateTable

from order_platform.schema import KEY_COLUMN, SOURCE_TABLE_COLUMN, OrderListSchema, order_list_schema
from order_platform.warehouse.tables import raw_table, staging_table
from order_platform.warehouse.writes.sqlite_ddl import raw_table_sql, staging_table_sql

HEADERS = ["AAG ORDER NUMBER", "po number", "order", 'SIZE "XL"', "∆", "Qty.", "A"]


def _sqlalchemy(table) -> tuple[str, list[str]]:
    return str(CreateTable(table).compile(dialect=sqlite.dialect())), [c.name for c in table.columns]


def test_raw_table() -> None:
    assert raw_table_sql("xTITLE_NINE_ORDER_LIST_RAW", HEADERS) == _sqlalchemy(
        raw_table("xTITLE_NINE_ORDER_LIST_RAW", HEADERS)
    )
    assert raw_table_sql("raw", []) == _sqlalchemy(raw_table("raw", []))


@pytest.mark.parametrize("take", [0, 1, 7, 40, None])
def test_staging_table(take: int | None) -> None:
    schema: OrderListSchema = order_list_schema()
    names = [c.name for c in schema.columns if c.name not in (KEY_COLUMN, SOURCE_TABLE_COLUMN)]
    canonical = list(reversed(names[:take] if take is not None else names))  # any order in, the schema's out
    expected = _sqlalchemy(staging_table("xTITLE_NINE_ORDER_LIST_STAGING", schema, canonical))
    assert staging_table_sql("xTITLE_NINE_ORDER_LIST_STAGING", schema, canonical) == expected
