"""Which customers' boards are behind their published ORDER_LIST slice (plain SQL reads).

A sync interrupted by a killed process, or a slice published while the board sync did not run,
leaves the board behind even though the workbook did not change; the next run syncs such customers.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from order_platform.monday.state import sync_state as st


def boards_behind(engine: sa.Engine, published_at: dict[str, dt.datetime | None]) -> set[str]:
    """The customers (of `published_at`: customer -> ORDER_LIST_LOADS.finished_at of its slice, local
    time) whose latest sync did not finish cleanly, or started before the slice was published."""
    if not published_at:
        return set()
    st.create_tables(engine)
    runs = st.run_table
    latest = (
        sa.select(runs.c.customer, sa.func.max(runs.c.run_id).label("run_id"))
        .where(runs.c.customer.in_(list(published_at)))
        .group_by(runs.c.customer)
        .subquery()
    )
    query = sa.select(runs.c.customer, runs.c.status, runs.c.started_at, runs.c.finished_at).join(
        latest, runs.c.run_id == latest.c.run_id
    )
    with engine.connect() as conn:
        last = {row.customer: row for row in conn.execute(query)}
    behind: set[str] = set()
    for customer, published in published_at.items():
        run = last.get(customer)
        clean = run is not None and run.status in ("success", "dry_run") and run.finished_at is not None
        # ORDER_LIST_LOADS keeps local time, the MONDAY_* tables UTC (both naive)
        stale = run is not None and published is not None and run.started_at < _utc(published)
        if not clean or stale:
            behind.add(customer)
    return behind


def _utc(local: dt.datetime) -> dt.datetime:
    return local.astimezone(dt.UTC).replace(tzinfo=None)
