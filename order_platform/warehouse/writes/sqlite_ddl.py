"""CREATE TABLE statements of the SQLite raw and staging tables, from column definitions compiled once.

Building a SQLAlchemy table of ~150 columns and compiling its CREATE TABLE costs ~2 ms, paid for both
tables of every load; the definitions are the same for every customer (a raw table's are text, a staging
table's are ORDER_LIST's), so each is compiled once per process. The statements are the ones
SQLAlchemy compiles for `tables.raw_table` / `tables.staging_table` (a test compares them).
"""

from __future__ import annotations

from functools import cache

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.schema import CreateColumn

from order_platform.schema import KEY_COLUMN, SOURCE_TABLE_COLUMN, OrderListSchema
from order_platform.warehouse.tables import ORDER_LIST, RAW_TEXT_TYPE, lineage_columns, platform_metadata, raw_table

_DIALECT = sqlite.dialect()
_QUOTE = _DIALECT.identifier_preparer.quote


def _definition(column: sa.Column) -> str:
    return str(CreateColumn(column).compile(dialect=_DIALECT))


@cache
def _raw_lineage() -> tuple[tuple[str, str], ...]:
    return tuple((c.name, _definition(c)) for c in raw_table("raw", []).columns)


@cache
def _order_list_columns(schema: OrderListSchema) -> tuple[tuple[str, str, bool], ...]:
    """ORDER_LIST's columns in order: name, definition, whether a staging table always has it."""
    table = platform_metadata(schema).tables[ORDER_LIST]
    always = {KEY_COLUMN, SOURCE_TABLE_COLUMN} | {c.name for c in lineage_columns()}
    return tuple((c.name, _definition(c), c.name in always) for c in table.columns)


def _create(name: str, definitions: list[str], primary_key: str | None = None) -> str:
    parts = [*definitions, f"PRIMARY KEY ({_QUOTE(primary_key)})"] if primary_key else definitions
    return f"\nCREATE TABLE {_QUOTE(name)} (\n\t" + ", \n\t".join(parts) + "\n)\n\n"


def raw_table_sql(name: str, headers: list[str]) -> tuple[str, list[str]]:
    """The raw table's CREATE TABLE and its columns in order: every header as text, then the lineage."""
    text = RAW_TEXT_TYPE.compile(dialect=_DIALECT)
    lineage = _raw_lineage()
    definitions = [f"{_QUOTE(h)} {text}" for h in headers] + [d for _, d in lineage]
    return _create(name, definitions), [*headers, *(n for n, _ in lineage)]


def staging_table_sql(name: str, schema: OrderListSchema, canonical_columns: list[str]) -> tuple[str, list[str]]:
    """The staging table's CREATE TABLE and its columns in order: the line id, the canonical columns the
    customer's file feeds and the lineage, in ORDER_LIST's order and types."""
    wanted = set(canonical_columns)
    columns = [(n, d) for n, d, always in _order_list_columns(schema) if always or n in wanted]
    return _create(name, [d for _, d in columns], KEY_COLUMN), [n for n, _ in columns]
