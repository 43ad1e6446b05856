"""MONDAY_DRIFT: every difference a reconcile found between the board and ORDER_LIST, and what it did.

One row per finding (SQLAlchemy Core; SQLite and SQL Server, DDL generated into sql/):
board_id, item_id, record_uuid (NULL for an item the platform did not make), customer (NULL when no
customer owns the item), column_name (NULL for a whole-item finding; `Size M` for a subitem),
board_value, expected_value, action, found_at, run.

Actions: `restored` (a platform cell, name or subitem set back), `recreated` (the item of a live line
was archived or deleted by hand: a new one was made), `moved` (moved back to its group), `archived`
(an item of a line no longer in ORDER_LIST or the board's scope, or a second item of one line),
`reported` (recorded only: a `report_only` column, an item made by a person, or a repair that failed).
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from order_platform.monday.state.sync_state import now
from order_platform.warehouse.tables import DATETIME_TYPE

Action = Literal["restored", "recreated", "moved", "archived", "reported"]
ACTIONS: tuple[Action, ...] = ("restored", "recreated", "moved", "archived", "reported")
VALUE_CHARS = 2000

metadata = sa.MetaData()

drift_table = sa.Table(
    "MONDAY_DRIFT",
    metadata,
    sa.Column("drift_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("board_id", sa.Unicode(32), nullable=False),
    sa.Column("item_id", sa.Unicode(32)),
    sa.Column("record_uuid", sa.Unicode(64)),
    sa.Column("customer", sa.Unicode(100), index=True),
    sa.Column("column_name", sa.Unicode(255)),
    sa.Column("board_value", sa.UnicodeText),
    sa.Column("expected_value", sa.UnicodeText),
    sa.Column("action", sa.Unicode(16), nullable=False),
    sa.Column("found_at", DATETIME_TYPE, nullable=False),
    sa.Column("run", sa.Unicode(64), nullable=False, index=True),
    sa.Index("IX_MONDAY_DRIFT_ITEM", "board_id", "item_id"),
)


@dataclass
class Finding:
    """One difference between the board and ORDER_LIST, and what the reconcile does about it.

    `repaired` is False until the repair is confirmed (a live run), and stays False for `reported`."""

    board_id: str
    item_id: str | None
    record_uuid: str | None
    customer: str | None
    column_name: str | None
    board_value: str | None
    expected_value: str | None
    action: Action
    repaired: bool = False
    target_id: str | None = None  # the item or subitem archived / deleted by id (not stored)

    def key(self) -> tuple[Any, ...]:
        return (self.board_id, self.item_id, self.column_name, self.board_value, self.expected_value)

    def as_row(self) -> dict[str, Any]:
        return {
            "board_id": self.board_id,
            "item_id": self.item_id,
            "record_uuid": self.record_uuid,
            "customer": self.customer,
            "column_name": self.column_name,
            "board_value": _cut(self.board_value),
            "expected_value": _cut(self.expected_value),
            # a repair that failed is recorded as `reported`: found, still on the board
            "action": self.action if self.repaired or self.action == "reported" else "reported",
        }


def _cut(value: str | None) -> str | None:
    return None if value is None else value[:VALUE_CHARS]


_READY: weakref.WeakSet[sa.Engine] = weakref.WeakSet()


def create_drift_table(engine: sa.Engine) -> None:
    if engine not in _READY:
        metadata.create_all(engine)
        _READY.add(engine)


def known_reports(conn: sa.Connection, board_id: str) -> set[tuple[Any, ...]]:
    """Findings already recorded as `reported` on this board (Finding.key): a person's item or a
    report-only cell stays as it is, so a later reconcile records it again only when it changes."""
    t = drift_table
    rows = conn.execute(
        sa.select(t.c.board_id, t.c.item_id, t.c.column_name, t.c.board_value, t.c.expected_value).where(
            t.c.board_id == board_id, t.c.action == "reported"
        )
    )
    return {tuple(row) for row in rows}


def record_findings(conn: sa.Connection, findings: Iterable[Finding], run: str) -> int:
    """Insert the findings of one reconcile run; returns how many."""
    found_at = now()
    rows = [{**f.as_row(), "found_at": found_at, "run": run[:64]} for f in findings]
    if rows:
        conn.execute(sa.insert(drift_table), rows)
    return len(rows)


def drift_rows(conn: sa.Connection, run: str, customer: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """The first findings of a run (optionally one customer's), for metadata and the command line."""
    t = drift_table
    select = sa.select(t).where(t.c.run == run)
    if customer is not None:
        select = select.where(t.c.customer == customer)
    rows = conn.execute(select.order_by(t.c.drift_id).limit(limit)).mappings()
    return [{k: v for k, v in row.items() if k not in ("drift_id",)} for row in rows]
