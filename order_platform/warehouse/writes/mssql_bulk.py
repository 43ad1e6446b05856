"""SQL Server: a raw or staging table replaced through the driver's bulk copy (TDS bulk load).

mssql-python's `cursor.bulkcopy(table, rows, ...)` streams rows in the server's bulk-load protocol,
many times faster than INSERT statements, even parameter-array bound ones. It runs on a connection of
its own (the driver opens it from the connection string), so it cannot join our transaction. The
rows therefore go into a load table first, which nobody reads, and the swap is one transaction on our
connection: drop the old table, rename the load table in its place. Readers see the old table or the
new one, as with the row-wise path; a copy that fails leaves only the load table, dropped by the next
attempt. The ORDER_LIST publish is unchanged: one transaction, a set-based INSERT ... SELECT from the
staging table, counted before commit.

Drivers without `bulkcopy` (pyodbc) keep the array-bound INSERT (`fast_executemany`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from contextlib import closing
from typing import Any

import sqlalchemy as sa
from sqlalchemy.schema import CreateTable

BATCH_ROWS = 10_000  # rows per bulk-copy batch: the server commits each batch of the load table
TIMEOUT_SECONDS = 0  # no limit of the driver's: the customer's time limit (worker) bounds a load
MAX_NAME = 128  # SQL Server's identifier limit


def load_table_name(name: str) -> str:
    """The load table beside `name` (within SQL Server's 128 characters, distinct per table)."""
    digest = hashlib.sha1(name.encode()).hexdigest()[:8]
    return f"{name[: MAX_NAME - 15]}_LOAD_{digest}"


def bulk_cursor(conn: sa.Connection) -> Any | None:
    """A new cursor of the driver when it can bulk copy (mssql-python), else None (the caller closes it)."""
    driver = conn.connection.dbapi_connection
    cursor = driver.cursor() if driver is not None else None
    if cursor is not None and callable(getattr(cursor, "bulkcopy", None)):
        return cursor
    if cursor is not None:
        cursor.close()
    return None


def can_bulk_copy(conn: sa.Connection) -> bool:
    cursor = bulk_cursor(conn)
    if cursor is None:
        return False
    cursor.close()
    return True


class BulkCopyMismatch(Exception):
    """The driver copied another number of rows than it was given; the table was not replaced."""


def replace_by_bulk_copy(
    conn: sa.Connection, table: sa.Table, columns: list[str], rows: Iterable[tuple], expected: int
) -> None:
    """Replace `table` with `rows` (`expected` tuples in the order of `columns`): bulk copy into a load
    table, then drop and rename in one transaction."""
    cursor = bulk_cursor(conn)
    if cursor is None:
        raise RuntimeError("the SQL Server driver has no bulk copy")
    preparer = conn.dialect.identifier_preparer
    load = table.to_metadata(sa.MetaData(), name=load_table_name(table.name))
    load.drop(conn, checkfirst=True)  # a failed attempt's leftover
    conn.exec_driver_sql(str(CreateTable(load).compile(dialect=conn.dialect)))
    conn.commit()  # the copy's own connection must see the load table
    with closing(cursor):
        result = cursor.bulkcopy(
            preparer.quote(load.name),
            rows,
            batch_size=BATCH_ROWS,
            timeout=TIMEOUT_SECONDS,
            column_mappings=list(columns),
            keep_nulls=True,
            table_lock=True,
        )
    copied = result.get("rows_copied") if isinstance(result, dict) else None
    if copied is not None and int(copied) != expected:
        raise BulkCopyMismatch(f"bulk copy into {load.name} copied {copied} of {expected} rows; {table.name} kept")
    table.drop(conn, checkfirst=True)
    conn.exec_driver_sql("EXEC sp_rename ?, ?", (load.name, table.name))
    conn.commit()
