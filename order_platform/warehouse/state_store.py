"""Small named string values that must survive restarts (Graph delta state, encrypted token cache).

`DbStateStore` keeps them in the PLATFORM_STATE table of the platform database, so a scheduled
run on another machine or pod picks up where the previous one stopped.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

import sqlalchemy as sa

STATE_TABLE_NAME = "PLATFORM_STATE"

_metadata = sa.MetaData()
platform_state = sa.Table(
    STATE_TABLE_NAME,
    _metadata,
    sa.Column("key", sa.Unicode(200), primary_key=True),  # library names may be non-ASCII
    sa.Column("value", sa.Text, nullable=True),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
)


class StateStore(Protocol):
    """One string value, read and replaced as a whole."""

    def get(self) -> str | None: ...

    def set(self, value: str | None) -> None: ...


class MemoryStateStore:
    """In-process store: for tests and one-off runs where nothing must persist."""

    def __init__(self, value: str | None = None) -> None:
        self.value = value

    def get(self) -> str | None:
        return self.value

    def set(self, value: str | None) -> None:
        self.value = value


def ensure_state_table(engine: sa.Engine) -> None:
    _metadata.create_all(engine, tables=[platform_state], checkfirst=True)


class DbStateStore:
    """The row `key` of PLATFORM_STATE(key, value, updated_at); the table is created on first use."""

    def __init__(self, engine: sa.Engine, key: str) -> None:
        if not key or len(key) > 200:
            raise ValueError("state key must be 1-200 characters")
        self.engine = engine
        self.key = key
        self._table_ready = False

    def _ready(self) -> None:
        if not self._table_ready:
            ensure_state_table(self.engine)
            self._table_ready = True

    def get(self) -> str | None:
        self._ready()
        with self.engine.connect() as conn:
            return conn.execute(
                sa.select(platform_state.c.value).where(platform_state.c.key == self.key)
            ).scalar_one_or_none()

    def set(self, value: str | None) -> None:
        self._ready()
        now = datetime.now(UTC)
        # Update-then-insert is portable (SQLite, SQL Server, Postgres) without dialect upserts;
        # a concurrent first insert of the same key makes ours fail once, then the update wins.
        for attempt in (1, 2):
            try:
                with self.engine.begin() as conn:
                    updated = conn.execute(
                        sa.update(platform_state)
                        .where(platform_state.c.key == self.key)
                        .values(value=value, updated_at=now)
                    ).rowcount
                    if not updated:
                        conn.execute(
                            sa.insert(platform_state).values(key=self.key, value=value, updated_at=now)
                        )
                return
            except sa.exc.IntegrityError:
                if attempt == 2:
                    raise
