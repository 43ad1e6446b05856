"""Reading the change history: a report's changes (since a day, of some customers, of given loads), a
line's changes over time, and a line as it was on a given day."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

import sqlalchemy as sa

from order_platform.schema import KEY_COLUMN, SOURCE_TABLE_COLUMN
from order_platform.warehouse.changes.diff import ADDED, REMOVED, business_columns
from order_platform.warehouse.changes.values import as_text

_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


def _ordered(changes: sa.Table) -> list[Any]:
    return [
        changes.c.customer,
        changes.c.significance,
        changes.c.po_number,
        changes.c.customer_style,
        changes.c.record_uuid,
        changes.c.column_name,
        changes.c.id,
    ]


def changes_of(
    engine: sa.Engine,
    changes: sa.Table,
    *,
    load_ids: list[str] | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    customers: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Changes of the given loads and/or from `since` (inclusive) to `until` (exclusive), of `customers`
    (default all); per customer, most significant first."""
    query = sa.select(changes)
    if load_ids is not None:
        if not load_ids:
            return []
        query = query.where(changes.c.load_id.in_(load_ids))
    if since is not None:
        query = query.where(changes.c.changed_at >= since)
    if until is not None:
        query = query.where(changes.c.changed_at < until)
    if customers:
        query = query.where(changes.c.customer.in_(customers))
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query.order_by(*_ordered(changes))).mappings()]


def latest_published_loads(engine: sa.Engine, loads: sa.Table, customers: list[str] | None = None) -> dict[str, str]:
    """Each customer's latest published load id."""
    latest = (
        sa.select(loads.c.customer, sa.func.max(loads.c.started_at).label("started_at"))
        .where(loads.c.status == "published")
        .group_by(loads.c.customer)
    )
    if customers:
        latest = latest.where(loads.c.customer.in_(customers))
    sub = latest.subquery()
    query = (
        sa.select(loads.c.customer, loads.c.load_id)
        .join(sub, sa.and_(loads.c.customer == sub.c.customer, loads.c.started_at == sub.c.started_at))
        .where(loads.c.status == "published")
    )
    with engine.connect() as conn:
        return {row.customer: row.load_id for row in conn.execute(query)}


def line_ids_for(engine: sa.Engine, changes: sa.Table, order_list: sa.Table, key: str) -> list[str]:
    """The line ids a `--line` argument means: a line id itself, else the lines of that PO NUMBER (in
    ORDER_LIST now, or in the change history: removed lines too)."""
    key = key.strip()
    if _UUID.match(key):
        return [key.lower()]
    with engine.connect() as conn:
        current = conn.execute(sa.select(order_list.c[KEY_COLUMN]).where(order_list.c["PO NUMBER"] == key))
        past = conn.execute(sa.select(changes.c.record_uuid).where(changes.c.po_number == key).distinct())
        return sorted({r[0] for r in current} | {r[0] for r in past})


def line_history(engine: sa.Engine, changes: sa.Table, record_uuid: str) -> list[dict[str, Any]]:
    """A line's changes, oldest first."""
    query = (
        sa.select(changes)
        .where(changes.c.record_uuid == record_uuid)
        .order_by(changes.c.changed_at, changes.c.significance, changes.c.id)
    )
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(query).mappings()]


def current_line(engine: sa.Engine, order_list: sa.Table, record_uuid: str) -> dict[str, str] | None:
    """The line's non-blank values in ORDER_LIST now, as text; None when it is not there."""
    with engine.connect() as conn:
        row = conn.execute(sa.select(order_list).where(order_list.c[KEY_COLUMN] == record_uuid)).mappings().first()
    if row is None:
        return None
    names = [*business_columns(order_list), SOURCE_TABLE_COLUMN]
    return {c: t for c in names if c != SOURCE_TABLE_COLUMN and (t := as_text(row[c])) is not None}


def line_as_of(
    engine: sa.Engine, changes: sa.Table, order_list: sa.Table, record_uuid: str, day: dt.date
) -> dict[str, str] | None:
    """The line as it was at the end of `day` (its values as text), from ORDER_LIST now and the changes
    recorded since, undone newest first; None when the line did not exist then. Exact back to the
    history's retention; before the customer's first recorded change the line is as at that change."""
    values = current_line(engine, order_list, record_uuid)
    after = dt.datetime.combine(day + dt.timedelta(days=1), dt.time())
    later = [c for c in line_history(engine, changes, record_uuid) if c["changed_at"] >= after]
    for change in reversed(later):
        if change["change_kind"] == ADDED:
            values = None
        elif change["change_kind"] == REMOVED:
            values = json.loads(change["old_value"] or "{}")
        elif values is not None:
            if change["old_value"] is None:
                values.pop(change["column_name"], None)
            else:
                values[change["column_name"]] = change["old_value"]
    return values
