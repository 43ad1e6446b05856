"""Run records of the monday.com sync: MONDAY_SYNC_RUN, MONDAY_FAILURE, MONDAY_PLAN, MONDAY_CELL_ISSUE
(tables defined in state.py)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from order_platform.monday.state.sync_state import (
    _chunks,
    cell_issue_table,
    failure_table,
    now,
    plan_table,
    run_table,
    to_json,
)


def start_run(conn: sa.Connection, board_id: str, customer: str, dry_run: bool) -> int:
    result = conn.execute(
        sa.insert(run_table).values(
            board_id=board_id, customer=customer, started_at=now(), dry_run=dry_run, status="running"
        )
    )
    key = result.inserted_primary_key
    assert key is not None  # an INSERT of one row always has its primary key
    return int(key[0])


def finish_run(conn: sa.Connection, run_id: int, **values: Any) -> None:
    conn.execute(sa.update(run_table).where(run_table.c.run_id == run_id).values(finished_at=now(), **values))


def record_failures(
    conn: sa.Connection, board_id: str, customer: str, run_id: int, failures: Iterable[dict[str, Any]]
) -> None:
    """Store the latest failure per line: dicts with record_uuid, operation, code, message, payload."""
    rows = [
        {
            "board_id": board_id,
            "record_uuid": f["record_uuid"],
            "customer": customer,
            "run_id": run_id,
            "operation": f["operation"],
            "error_code": f["code"][:100],
            "error_message": f["message"],
            "payload": to_json(f.get("payload")),
            "failed_at": now(),
        }
        for f in failures
    ]
    if not rows:
        return
    clear_failures(conn, board_id, [r["record_uuid"] for r in rows])
    conn.execute(sa.insert(failure_table), rows)


def clear_failures(conn: sa.Connection, board_id: str, record_uuids: list[str]) -> None:
    for chunk in _chunks(record_uuids):
        conn.execute(
            sa.delete(failure_table).where(failure_table.c.board_id == board_id, failure_table.c.record_uuid.in_(chunk))
        )


def save_plan(conn: sa.Connection, run_id: int, customer: str, rows: Iterable[tuple[str, str, str]]) -> None:
    """Rows of (record_uuid, action, payload JSON text), bound straight through the driver."""
    values = [(run_id, u, customer, a, p) for u, a, p in rows]
    if values:
        columns = ("run_id", "record_uuid", "customer", "action", "payload")
        quote = conn.dialect.identifier_preparer.quote
        names = ", ".join(quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns) if conn.dialect.paramstyle == "qmark" else None
        if marks is None:  # another driver: through SQLAlchemy
            conn.execute(sa.insert(plan_table), [dict(zip(columns, v, strict=True)) for v in values])
            return
        conn.exec_driver_sql(f"INSERT INTO {quote(plan_table.name)} ({names}) VALUES ({marks})", values)


def replace_cell_issues(
    conn: sa.Connection,
    board_id: str,
    customer: str,
    run_id: int,
    issues: Iterable[dict[str, str]],
    *,
    record_uuids: Iterable[str] | None = None,
) -> None:
    """The customer's cell issues on the board become `issues` (dicts of CellIssue.as_dict); with
    `record_uuids` (a targeted sync) only those lines' issues are replaced."""
    table = cell_issue_table
    where = [table.c.board_id == board_id, table.c.customer == customer]
    if record_uuids is None:
        conn.execute(sa.delete(table).where(*where))
    else:
        for chunk in _chunks(list(record_uuids)):
            conn.execute(sa.delete(table).where(*where, table.c.record_uuid.in_(chunk)))
    rows = {
        (i["record_uuid"], i["column"][:255]): {
            "board_id": board_id,
            "record_uuid": i["record_uuid"],
            "column_name": i["column"][:255],
            "customer": customer,
            "monday_column_id": i["monday_column_id"],
            "value": i["value"],
            "code": i["code"],
            "reason": i["reason"],
            "run_id": run_id,
            "found_at": now(),
        }
        for i in issues
    }
    if rows:
        conn.execute(sa.insert(table), list(rows.values()))
