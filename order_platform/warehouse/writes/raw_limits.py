"""Limits a raw table must respect, checked before writing so the error names the file, sheet, row and
column instead of failing in the driver."""

from __future__ import annotations

import pandas as pd

from order_platform.staging.transform import RAW_LINEAGE
from order_platform.warehouse.tables import MSSQL_MAX_COLUMNS, MSSQL_MAX_IDENTIFIER, RAW_TEXT_LENGTH


def _utf16_units(text: str) -> int:
    """Length as SQL Server counts NVARCHAR(n) and identifiers: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _where(raw: pd.DataFrame) -> str:
    first = raw.iloc[0] if len(raw) else None
    return "" if first is None else f"file {first['_SOURCE_FILE']!r}, sheet {first['_SOURCE_SHEET']!r}, "


def check_raw_column_count(headers: list[str], raw: pd.DataFrame, limit: int, database: str) -> None:
    """Raise ValueError, naming file and sheet, when the raw table would have more columns than allowed."""
    if len(headers) + len(RAW_LINEAGE) > limit:
        raise ValueError(
            f"{_where(raw)}{len(headers)} columns: a {database} table holds at most {limit} "
            f"including the {len(RAW_LINEAGE)} lineage columns; remove empty or unused columns"
        )


def check_sql_server_raw_limits(headers: list[str], raw: pd.DataFrame) -> None:
    """Raise ValueError, naming file, sheet, row and column, when the raw table would break a SQL Server
    limit (columns per table, identifier length, NVARCHAR(4000) cells) instead of failing in the driver."""
    check_raw_column_count(headers, raw, MSSQL_MAX_COLUMNS, "SQL Server")
    where = _where(raw)
    for header in headers:
        if _utf16_units(header) > MSSQL_MAX_IDENTIFIER:
            raise ValueError(
                f"{where}column {header[:40]!r}...: header is longer than the {MSSQL_MAX_IDENTIFIER} "
                "characters SQL Server allows for a column name; shorten it"
            )
    for header in headers:
        lengths = raw[header].str.len()
        # A UTF-16 cell has at most 2 code units per character: only long cells need a closer look.
        for index in lengths.index[lengths.gt(RAW_TEXT_LENGTH // 2).to_numpy()]:
            value = raw.at[index, header]
            assert isinstance(value, str)  # only text cells have a length here
            units = _utf16_units(value)
            if units > RAW_TEXT_LENGTH:
                size = f"{len(value)} characters" + (f" ({units} UTF-16 units)" if units != len(value) else "")
                raise ValueError(
                    f"file {raw.at[index, '_SOURCE_FILE']!r}, sheet {raw.at[index, '_SOURCE_SHEET']!r}, "
                    f"row {raw.at[index, '_SOURCE_ROW']!s}, column {header!r}: cell has {size}; "
                    f"the SQL Server raw table keeps at most {RAW_TEXT_LENGTH} (NVARCHAR({RAW_TEXT_LENGTH}))"
                )
