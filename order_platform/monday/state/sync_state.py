"""Sync state in the database (SQLAlchemy Core; SQLite and SQL Server): what was sent, per line.

Tables (all prefixed MONDAY_):
- MONDAY_LINE     one row per order line on a board: item id, group, hash of the item payload last
                  applied and the values themselves (the base of the next update's difference),
                  status creating | active | archived. `creating` = a create was sent and its
                  outcome is not yet known; the next step looks the line up by its external id.
- MONDAY_SUBITEM  one row per (line, size): subitem id, quantity last applied, status creating | active.
- MONDAY_GROUP    group title -> group id per board.
- MONDAY_SYNC_RUN one row per run: customer, times, counts, requests, complexity, status.
- MONDAY_FAILURE  the latest failure per line (payload, error code and message); deleted on success.
- MONDAY_PLAN     the planned actions of dry runs.
- MONDAY_CELL_ISSUE the cells of a customer's lines that were cleared (could not be formatted) or
                  neutralised (formula-like text), as of the customer's latest run per board.
"""

from __future__ import annotations

import datetime as dt
import json
import weakref
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from order_platform.warehouse.tables import DATETIME_TYPE  # DATETIME2 on SQL Server: exact, language-neutral

metadata = sa.MetaData()

ID = sa.Unicode(32)

line_table = sa.Table(
    "MONDAY_LINE",
    metadata,
    sa.Column("board_id", ID, primary_key=True),
    sa.Column("record_uuid", sa.Unicode(64), primary_key=True),
    sa.Column("customer", sa.Unicode(100), nullable=False, index=True),
    sa.Column("item_id", ID),
    sa.Column("group_id", sa.Unicode(64)),
    sa.Column("group_title", sa.Unicode(255)),
    sa.Column("item_hash", sa.Unicode(64)),
    sa.Column("status", sa.Unicode(16), nullable=False),
    sa.Column("run_id", sa.Integer),
    sa.Column("item_values", sa.UnicodeText),  # JSON: name + non-blank values as last applied
    sa.Column("updated_at", DATETIME_TYPE),
)

subitem_table = sa.Table(
    "MONDAY_SUBITEM",
    metadata,
    sa.Column("board_id", ID, primary_key=True),
    sa.Column("record_uuid", sa.Unicode(64), primary_key=True),
    sa.Column("size", sa.Unicode(64), primary_key=True),
    sa.Column("subitem_id", ID),
    sa.Column("quantity", sa.Integer),
    sa.Column("status", sa.Unicode(16), nullable=False),
    sa.Column("updated_at", DATETIME_TYPE),
)

group_table = sa.Table(
    "MONDAY_GROUP",
    metadata,
    sa.Column("board_id", ID, primary_key=True),
    sa.Column("group_title", sa.Unicode(255), primary_key=True),
    sa.Column("group_id", sa.Unicode(64), nullable=False),
    sa.Column("updated_at", DATETIME_TYPE),
)

run_table = sa.Table(
    "MONDAY_SYNC_RUN",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("board_id", ID, nullable=False),
    sa.Column("customer", sa.Unicode(100), nullable=False),
    sa.Column("started_at", DATETIME_TYPE, nullable=False),
    sa.Column("finished_at", DATETIME_TYPE),
    sa.Column("dry_run", sa.Boolean, nullable=False),
    sa.Column("status", sa.Unicode(16), nullable=False),
    sa.Column("lines", sa.Integer),
    sa.Column("created", sa.Integer),
    sa.Column("updated", sa.Integer),
    sa.Column("unchanged", sa.Integer),
    sa.Column("archived", sa.Integer),
    sa.Column("failed", sa.Integer),
    sa.Column("skipped", sa.Integer),
    sa.Column("requests", sa.Integer),
    sa.Column("mutations", sa.Integer),
    sa.Column("complexity_spent", sa.BigInteger),
    sa.Column("seconds", sa.Float),
    sa.Column("message", sa.UnicodeText),
)

failure_table = sa.Table(
    "MONDAY_FAILURE",
    metadata,
    sa.Column("board_id", ID, primary_key=True),
    sa.Column("record_uuid", sa.Unicode(64), primary_key=True),
    sa.Column("customer", sa.Unicode(100), nullable=False, index=True),
    sa.Column("run_id", sa.Integer),
    sa.Column("operation", sa.Unicode(32), nullable=False),
    sa.Column("error_code", sa.Unicode(100), nullable=False),
    sa.Column("error_message", sa.UnicodeText),
    sa.Column("payload", sa.UnicodeText),
    sa.Column("failed_at", DATETIME_TYPE, nullable=False),
)

plan_table = sa.Table(
    "MONDAY_PLAN",
    metadata,
    sa.Column("run_id", sa.Integer, primary_key=True),
    sa.Column("record_uuid", sa.Unicode(64), primary_key=True),
    sa.Column("customer", sa.Unicode(100), nullable=False),
    sa.Column("action", sa.Unicode(16), nullable=False),
    sa.Column("payload", sa.UnicodeText),
)


cell_issue_table = sa.Table(
    "MONDAY_CELL_ISSUE",
    metadata,
    sa.Column("board_id", ID, primary_key=True),
    sa.Column("record_uuid", sa.Unicode(64), primary_key=True),
    sa.Column("column_name", sa.Unicode(255), primary_key=True),
    sa.Column("customer", sa.Unicode(100), nullable=False, index=True),
    sa.Column("monday_column_id", sa.Unicode(64)),
    sa.Column("value", sa.UnicodeText),
    sa.Column("code", sa.Unicode(64), nullable=False),
    sa.Column("reason", sa.UnicodeText),
    sa.Column("run_id", sa.Integer),
    sa.Column("found_at", DATETIME_TYPE, nullable=False),
)


_READY: weakref.WeakSet[sa.Engine] = weakref.WeakSet()  # engines whose tables this process made sure of


def create_tables(engine: sa.Engine) -> None:
    if engine in _READY:
        return
    _READY.add(engine)
    metadata.create_all(engine)
    try:
        with engine.connect() as conn:
            conn.execute(sa.select(line_table.c.item_values).where(sa.false()))
    except sa.exc.DBAPIError:  # MONDAY_LINE from before item_values: add the column
        with engine.begin() as conn:
            type_ = line_table.c.item_values.type.compile(dialect=engine.dialect)
            conn.execute(sa.text(f"ALTER TABLE {line_table.name} ADD item_values {type_}"))


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


# json.dumps(value, ensure_ascii=False, default=str, sort_keys=True) without building an encoder per call.
_JSON = json.JSONEncoder(ensure_ascii=False, default=str, sort_keys=True)


class EncodedJson(str):
    """Text that already is `to_json` output: stored as it is."""


def to_json(value: Any) -> str:
    if isinstance(value, EncodedJson):
        return str(value)
    return _JSON.encode(value)


@dataclass
class SubitemState:
    size: str
    subitem_id: str | None
    quantity: int | None
    status: str  # creating | active


@dataclass
class LineState:
    record_uuid: str
    customer: str
    item_id: str | None
    group_id: str | None
    group_title: str | None
    item_hash: str | None
    status: str  # creating | active | archived
    subitems: dict[str, SubitemState] = field(default_factory=dict)
    item_values: str | None = None  # JSON of what the item holds (LinePayload.applied_json)


def _chunks(values: list[str], size: int = 500) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def load_state(conn: sa.Connection, board_id: str, record_uuids: Iterable[str]) -> dict[str, LineState]:
    """State of these lines on the board (whichever customer they were filed under), with subitems."""
    lines: dict[str, LineState] = {}
    select = sa.select(line_table).where(line_table.c.board_id == board_id)
    for chunk in _chunks(list(record_uuids)):
        for row in conn.execute(select.where(line_table.c.record_uuid.in_(chunk))).mappings():
            lines[row["record_uuid"]] = _line_state(row)
    _load_subitems(conn, board_id, lines)
    return lines


def load_lines_where(conn: sa.Connection, board_id: str, *conditions: Any) -> dict[str, LineState]:
    """State of the board's lines matching SQLAlchemy `conditions` on MONDAY_LINE, with subitems."""
    select = sa.select(line_table).where(line_table.c.board_id == board_id, *conditions)
    lines = {row["record_uuid"]: _line_state(row) for row in conn.execute(select).mappings()}
    _load_subitems(conn, board_id, lines)
    return lines


def line_ids(conn: sa.Connection, board_id: str, customer: str, statuses: tuple[str, ...]) -> set[str]:
    """record_uuids of the customer's lines on the board with one of these statuses."""
    select = sa.select(line_table.c.record_uuid).where(
        line_table.c.board_id == board_id,
        line_table.c.customer == customer,
        line_table.c.status.in_(statuses),
    )
    return set(conn.execute(select).scalars())


def count_items(conn: sa.Connection, board_id: str) -> int:
    """Items the state says the board holds for us (created, being created or archived)."""
    select = sa.select(sa.func.count()).select_from(line_table).where(line_table.c.board_id == board_id)
    return int(conn.execute(select).scalar() or 0)


def _line_state(row: Any) -> LineState:
    return LineState(
        row["record_uuid"],
        row["customer"],
        row["item_id"],
        row["group_id"],
        row["group_title"],
        row["item_hash"],
        row["status"],
        item_values=row["item_values"],
    )


def _load_subitems(conn: sa.Connection, board_id: str, lines: dict[str, LineState]) -> None:
    if not lines:
        return
    sub_select = sa.select(subitem_table).where(subitem_table.c.board_id == board_id)
    for chunk in _chunks(list(lines)):
        for row in conn.execute(sub_select.where(subitem_table.c.record_uuid.in_(chunk))).mappings():
            lines[row["record_uuid"]].subitems[row["size"]] = SubitemState(
                row["size"], row["subitem_id"], row["quantity"], row["status"]
            )


def save_lines(conn: sa.Connection, board_id: str, states: Iterable[LineState], run_id: int | None) -> None:
    """Upsert line rows (delete + insert: portable across SQLite and SQL Server)."""
    rows: list[dict[str, Any]] = [
        {
            "board_id": board_id,
            "record_uuid": s.record_uuid,
            "customer": s.customer,
            "item_id": s.item_id,
            "group_id": s.group_id,
            "group_title": s.group_title,
            "item_hash": s.item_hash,
            "status": s.status,
            "run_id": run_id,
            "item_values": s.item_values,
            "updated_at": now(),
        }
        for s in states
    ]
    if not rows:
        return
    delete_lines(conn, board_id, [r["record_uuid"] for r in rows], subitems=False)
    conn.execute(sa.insert(line_table), rows)


def delete_lines(conn: sa.Connection, board_id: str, record_uuids: list[str], *, subitems: bool = True) -> None:
    tables = [line_table, subitem_table] if subitems else [line_table]
    for table in tables:
        for chunk in _chunks(record_uuids):
            conn.execute(sa.delete(table).where(table.c.board_id == board_id, table.c.record_uuid.in_(chunk)))


def save_subitems(conn: sa.Connection, board_id: str, record_uuid_states: Iterable[tuple[str, SubitemState]]) -> None:
    rows: list[dict[str, Any]] = [
        {
            "board_id": board_id,
            "record_uuid": uuid,
            "size": s.size,
            "subitem_id": s.subitem_id,
            "quantity": s.quantity,
            "status": s.status,
            "updated_at": now(),
        }
        for uuid, s in record_uuid_states
    ]
    if not rows:
        return
    delete_subitems(conn, board_id, [(r["record_uuid"], r["size"]) for r in rows])
    conn.execute(sa.insert(subitem_table), rows)


def delete_subitems(conn: sa.Connection, board_id: str, keys: list[tuple[str, str]]) -> None:
    if not keys:
        return
    statement = sa.delete(subitem_table).where(
        subitem_table.c.board_id == sa.bindparam("b"),
        subitem_table.c.record_uuid == sa.bindparam("u"),
        subitem_table.c.size == sa.bindparam("s"),
    )
    conn.execute(statement, [{"b": board_id, "u": u, "s": s} for u, s in keys])


def load_groups(conn: sa.Connection, board_id: str) -> dict[str, str]:
    rows = conn.execute(
        sa.select(group_table.c.group_title, group_table.c.group_id).where(group_table.c.board_id == board_id)
    )
    return {title: group_id for title, group_id in rows}


def save_groups(conn: sa.Connection, board_id: str, groups: dict[str, str]) -> None:
    if not groups:
        return
    for chunk in _chunks(list(groups)):
        conn.execute(
            sa.delete(group_table).where(group_table.c.board_id == board_id, group_table.c.group_title.in_(chunk))
        )
    conn.execute(
        sa.insert(group_table),
        [{"board_id": board_id, "group_title": t, "group_id": g, "updated_at": now()} for t, g in groups.items()],
    )
