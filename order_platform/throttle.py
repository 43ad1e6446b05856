"""One throttle per outside service, shared by every process and pod of an instance.

When a service answers 429/503 with Retry-After (or we back off after one), Microsoft and monday.com
ask every client of the tenant/account to wait, not only the one that was told. The wait is written
to the PLATFORM_THROTTLE table of the platform database (key = the service, `not_before` = epoch
seconds), which every worker process, every run and every Kubernetes pod of the instance reads
before each request. SQL Server in production (shared by every pod); in the embedded SQLite default
a file beside the database (`<db>-throttle`), so a hold never waits behind a publish's write lock.
Wall-clock time is used, so pods need synchronised clocks (NTP), as they have on Kubernetes. A wait
is only ever extended, never shortened, by a later answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Protocol

import sqlalchemy as sa

log = logging.getLogger(__name__)

THROTTLE_TABLE_NAME = "PLATFORM_THROTTLE"
MAX_WAIT_SECONDS = 3600.0  # a wait beyond an hour is a bug or a hostile header; never sleep that long

_metadata = sa.MetaData()
platform_throttle = sa.Table(
    THROTTLE_TABLE_NAME,
    _metadata,
    sa.Column("key", sa.Unicode(200), primary_key=True),
    sa.Column("not_before", sa.Float, nullable=False),  # epoch seconds (UTC)
    sa.Column("reason", sa.Unicode(200), nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class Throttle(Protocol):
    def wait(self) -> float:
        """Sleep until no wait is pending; returns the seconds slept."""
        ...

    def hold(self, seconds: float, reason: str = "") -> None:
        """Nobody sends before `seconds` from now (extends, never shortens, a pending wait)."""
        ...


class _Waiting:
    clock: Callable[[], float]
    sleep: Callable[[float], None]

    def remaining(self) -> float:  # pragma: no cover - overridden
        raise NotImplementedError

    def wait(self) -> float:
        slept = 0.0
        # Loop: while we slept, another process may have been told to wait longer.
        while (left := min(self.remaining(), MAX_WAIT_SECONDS)) > 0:
            self.sleep(left)
            slept += left
        return slept


class LocalThrottle(_Waiting):
    """In-process only: for tests and one-off scripts without a platform database."""

    def __init__(self, clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep) -> None:
        self.clock, self.sleep = clock, sleep
        self.not_before = 0.0
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.not_before - self.clock()

    def hold(self, seconds: float, reason: str = "") -> None:
        with self._lock:
            self.not_before = max(self.not_before, self.clock() + max(0.0, seconds))


@cache
def _ensure_table(engine: sa.Engine) -> None:
    _metadata.create_all(engine, tables=[platform_throttle], checkfirst=True)


class SharedThrottle(_Waiting):
    """The row `key` of PLATFORM_THROTTLE; one small read before each request, one write per 429/503."""

    def __init__(
        self,
        engine: sa.Engine,
        key: str,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not key or len(key) > 200:
            raise ValueError("throttle key must be 1-200 characters")
        self.engine, self.key = engine, key
        self.clock, self.sleep = clock, sleep

    def __repr__(self) -> str:
        return f"SharedThrottle({self.key!r})"

    def not_before(self) -> float:
        _ensure_table(self.engine)
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(platform_throttle.c.not_before).where(platform_throttle.c.key == self.key)
            ).scalar_one_or_none()
        return float(value or 0.0)

    def remaining(self) -> float:
        return self.not_before() - self.clock()

    def hold(self, seconds: float, reason: str = "") -> None:
        _ensure_table(self.engine)
        until = self.clock() + min(max(0.0, seconds), MAX_WAIT_SECONDS)
        now = datetime.now(UTC)
        table = platform_throttle
        for attempt in (1, 2):  # a concurrent first insert of the key makes ours fail once
            try:
                with self.engine.begin() as conn:
                    exists = conn.execute(
                        sa.select(table.c.not_before).where(table.c.key == self.key)
                    ).scalar_one_or_none()
                    if exists is None:
                        conn.execute(
                            sa.insert(table).values(
                                key=self.key, not_before=until, reason=reason[:200], updated_at=now
                            )
                        )
                    else:  # only ever extend: the longest wait anyone was told wins
                        conn.execute(
                            sa.update(table)
                            .where(table.c.key == self.key, table.c.not_before < until)
                            .values(not_before=until, reason=reason[:200], updated_at=now)
                        )
                break
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
        log.warning("%s: every client waits %.1f s (%s)", self.key, seconds, reason or "throttled")


@cache
def _engine(database_url: str) -> sa.Engine:
    from order_platform.warehouse.engine import make_engine

    return make_engine(database_url)


def _throttle_engine(engine: sa.Engine) -> sa.Engine:
    """SQLite locks the whole file while a customer is published; a hold must never queue behind that
    (others would keep sending meanwhile), so the embedded default keeps the throttle in a file of its
    own beside the database. Server databases lock rows: the table lives in the platform database."""
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return engine
    # set() keeps the URL's query (e.g. `?uri=true&mode=rwc` for a `file:` URI database)
    return _engine(engine.url.set(database=f"{database}-throttle").render_as_string(hide_password=False))


def shared_throttle(key: str, engine: sa.Engine) -> SharedThrottle:
    """The instance-wide throttle for `key`, kept with the platform database of `engine` (the caller's,
    from the settings it was given: ORDER_PLATFORM_DATABASE_URL, the embedded SQLite file by default)."""
    return SharedThrottle(_throttle_engine(engine), key)
