"""A stand-in for the DBAPI module (mssql_python, or pyodbc): SQLAlchemy's real mssql+mssqlpython and
mssql+pyodbc dialects run on it, and every statement our code sends is recorded instead of reaching a
server.

It lets the tests check what SQL Server would receive (text, parameters, executemany, commits)
from the real code paths, without an ODBC driver or a server.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

SERVER_VERSION = "16.0.4135.4"  # SQL Server 2022


@dataclass
class Call:
    """One cursor call: `rows` holds one parameter tuple (execute) or all of them (executemany)."""

    sql: str
    rows: list[tuple]
    many: bool
    fast_executemany: bool  # bound as arrays: pyodbc's fast_executemany; always so with mssql-python

    @property
    def first_params(self) -> tuple:
        return self.rows[0] if self.rows else ()


@dataclass
class BulkCopy:
    """One `cursor.bulkcopy(table, rows, **options)` (mssql-python's bulk copy, on its own connection)."""

    table: str
    rows: list[tuple]
    options: dict[str, Any]


Responder = Callable[[str], list[tuple] | None]


@dataclass
class Recorder:
    """What the fake server was sent; `respond` gives rows for SELECTs (None: no result set)."""

    calls: list[Call | BulkCopy | str] = field(default_factory=list)
    respond: Responder | None = None
    bulk_copy_fails: bool = False  # the driver's bulk copy raises (a dropped connection, a bad value)

    def statements(self) -> list[Call]:
        return [c for c in self.calls if isinstance(c, Call) and not _is_dialect_probe(c.sql)]

    def bulk_copies(self) -> list[BulkCopy]:
        return [c for c in self.calls if isinstance(c, BulkCopy)]

    def clear(self) -> None:
        self.calls.clear()


_PROBES = (
    "SELECT CAST(SERVERPROPERTY('ProductVersion')",
    "SELECT schema_name()",
    "SELECT name FROM sys.system_views",
    "SELECT CASE transaction_isolation_level",
    "SELECT CAST('test max support'",
    "SELECT 1 FROM fn_listextendedproperty",
    "select @@version",
)


def _is_dialect_probe(sql: str) -> bool:
    """Queries SQLAlchemy itself sends: the dialect's first-connect probes and the pool's pre-ping."""
    text = sql.strip()
    return text == "SELECT 1" or text.startswith(_PROBES)


def _default_rows(sql: str) -> list[tuple] | None:
    if "SERVERPROPERTY('ProductVersion')" in sql:
        return [(SERVER_VERSION,)]
    if "@@version" in sql:
        return [(f"Microsoft SQL Server 2022 (RTM-CU12) (KB5033663) - {SERVER_VERSION} (X64)",)]
    if "schema_name()" in sql:
        return [("dbo",)]
    if "transaction_isolation_level" in sql:
        return [("READ COMMITTED",)]
    if "dm_exec_sessions" in sql:
        return [("dm_exec_sessions",)]
    if re.search(r"count\(\*\)", sql, re.IGNORECASE):
        return [(0,)]
    if "OUTPUT inserted" in sql:
        return [(1,)]
    if sql.lstrip().upper().startswith(("SELECT", "WITH")):
        return []
    return None


class Cursor:
    arraysize = 1

    def __init__(self, recorder: Recorder, array_bound: bool = False) -> None:
        self._recorder = recorder
        self._rows: list[tuple] = []
        self.description: list[tuple] | None = None
        self.rowcount = -1
        self.fast_executemany = array_bound

    def _result(self, sql: str) -> None:
        rows = self._recorder.respond(sql) if self._recorder.respond else None
        if rows is None:
            rows = _default_rows(sql)
        if rows is None:
            self.description, self._rows, self.rowcount = None, [], 0
        else:
            width = len(rows[0]) if rows else 1
            self.description = [(f"c{i}", None, None, None, None, None, True) for i in range(width)]
            self._rows, self.rowcount = list(rows), len(rows)

    def execute(self, sql: str, *params: Any) -> Cursor:
        if len(params) == 1 and isinstance(params[0], (list, tuple)):
            params = tuple(params[0])
        self._recorder.calls.append(Call(sql, [tuple(params)], False, self.fast_executemany))
        self._result(sql)
        return self

    def executemany(self, sql: str, seq: Sequence[Sequence[Any]]) -> None:
        self._recorder.calls.append(Call(sql, [tuple(p) for p in seq], True, self.fast_executemany))
        self._result(sql)

    def setinputsizes(self, sizes: Any) -> None:
        pass

    def fetchone(self) -> tuple | None:
        return self._rows.pop(0) if self._rows else None

    def fetchmany(self, size: int | None = None) -> list[tuple]:
        size = size or self.arraysize
        out, self._rows = self._rows[:size], self._rows[size:]
        return out

    def fetchall(self) -> list[tuple]:
        out, self._rows = self._rows, []
        return out

    def nextset(self) -> bool:
        return False

    def close(self) -> None:
        pass


class BulkCopyCursor(Cursor):
    """mssql-python's cursor, with its bulk copy (signature as in mssql_python 1.16's cursor.bulkcopy)."""

    def bulkcopy(
        self,
        table_name: str,
        data: Any,
        batch_size: int = 0,
        timeout: int = 30,
        column_mappings: list[str] | list[tuple[int, str]] | None = None,
        keep_identity: bool = False,
        check_constraints: bool = False,
        table_lock: bool = False,
        keep_nulls: bool = False,
        fire_triggers: bool = False,
        use_internal_transaction: bool = False,
    ) -> dict[str, Any]:
        rows = list(data)
        if rows and not all(type(r) is tuple for r in rows):
            raise TypeError("bulkcopy data rows must be tuples or Row objects")
        options = {
            "batch_size": batch_size,
            "timeout": timeout,
            "column_mappings": column_mappings,
            "keep_identity": keep_identity,
            "check_constraints": check_constraints,
            "table_lock": table_lock,
            "keep_nulls": keep_nulls,
            "fire_triggers": fire_triggers,
            "use_internal_transaction": use_internal_transaction,
        }
        self._recorder.calls.append(BulkCopy(table_name, rows, options))
        if self._recorder.bulk_copy_fails:
            raise Error("bulk copy failed: connection reset")
        batches = -(-len(rows) // batch_size) if batch_size else 1
        return {"rows_copied": len(rows), "batch_count": batches, "elapsed_time": 0.0}


class Connection:
    def __init__(self, recorder: Recorder, array_bound: bool = False, bulk_copy: bool = False) -> None:
        self._recorder = recorder
        self._array_bound = array_bound
        self._bulk_copy = bulk_copy
        self.autocommit = False

    def cursor(self) -> Cursor:
        return (BulkCopyCursor if self._bulk_copy else Cursor)(self._recorder, self._array_bound)

    def commit(self) -> None:
        self._recorder.calls.append("COMMIT")

    def rollback(self) -> None:
        self._recorder.calls.append("ROLLBACK")

    def close(self) -> None:
        pass

    def getinfo(self, _what: int) -> str:
        return SERVER_VERSION

    def add_output_converter(self, *_args: Any) -> None:
        pass


class Error(Exception):
    pass


def module(recorder: Recorder, driver: str = "mssqlpython", bulk_copy: bool = False) -> types.ModuleType:
    """A module shaped like mssql_python (or pyodbc) whose connections report to `recorder`; with
    `bulk_copy`, its cursors have mssql-python's `bulkcopy` (pyodbc's never do)."""
    fake = types.ModuleType(f"fake_{driver}")
    fake.version = "5.1.0"
    fake.__version__ = "1.16.0"
    fake.pooling = lambda **_kw: None
    fake.paramstyle = "pyformat" if driver == "mssqlpython" else "qmark"
    fake.apilevel = "2.0"
    fake.threadsafety = 1
    fake.Cursor = Cursor
    fake.Error = Error
    for name in (
        "Warning",
        "InterfaceError",
        "DatabaseError",
        "DataError",
        "OperationalError",
        "IntegrityError",
        "InternalError",
        "ProgrammingError",
        "NotSupportedError",
    ):
        setattr(fake, name, type(name, (Error,), {}))
    for number, name in enumerate(
        (
            "SQL_DBMS_VER",
            "SQL_VARCHAR",
            "SQL_WVARCHAR",
            "SQL_WLONGVARCHAR",
            "SQL_LONGVARCHAR",
            "SQL_VARBINARY",
            "SQL_LONGVARBINARY",
            "SQL_TYPE_TIMESTAMP",
            "SQL_TYPE_DATE",
            "SQL_TYPE_TIME",
            "SQL_SS_TIMESTAMPOFFSET",
            "SQL_DECIMAL",
            "SQL_NUMERIC",
            "SQL_INTEGER",
            "SQL_BIGINT",
            "SQL_SMALLINT",
            "SQL_BIT",
            "SQL_FLOAT",
            "SQL_REAL",
            "SQL_DOUBLE",
            "SQL_GUID",
            "SQL_CHAR",
            "SQL_WCHAR",
        ),
        start=1,
    ):
        setattr(fake, name, number)
    fake.STRING, fake.NUMBER, fake.DATETIME, fake.BINARY, fake.ROWID = "STRING", "NUMBER", "DATETIME", "BINARY", "ROWID"
    fake.Binary = bytes
    # mssql-python always binds executemany as parameter arrays; pyodbc only with fast_executemany.
    fake.connect = lambda *_a, **_kw: Connection(
        recorder, array_bound=driver == "mssqlpython", bulk_copy=bulk_copy and driver == "mssqlpython"
    )
    return fake
