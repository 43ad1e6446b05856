"""The one definition of ORDER_LIST: columns, types, groups and header aliases.

Everything else derives from this module: the SQLAlchemy tables, the SQL Server DDL in sql/,
the transform (how each column is cast and matched) and the sample-data generator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from typing import Literal

from pydantic import field_validator

from order_platform.config.loading import PACKAGED, ConfigFileError, StrictModel, read_packaged_config


class Kind(StrEnum):
    TEXT = "text"
    INT = "int"
    SMALLINT = "smallint"
    DECIMAL = "decimal"
    DATE = "date"
    UUID = "uuid"


_TYPE = re.compile(r"^(?P<base>[A-Z]+)(?:\((?P<a>\d+)(?:,(?P<b>\d+))?\))?$")
_BASE_KIND = {
    "NVARCHAR": Kind.TEXT,
    "INT": Kind.INT,
    "SMALLINT": Kind.SMALLINT,
    "DECIMAL": Kind.DECIMAL,
    "DATE": Kind.DATE,
    "UNIQUEIDENTIFIER": Kind.UUID,
}
INT_RANGES = {Kind.INT: (-(2**31), 2**31 - 1), Kind.SMALLINT: (-(2**15), 2**15 - 1)}


@dataclass(frozen=True)
class Column:
    name: str
    sql_server_type: str
    group: str  # key | order | size | detail | meta
    kind: Kind
    length: int | None = None  # NVARCHAR(n)
    precision: int | None = None  # DECIMAL(p, s)
    scale: int | None = None

    @property
    def is_size(self) -> bool:
        return self.group == "size"

    @property
    def max_abs_decimal(self) -> float | None:
        """Largest magnitude DECIMAL(p, s) holds: 10**(p-s) exclusive."""
        if self.kind is not Kind.DECIMAL or self.precision is None or self.scale is None:
            return None
        return 10.0 ** (self.precision - self.scale)


class ColumnEntry(StrictModel):
    """One column of config/order_list_schema.json."""

    name: str
    sql_server_type: str
    group: Literal["key", "order", "size", "detail", "meta"]

    @field_validator("sql_server_type")
    @classmethod
    def _supported(cls, value: str) -> str:
        match = _TYPE.match(value.replace(" ", "").upper())
        if not match or match.group("base") not in _BASE_KIND:
            raise ValueError(f"unsupported type {value!r} (one of {', '.join(_BASE_KIND)})")
        return value


class SchemaFile(StrictModel):
    """config/order_list_schema.json: ORDER_LIST's columns in production order."""

    columns: list[ColumnEntry]


class HeaderAliasesFile(StrictModel):
    """config/header_aliases.json: source header -> canonical column, beyond case and spacing."""

    aliases: dict[str, str]


def _parse_column(raw: ColumnEntry) -> Column:
    match = _TYPE.match(raw.sql_server_type.replace(" ", "").upper())
    assert match is not None  # checked when the file was read
    kind = _BASE_KIND[match.group("base")]
    a, b = match.group("a"), match.group("b")
    return Column(
        name=raw.name,
        sql_server_type=raw.sql_server_type,
        group=raw.group,
        kind=kind,
        length=int(a) if kind is Kind.TEXT and a else None,
        precision=int(a) if kind is Kind.DECIMAL and a else None,
        scale=int(b) if kind is Kind.DECIMAL and b else None,
    )


KEY_COLUMN = "record_uuid"
SOURCE_TABLE_COLUMN = "_SOURCE_TABLE"
AAG_ORDER_NUMBER = "AAG ORDER NUMBER"
CUSTOMER_NAME = "CUSTOMER NAME"
SOURCE_CUSTOMER_NAME = "SOURCE_CUSTOMER_NAME"
TOTAL_QTY = "TOTAL QTY"
ORDER_TYPE = "ORDER TYPE"
PLANNED_DELIVERY_METHOD = "PLANNED DELIVERY METHOD"
CUSTOMER_STYLE = "CUSTOMER STYLE"

# The team's order-line key (README, "How a workbook is read and cleaned"), defined once: the line id is a
# UUID5 of these (staging/identity.py).
# ORDER TYPE is left out on purpose: it is a status (RECEIVED -> CANCELLED) and a cancelled line stays the same line.
ORDER_LINE_KEY: tuple[str, ...] = (
    AAG_ORDER_NUMBER,
    PLANNED_DELIVERY_METHOD,
    CUSTOMER_STYLE,
    "PO NUMBER",
    "ALIAS/RELATED ITEM",
    "CUSTOMER ALT PO",
)
# The key's first three columns are the team's unique key: a workbook must have them.
REQUIRED_KEY_COLUMNS: tuple[str, ...] = ORDER_LINE_KEY[:3]
# The key columns that make a row an order line when filled (a delivery method alone does not: it is often
# filled down a sheet's empty lines).
LINE_IDENTIFYING_COLUMNS: tuple[str, ...] = tuple(c for c in ORDER_LINE_KEY if c != PLANNED_DELIVERY_METHOD)
# What an order line has besides its order number: a heading or note in that column has none of these.
LINE_DETAIL_COLUMNS: tuple[str, ...] = tuple(c for c in LINE_IDENTIFYING_COLUMNS if c != AAG_ORDER_NUMBER)


@dataclass(frozen=True, eq=False)
class OrderListSchema:
    columns: tuple[Column, ...]
    aliases: dict[str, str]  # normalised source header -> canonical column name

    @cached_property
    def by_name(self) -> dict[str, Column]:
        return {c.name: c for c in self.columns}

    @cached_property
    def size_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.is_size)

    @cached_property
    def business_columns(self) -> tuple[Column, ...]:
        """Columns a workbook can feed (everything except the key and lineage)."""
        return tuple(c for c in self.columns if c.group in ("order", "size", "detail"))

    def canonical_for(self, header: str) -> str | None:
        """The canonical column a source header feeds, ignoring case and stray spaces."""
        return self._lookup.get(normalise_header(header))

    @cached_property
    def _lookup(self) -> dict[str, str]:
        lookup = {normalise_header(c.name): c.name for c in self.business_columns}
        for alias, canonical in self.aliases.items():
            lookup.setdefault(alias, canonical)
        return lookup


def normalise_header(header: object) -> str:
    """Upper-case, collapse whitespace (incl. non-breaking), strip. `36x30 ` == `36X30`."""
    return " ".join(str(header).replace("\u00a0", " ").split()).upper()


@cache
def order_list_schema() -> OrderListSchema:
    columns = tuple(_parse_column(raw) for raw in read_packaged_config(SchemaFile, "order_list_schema.json").columns)
    by_name = {c.name for c in columns}
    aliases: dict[str, str] = {}
    for alias, canonical in read_packaged_config(HeaderAliasesFile, "header_aliases.json").aliases.items():
        if canonical not in by_name:
            raise ConfigFileError(
                f"{PACKAGED}/header_aliases.json: key 'aliases.{alias}' points at unknown column {canonical!r}"
            )
        aliases[normalise_header(alias)] = canonical
    schema = OrderListSchema(columns=columns, aliases=aliases)
    _check_unambiguous(schema)
    return schema


def _check_unambiguous(schema: OrderListSchema) -> None:
    seen: dict[str, str] = {}
    for column in schema.business_columns:
        key = normalise_header(column.name)
        if key in seen:
            raise ConfigFileError(
                f"{PACKAGED}/order_list_schema.json: columns {seen[key]!r} and {column.name!r} differ only in case "
                "or spacing"
            )
        seen[key] = column.name
