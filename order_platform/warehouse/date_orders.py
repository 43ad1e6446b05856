"""The day/month order each customer's text dates were last read in (ORDER_LIST_DATE_ORDER), so a later
load reads the same text the same way (staging/date_order.py decides; this keeps the decision)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from order_platform.staging.date_order import DateOrder


def remember_date_order(conn: sa.Connection, table: sa.Table, customer: str, load_id: str, order: DateOrder) -> None:
    """Replace the customer's row, inside the publish transaction (remembered only what was published)."""
    conn.execute(sa.delete(table).where(table.c.customer == customer))
    conn.execute(
        sa.insert(table).values(
            customer=customer,
            date_order=order.order,
            decided_by=order.decided_by,
            day_first_evidence=order.evidence.day_first,
            month_first_evidence=order.evidence.month_first,
            load_id=load_id,
            updated_at=datetime.now(),
        )
    )


def remembered_date_order(engine: sa.Engine, table: sa.Table, customer: str) -> str | None:
    with engine.connect() as conn:
        return conn.execute(sa.select(table.c.date_order).where(table.c.customer == customer)).scalar_one_or_none()
