"""Whether a customer's board is in step with its published ORDER_LIST slice (plain SQL reads).

A sync interrupted by a killed process, or a slice published while the board sync did not run,
leaves the board behind even though the workbook did not change; the next run syncs such customers.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from order_platform.monday import state as st


def board_in_step(engine: sa.Engine, customer: str, published_at: dt.datetime | None) -> bool:
    """True when the customer's latest sync finished cleanly and started after its slice was published
    (`published_at`: ORDER_LIST_LOADS.finished_at, local time)."""
    st.create_tables(engine)
    runs = st.run_table
    query = (
        sa.select(runs.c.status, runs.c.started_at, runs.c.finished_at)
        .where(runs.c.customer == customer)
        .order_by(runs.c.run_id.desc())
        .limit(1)
    )
    with engine.connect() as conn:
        last = conn.execute(query).first()
    if last is None or last.status not in ("success", "dry_run") or last.finished_at is None:
        return False
    if published_at is None:
        return True
    # ORDER_LIST_LOADS keeps local time, the MONDAY_* tables UTC (both naive)
    published_utc = published_at.astimezone(dt.UTC).replace(tzinfo=None)
    return bool(last.started_at >= published_utc)
