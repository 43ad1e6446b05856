"""`PRAGMA synchronous=NORMAL` on the embedded Dagster instance's SQLite databases while a command or run
writes to them.

Dagster opens a new connection (a new engine, NullPool) for nearly every event it stores, and with
SQLite's default (FULL) every commit of a WAL database waits for an fsync of the WAL: a refresh stores
~900 events, several commits each, and on a busy disk those waits were most of the main process's time.
In WAL mode NORMAL is what SQLite recommends: a commit is written to the WAL and fsynced at the next
checkpoint, so an application crash loses nothing, and a power cut or OS crash can at worst roll back
the last commits (the database stays consistent; it never corrupts). For the instance's run history
that is the same as the run having been interrupted, which the platform already recovers from
(defs/runs.py reaps dead runs). The platform's own database gets the same setting (warehouse/engine.py).
Production keeps its instance in Postgres (deploy/dagster.yaml): there nothing here applies.

The setting is per connection, so it is set as each connection opens, through SQLAlchemy's public
events for every engine: `do_connect` (which sees the file name) marks a connection to a SQLite file
under a registered folder, `connect` sets the pragma on the marked ones.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

_lock = threading.Lock()
_folders: Counter[str] = Counter()  # folder (with a trailing separator) -> how many holders
_prefixes: tuple[str, ...] = ()  # the folders, as read by the listeners (replaced whole, never changed)
_MARK = "order_platform_commits_without_fsync"  # in the connection record's info, from do_connect to connect


def _on_do_connect(dialect: Any, record: Any, cargs: Any, _cparams: Any) -> None:
    """Before a SQLite connection opens: mark it when its file is under a registered folder."""
    prefixes = _prefixes
    if prefixes and dialect.name == "sqlite" and cargs and isinstance(cargs[0], str):
        record.info[_MARK] = os.path.realpath(cargs[0]).startswith(prefixes)


def _on_connect(dbapi_connection: Any, record: Any) -> None:
    if record.info.pop(_MARK, False) and isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous=NORMAL")


@contextmanager
def commits_without_fsync(folder: str | Path | None) -> Iterator[None]:
    """While open: every new SQLAlchemy connection to a SQLite file under `folder` (the instance's
    root directory) commits with synchronous=NORMAL. No-op without a folder."""
    if folder is None:
        yield
        return
    global _prefixes
    key = os.path.join(os.path.realpath(folder), "")
    with _lock:
        if not _folders:
            sa.event.listen(sa.Engine, "do_connect", _on_do_connect)
            sa.event.listen(sa.Engine, "connect", _on_connect)
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
                sa.event.remove(sa.Engine, "do_connect", _on_do_connect)
                sa.event.remove(sa.Engine, "connect", _on_connect)
