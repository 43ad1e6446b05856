"""SQLAlchemy engines tuned per backend: SQLite for the embedded default, SQL Server in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url


def make_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL and a busy timeout; SQL Server (mssql+mssqlpython, Microsoft's
    driver, in production; mssql+pyodbc still works where pyodbc is installed) gets array-bound executemany.

    `options` go to `sqlalchemy.create_engine` as well (tests pass a stand-in DBAPI `module`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":  # a path, or a `file:` URI (uri=true)
            Path(parsed.database.removeprefix("file:")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, connect_args={"timeout": 60}, **options)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.close()

        return engine
    if parsed.get_backend_name() == "mssql":
        # deprecate_large_types pins NVARCHAR(max) for UnicodeText (as in sql/order_list.sql) instead of
        # guessing from the server version; NTEXT would make fast_executemany allocate 2 GB per cell.
        options = {"deprecate_large_types": True, **options}
        if parsed.get_driver_name() == "pyodbc":
            options.setdefault("fast_executemany", True)
        elif parsed.get_driver_name() == "mssqlpython":
            # qmark is the driver's native style (it rewrites pyformat to it); our bulk SQL uses `?` too.
            options.setdefault("paramstyle", "qmark")
        return sa.create_engine(url, pool_pre_ping=True, **options)
    return sa.create_engine(url, pool_pre_ping=True, **options)

