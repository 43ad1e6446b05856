"""The embedded Dagster instance's SQLite databases while a command or run writes to them: commits without
an fsync each, each statement compiled once, connections kept.

Dagster's SQLite storages open a new engine (NullPool) for nearly every event they store or read: a
refresh stores ~900 events, several statements and a commit each. Three costs follow, all removed here
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

- **A connection per event.** Each new engine opens a new SQLite connection, and its first statement
  opens the file, maps the WAL index and reads the schema; its close undoes it all (~20% of storing an
  event). Such connections are kept instead: SQLAlchemy's close gives one back to a free list of its
  thread (rolled back first if anything was left open), and the next engine for the same file takes it
  (`_KeptConnection`). Outside a transaction a kept connection holds no lock, and each statement after a
  commit or rollback reads the database as it is then, as a new connection would. They are closed with
  the last holder of `tuned_instance_writes`.

All are set through SQLAlchemy's public events for every engine: `do_connect` (which sees the file name)
returns a kept connection, with the pragma set, for a SQLite file under a registered folder (a handler
may return the DBAPI connection to use); `engine_connect` gives the shared cache to a connection whose
engine's database is such a file.
"""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=64)
def _real(path: str) -> str:
    return os.path.realpath(path)


def _under_instance(path: object) -> bool:
    prefixes = _prefixes
    return bool(prefixes) and isinstance(path, str) and _real(path).startswith(prefixes)


class _KeptConnection:
    """A SQLite connection to an instance file that SQLAlchemy's close gives back to its thread's free
    list (after a rollback of anything left open) instead of closing; the rest is the connection's own."""

    __slots__ = ("_connection", "_free")

    def __init__(self, connection: sqlite3.Connection, free: list[_KeptConnection]) -> None:
        object.__setattr__(self, "_connection", connection)
        object.__setattr__(self, "_free", free)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._connection, name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._connection, name, value)

    def close(self) -> None:
        connection = self._connection
        try:
            if connection.in_transaction:
                connection.rollback()
        except sqlite3.Error:  # closed or broken (SQLAlchemy closes a connection it invalidates): not kept
            connection.close()
            return
        with _lock:
            if _folders and len(self._free) < KEPT_PER_FILE:
                self._free.append(self)
                return
        connection.close()


KEPT_PER_FILE = 4  # free connections kept per thread and file; Dagster nests at most two or three
_per_thread = threading.local()
_free_lists: list[list[_KeptConnection]] = []  # every thread's, to close them with the last holder


def _kept_connection(cargs: tuple[Any, ...], cparams: dict[str, Any]) -> _KeptConnection:
    """A free connection of this thread to the same file with the same arguments, else a new one."""
    lists: dict[Any, list[_KeptConnection]] | None = getattr(_per_thread, "lists", None)
    if lists is None:
        lists = _per_thread.lists = {}
    key = (cargs, tuple(sorted((name, repr(value)) for name, value in cparams.items())))
    free = lists.get(key)
    if free is None:
        free = lists[key] = []
        with _lock:
            _free_lists.append(free)
    with _lock:
        if free:
            return free.pop()
    # Closed from the thread that releases the last holder; used by one thread at a time (its own list).
    connection = sqlite3.connect(*cargs, **{**cparams, "check_same_thread": False})
    connection.execute("PRAGMA synchronous=NORMAL")
    return _KeptConnection(connection, free)


def _close_kept() -> None:
    """With the last holder: close every free connection (one checked out closes when given back)."""
    global _per_thread
    with _lock:
        kept = [connection for free in _free_lists for connection in free]
        for free in _free_lists:
            free.clear()
        _free_lists.clear()
        _per_thread = threading.local()
    for connection in kept:
        connection._connection.close()


def _on_do_connect(dialect: Any, _record: Any, cargs: Any, cparams: Any) -> Any:
    """A kept connection, instead of a new one, when the file is under a registered folder."""
    if dialect.name == "sqlite" and cargs and _under_instance(cargs[0]):
        return _kept_connection(tuple(cargs), dict(cparams))
    return None


def _on_engine_connect(connection: sa.Connection) -> None:
    if connection.dialect.name == "sqlite" and _under_instance(connection.engine.url.database):
        connection.execution_options(compiled_cache=_statements)


_LISTENERS = (("do_connect", _on_do_connect), ("engine_connect", _on_engine_connect))


@contextmanager
def tuned_instance_writes(folder: str | Path | None) -> Iterator[None]:
    """While open: every new SQLAlchemy connection to a SQLite file under `folder` (the instance's root
    directory) commits with synchronous=NORMAL, shares one compiled-statement cache and reuses a kept
    SQLite connection. Nestable; no-op without a folder."""
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
            last = not _folders
            if last:
                for name, listener in _LISTENERS:
                    sa.event.remove(sa.Engine, name, listener)
        if last:
            _close_kept()
