"""Limits of the target database, checked before anything is written.

SQL Server refuses identifiers over 128 characters and values wider than their NVARCHAR column;
SQLite accepts anything, so a name that loads locally would fail in production half way through a
load. Both are checked up front, the same for every database: table names are shortened with a hash
(see `staging.customers.table_suffix`), customer names and source paths that do not fit are refused.
Lengths count UTF-16 code units, as NVARCHAR and identifiers do.
"""

from __future__ import annotations

from order_platform.warehouse.tables import CUSTOMER_NAME_LENGTH, SOURCE_PATH_LENGTH


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def customer_name_refusal(customer: str, path: str) -> str | None:
    """Why the workbook at `path` cannot be loaded as `customer`, or None when its names fit."""
    if utf16_units(customer) > CUSTOMER_NAME_LENGTH:
        return (
            f"skipped {path!r}: its customer name has {utf16_units(customer)} characters and the database "
            f"keeps at most {CUSTOMER_NAME_LENGTH} (ORDER_LIST_LOADS.customer); shorten the file name"
        )
    if utf16_units(path) > SOURCE_PATH_LENGTH:
        return (
            f"skipped {path[:80]!r}...: its path has {utf16_units(path)} characters and the database keeps at "
            f"most {SOURCE_PATH_LENGTH} (_SOURCE_FILE); move it to a shallower folder or shorten its name"
        )
    return None
