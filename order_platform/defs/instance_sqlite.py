"""The embedded Dagster instance's SQLite databases while a command or run writes to them: commits without
an fsync each, and each statement compiled once.

Dagster's SQLite storages open a new engine (NullPool) for nearly every event they store or read: a
refresh stores ~900 events, several statements and a commit each. Two costs follow, both removed here
for the files under the instance's folder only (production keeps its instance in Postgres,
deploy/dagster.yaml, where nothing here applies):

- **fsync per commit.** With SQLite's default (synchronous=FULL) every commit of a WAL database waits for
  an fsync of the WAL; on a busy disk those waits were most of the main process's time. In WAL mode
  NORMAL is what SQLite recommends: a commit is written to the WAL and fsynced at the next checkpoint,
  so an application crash loses nothing, and a power cut or OS crash can at worst roll back the last
  commits (the database stays consistent; it never corrupts). For the instance's run history that is
  the same as the run having been interrupted, which the platform already recovers from (defs/runs.py
  reaps dead runs). The platform's own database gets the same setting (warehouse/engine.py).
- **A compile per statement.** SQLAlchemy caches compiled statements per engine, so a new engine per
  event compiles every INSERT and UPDATE again (~1 ms each, ~30% of storing an event). Connections to
  the instance's files share one bounded cache instead (`compiled_cache`, SQLAlchemy's public execution
  option). SQLAlchemy keys a compiled statement by the dialect object it was compiled for; every engine
  Dagster creates here is a SQLite engine created the same way, so the key holds the dialect's class
  and settings instead of the object (`_SharedStatements`).

Both are set as each connection opens, through SQLAlchemy's public events for every engine:
`do_connect` (which sees the file name) marks a DBAPI connection to a SQLite file under a registered
folder and `connect` sets the pragma on the marked ones; `engine_connect` gives the shared cache to a
connection whose engine's database is such a file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter, OrderedDict
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

_lock = threading.Lock()
_folders: Counter[str] = Counter()  # folder (with a trailing separator) -> how many holders
_prefixes: tuple[str, ...] = ()  # the folders, as read by the listeners (replaced whole, never changed)
_MARK = "order_platform_commits_without_fsync"  # in the connection record's info, from do_connect to connect
STATEMENTS_KEPT = 500  # compiled statements in the shared cache; Dagster's storages use a few dozen


class _SharedStatements(MutableMapping[Any, Any]):
    """A compiled-statement cache shared by many engines of one configuration, least recently used out.

    SQLAlchemy looks statements up by (dialect, statement key, ...): the dialect object is replaced by
    its class and the settings that shape the SQL, equal for every SQLite engine Dagster creates. A key
    of another shape is kept as it is (a miss per engine, as without this cache)."""

    def __init__(self, size: int = STATEMENTS_KEPT) -> None:
        self._size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def _key(key: Any) -> Any:
        if isinstance(key, tuple) and key and isinstance(key[0], sa.engine.Dialect):
            dialect = key[0]
            shape = (type(dialect), dialect.paramstyle, dialect.server_version_info, dialect.label_length)
            return (shape, *key[1:])
        return key

    def __getitem__(self, key: Any) -> Any:
        key = self._key(key)
        with self._lock:
            value = self._data[key]
            self._data.move_to_end(key)
            return value

    def __setitem__(self, key: Any, value: Any) -> None:
        with self._lock:
            self._data[self._key(key)] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def __delitem__(self, key: Any) -> None:
        with self._lock:
            del self._data[self._key(key)]

    def __iter__(self) -> Iterator[Any]:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)


_statements = _SharedStatements()


def _under_instance(path: object) -> bool:
    prefixes = _prefixes
    return bool(prefixes) and isinstance(path, str) and os.path.realpath(path).startswith(prefixes)


def _on_do_connect(dialect: Any, record: Any, cargs: Any, _cparams: Any) -> None:
    """Before a SQLite connection opens: mark it when its file is under a registered folder."""
    if dialect.name == "sqlite" and cargs:
        record.info[_MARK] = _under_instance(cargs[0])


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    if record.info.pop(_MARK, False) and isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


def _on_engine_connect(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite" and _under_instance(connection.engine.url.database):
        connection.execution_options(compiled_cache=_statements)


_LISTENERS = (("do_connect", _on_do_connect), ("connect", _on_connect), ("engine_connect", _on_engine_connect))


@contextmanager
def tuned_instance_writes(folder: str | Path | None) -> Iterator[None]:
    """While open: every new SQLAlchemy connection to a SQLite file under `folder` (the instance's root
    directory) commits with synchronous=NORMAL and shares one compiled-statement cache. Nestable; no-op
    without a folder."""
    if folder is None:
        yield
        return
    global _prefixes
    key = os.path.join(os.path.realpath(folder), "")
    with _lock:
        if not _folders:
            for name, listener in _LISTENERS:
                sa.event.listen(sa.Engine, name, listener)
        _folders[key] += 1
        _prefixes = tuple(_folders)
    try:
        yield
    finally:
        with _lock:
            _folders[key] -= 1
            if _folders[key] <= 0:
                del _folders[key]
            _prefixes = tuple(_folders)
            if not _folders:
                for name, listener in _LISTENERS:
                    sa.event.remove(sa.Engine, name, listener)
