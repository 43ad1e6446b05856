"""NOTIFICATIONS: one row per message a run called for (its change summary, its failure message), so a
run is announced once whoever notices it first (the run-status sensors or the CLI that ran it), and
a message that could not be delivered is on record. Created by the code, like PLATFORM_STATE."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

NOTIFICATIONS = "PLATFORM_NOTIFICATIONS"
metadata = sa.MetaData()
notifications = sa.Table(
    NOTIFICATIONS,
    metadata,
    sa.Column("run_id", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(20), primary_key=True),  # changes | failure
    sa.Column("status", sa.String(20), nullable=False),  # sending | sent | logged | failed
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("detail", sa.Unicode(400)),  # why it failed (status or kind of failure; never the URL)
    sa.Column("title", sa.Unicode(400)),
    sa.Column("created_at", sa.DateTime, nullable=False),
    sa.Column("finished_at", sa.DateTime),
)


def ensure_table(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)


def claim(engine: sa.Engine, run_id: str, kind: str, title: str) -> bool:
    """True for the one caller that gets to send this run's message of this kind."""
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.insert(notifications).values(
                    run_id=run_id, kind=kind, status="sending", attempts=0, title=title[:400], created_at=datetime.now()
                )
            )
    except sa.exc.IntegrityError:
        return False
    return True


def finish(engine: sa.Engine, run_id: str, kind: str, status: str, attempts: int, detail: str | None = None) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(notifications)
            .where(notifications.c.run_id == run_id, notifications.c.kind == kind)
            .values(status=status, attempts=attempts, detail=(detail or "")[:400] or None, finished_at=datetime.now())
        )


def of_run(engine: sa.Engine, run_id: str) -> dict[str, dict]:
    ensure_table(engine)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(notifications).where(notifications.c.run_id == run_id)).mappings()
        return {row["kind"]: dict(row) for row in rows}
