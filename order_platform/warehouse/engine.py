"""SQLAlchemy engines tuned per backend: SQLite for the embedded default, SQL Server in production."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

# SQLite settings of our own connections (none weakens durability: WAL with synchronous=NORMAL stays).
# A new database gets 16 KiB pages: an ORDER_LIST line (417 mostly-NULL columns) takes ~1.1 KB, so a
# 4 KiB page held three with a fifth of it unused, and every page costs a WAL frame and a checkpoint copy.
# An existing database keeps its page size (SQLite ignores the pragma once the file has pages).
SQLITE_PAGE_SIZE = 16384
# 64 MiB of page cache per connection (SQLite's default is 2 MiB): a customer's publish touches its whole
# slice and both ORDER_LIST indexes, whose pages were otherwise evicted and read back from the file.
SQLITE_CACHE_KIB = 65536


def make_engine(url: str, **options: Any) -> sa.Engine:
    """An engine for `url`; SQLite gets WAL, a busy timeout and the settings above; SQL Server
    (mssql+mssqlpython, Microsoft's driver, in production; mssql+pyodbc still works where pyodbc is
    installed) gets array-bound executemany.

    `options` go to `sqlalchemy.create_engine` as well (tests pass a stand-in DBAPI `module`).
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":  # a path, or a `file:` URI (uri=true)
            Path(parsed.database.removeprefix("file:")).parent.mkdir(parents=True, exist_ok=True)
        if _sqlite_file_pool(parsed, options):
            # LIFO: the connection used last is used again. DDL (each load replaces its raw and staging
            # tables) makes every other connection re-read the whole schema (hundreds of tables) on its next
            # statement; a FIFO pool took turns between two connections and paid that at every stage.
            options = {"pool_use_lifo": True, **options}
        engine = sa.create_engine(url, connect_args={"timeout": 60}, **options)

        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record) -> None:  # pragma: no cover - trivial
            cursor = dbapi_conn.cursor()
            cursor.execute(f"PRAGMA page_size={SQLITE_PAGE_SIZE}")  # before WAL: a new file gets it
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA temp_store=MEMORY")
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
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


def _sqlite_file_pool(url: sa.URL, options: dict[str, Any]) -> bool:
    """Whether SQLAlchemy pools this SQLite URL's connections in a queue (a database file; an in-memory
    one gets a single connection per thread)."""
    in_memory = not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"
    return not in_memory and "poolclass" not in options
