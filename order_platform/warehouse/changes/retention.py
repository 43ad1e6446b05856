"""Keeping the change history for ORDER_PLATFORM_CHANGES_RETENTION_DAYS (default 400): older changes are
deleted in small batches, each its own short transaction, so a publish waiting for the database's write
lock (SQLite) is held for milliseconds at most, and SQL Server takes row locks only (under its 5,000-lock
escalation threshold), never a table lock that would block publishes."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

BATCH = 4000


def prune_changes(engine: sa.Engine, changes: sa.Table, older_than: datetime, batch: int = BATCH) -> int:
    """Delete the changes recorded before `older_than`; the number deleted."""
    total = 0
    while True:
        oldest = (
            sa.select(changes.c.id).where(changes.c.changed_at < older_than).order_by(changes.c.id).limit(batch)
        ).scalar_subquery()
        with engine.begin() as conn:
            deleted = conn.execute(sa.delete(changes).where(changes.c.id.in_(oldest))).rowcount or 0
        total += deleted
        if deleted < batch:
            return total
