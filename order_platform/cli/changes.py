"""`order-platform changes`: the change report (per customer: counts, then the changed lines with old ->
new values, most significant first) and a line's history (`--line`)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from order_platform.warehouse.changes import reads
from order_platform.warehouse.changes.report import by_customer, change_text, line_label
from order_platform.warehouse.store import OrderStore

PRINTED_PER_CUSTOMER = 200


def report_rows(store: OrderStore, since: dt.date | None, customers: list[str]) -> tuple[list[dict[str, Any]], str]:
    """The changes asked for and a title: from `since`, else each customer's latest published load."""
    if since is not None:
        start = dt.datetime.combine(since, dt.time())
        rows = reads.changes_of(store.engine, store.changes, since=start, customers=customers or None)
        return rows, f"changes since {since.isoformat()}"
    latest = reads.latest_published_loads(store.engine, store.loads, customers or None)
    rows = reads.changes_of(store.engine, store.changes, load_ids=list(latest.values()))
    return rows, "changes of each customer's latest published load"


def format_report(rows: list[dict[str, Any]], title: str, limit: int = PRINTED_PER_CUSTOMER) -> str:
    groups = by_customer(rows)
    if not groups:
        return f"{title}: none"
    lines = [f"{title}: {len(groups)} customer(s) with changes"]
    for group in groups:
        lines.append("")
        lines.append(f"{group.customer}: {group.counts_text()}")
        for row in group.changes[:limit]:
            when = row["changed_at"].strftime("%Y-%m-%d %H:%M")
            lines.append(f"  {when}  {line_label(row)}: {change_text(row)}")
        if len(group.changes) > limit:
            lines.append(f"  ... {len(group.changes) - limit} more (--csv FILE writes them all)")
    return "\n".join(lines)


def format_line(store: OrderStore, key: str, as_of: dt.date | None) -> str:
    ids = reads.line_ids_for(store.engine, store.changes, store.order_list, key)
    if not ids:
        return f"no line {key!r} in ORDER_LIST or its change history"
    out: list[str] = []
    for record_uuid in ids:
        history = reads.line_history(store.engine, store.changes, record_uuid)
        current = reads.current_line(store.engine, store.order_list, record_uuid)
        name = line_label(history[-1]) if history else _current_label(current)
        state = "in ORDER_LIST" if current is not None else "not in ORDER_LIST (removed)"
        out.append(f"{record_uuid}  {name} ({history[-1]['customer'] if history else ''}) {state}".replace(" ()", ""))
        if not history:
            out.append("  no changes recorded")
        for row in history:
            out.append(f"  {row['changed_at'].strftime('%Y-%m-%d %H:%M')}  {change_text(row)}")
        if as_of is not None:
            values = reads.line_as_of(store.engine, store.changes, store.order_list, record_uuid, as_of)
            if values is None:
                out.append(f"  as of {as_of.isoformat()}: not in ORDER_LIST")
            else:
                out.append(f"  as of {as_of.isoformat()}:")
                out.extend(f"    {column}: {value}" for column, value in values.items())
        out.append("")
    return "\n".join(out).rstrip()


def _current_label(current: dict[str, str] | None) -> str:
    if not current:
        return ""
    return line_label(
        {
            "po_number": current.get("PO NUMBER"),
            "customer_style": current.get("CUSTOMER STYLE"),
            "aag_order_number": current.get("AAG ORDER NUMBER"),
        }
    )
