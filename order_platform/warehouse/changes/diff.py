"""What a publish changes per order line, recorded in ORDER_LIST_CHANGES in the publish's own transaction.

Called by `OrderStore.publish` before the customer's old slice is deleted: the old slice (ORDER_LIST rows
of the customer's source table, i.e. its last *published* load; a failed load never touched them) is
compared with the staging table about to replace it, in the database and set-based:

- lines are matched by their id (`record_uuid`, a UUID5 of the order-line key, staging/identity.py), so
  a row deleted in the middle of a sheet changes no other line;
- one join finds the lines whose business values differ, null-safe (SQLite `(...) IS NOT (...)`, SQL
  Server `EXISTS (SELECT ... EXCEPT SELECT ...)`), so an unchanged reload reads nothing back; only the
  differing lines are fetched and compared column by column (numpy);
- two anti-joins find the lines added (NOT IN the old slice's ids) and removed (NOT EXISTS in staging);
- the platform's own columns (`_SOURCE_ROW`, `_LOAD_ID`, `_CELL_ISSUES`...) are not compared.

The customer's first load (or its first after being retired) is its baseline: nothing is recorded.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from order_platform.schema import AAG_ORDER_NUMBER, CUSTOMER_STYLE, KEY_COLUMN, OrderListSchema
from order_platform.warehouse.changes.significance import LINE, column_significance
from order_platform.warehouse.changes.values import as_text, line_snapshot

ADDED = "added"
CHANGED = "changed"
REMOVED = "removed"
PO_NUMBER = "PO NUMBER"
FIRST_CHANGES = 20  # kept on the publish's report (the materialisation's table)
CELL_ISSUES_COLUMN = "_CELL_ISSUES"
_ISSUE_WIDTH = 400
NAMING_COLUMNS = (AAG_ORDER_NUMBER, PO_NUMBER, CUSTOMER_STYLE)


@dataclass
class ChangeSummary:
    """What one publish changed: counts, and its most significant changes first."""

    baseline: bool = False
    added: int = 0
    removed: int = 0
    changed_lines: int = 0
    changed_cells: int = 0
    first: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def recorded(self) -> int:
        return self.added + self.removed + self.changed_cells

    def counts(self) -> dict[str, int | bool]:
        return {
            "baseline": self.baseline,
            "added": self.added,
            "removed": self.removed,
            "changed_lines": self.changed_lines,
            "changed_cells": self.changed_cells,
        }


@dataclass(frozen=True)
class SliceChange:
    """The publish being compared: whose slice, which load, from which staging table."""

    customer: str
    load_id: str
    source_table: str
    staging_name: str
    staging_columns: list[str]
    changed_at: datetime


def business_columns(order_list: sa.Table) -> list[str]:
    """ORDER_LIST's columns that are changes when they differ: all but the line id and the `_` ones."""
    return [c.name for c in order_list.columns if c.name != KEY_COLUMN and not c.name.startswith("_")]


def previous_load(conn: sa.Connection, loads: sa.Table, customer: str) -> dict[str, Any] | None:
    """The customer's last published load, or None when this one is its baseline (no published load
    before, or the customer was retired since its last)."""
    query = (
        sa.select(loads.c.status, loads.c.staged_columns)
        .where(loads.c.customer == customer, loads.c.status.in_(("published", "retired")))
        .order_by(loads.c.started_at.desc())
        .limit(1)
    )
    last = conn.execute(query).mappings().first()
    return dict(last) if last is not None and last["status"] == "published" else None


def compared_columns(columns: list[str], staged: list[str], previous: str | None) -> list[str]:
    """The ORDER_LIST columns that can differ: those the new load fills and those the previous one filled
    (every other column is NULL in both slices). All of them when the previous load did not record its
    columns (published before they were recorded)."""
    if not previous:
        return columns
    try:
        filled = set(json.loads(previous)) | set(staged)
    except (ValueError, TypeError):
        return columns
    return [c for c in columns if c in filled]


def record_changes(
    conn: sa.Connection,
    schema: OrderListSchema,
    tables: dict[str, sa.Table],
    change: SliceChange,
) -> ChangeSummary:
    """Compare the customer's published slice with the staging table and insert the differences.

    `tables`: `order_list`, `changes`, `loads`. Runs inside the publish transaction, first: its first
    statement writes (clears this load's changes, so a publish retried under the same load id records once),
    which on SQLite takes the write lock before anything is read."""
    started = time.perf_counter()
    changes = tables["changes"]
    conn.execute(sa.delete(changes).where(changes.c.load_id == change.load_id))
    previous = previous_load(conn, tables["loads"], change.customer)
    if previous is None:
        return ChangeSummary(baseline=True, seconds=time.perf_counter() - started)
    comparer = _Comparer(conn, schema, tables["order_list"], change, previous["staged_columns"])
    rows = comparer.added() + comparer.removed() + comparer.changed()
    summary = ChangeSummary(
        added=comparer.counts[ADDED],
        removed=comparer.counts[REMOVED],
        changed_lines=comparer.counts[CHANGED],
        changed_cells=len(rows) - comparer.counts[ADDED] - comparer.counts[REMOVED],
    )
    if rows:
        conn.execute(sa.insert(changes), rows)
        rows.sort(key=_report_order)
        summary.first = [{k: r[k] for k in REPORT_FIELDS} for r in rows[:FIRST_CHANGES]]
    summary.seconds = time.perf_counter() - started
    return summary


def _report_order(row: dict[str, Any]) -> tuple:
    return (row["significance"], row["po_number"] or "", row["customer_style"] or "", row["column_name"] or "")


REPORT_FIELDS = (
    "change_kind",
    "record_uuid",
    "aag_order_number",
    "po_number",
    "customer_style",
    "column_name",
    "old_value",
    "new_value",
    "cell_issue",
    "significance",
)


class _Comparer:
    def __init__(
        self,
        conn: sa.Connection,
        schema: OrderListSchema,
        order_list: sa.Table,
        change: SliceChange,
        previous_columns: str | None,
    ) -> None:
        self.conn = conn
        self.schema = schema
        self.change = change
        quote = conn.dialect.identifier_preparer.quote
        self.quote = quote
        staged_list = [c for c in business_columns(order_list) if c in set(change.staging_columns)]
        self.columns = compared_columns(business_columns(order_list), staged_list, previous_columns)
        staged = set(change.staging_columns)
        self.staged = [c for c in self.columns if c in staged]
        self.has_issues = CELL_ISSUES_COLUMN in staged
        self.order_list = quote(order_list.name)
        self.staging = quote(change.staging_name)
        self.key = quote(KEY_COLUMN)
        self.source = quote("_SOURCE_TABLE")
        self.counts = {ADDED: 0, REMOVED: 0, CHANGED: 0}
        self.params = {"source_table": change.source_table}

    def _row(self, kind: str, uuid: str, values: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "load_id": self.change.load_id,
            "customer": self.change.customer,
            "record_uuid": uuid,
            "change_kind": kind,
            "column_name": None,
            "old_value": None,
            "new_value": None,
            "cell_issue": None,
            "significance": LINE,
            "aag_order_number": as_text(values.get(AAG_ORDER_NUMBER)),
            "po_number": as_text(values.get(PO_NUMBER)),
            "customer_style": as_text(values.get(CUSTOMER_STYLE)),
            "changed_at": self.change.changed_at,
            **extra,
        }

    def _fetch(self, sql: str) -> list[tuple]:
        return [tuple(r) for r in self.conn.execute(sa.text(sql), self.params)]

    def added(self) -> list[dict[str, Any]]:
        cols = ", ".join([f"n.{self.key}", *(f"n.{self.quote(c)}" for c in self.staged)])
        # NOT IN: the slice's line ids are gathered once (both columns are NOT NULL: no NULL semantics to
        # mind); a correlated NOT EXISTS read a wide ORDER_LIST row per staged line to check its source
        rows = self._fetch(
            f"SELECT {cols} FROM {self.staging} n WHERE n.{self.key} NOT IN "
            f"(SELECT o.{self.key} FROM {self.order_list} o WHERE o.{self.source} = :source_table)"
        )
        self.counts[ADDED] = len(rows)
        out = []
        for uuid, *values in rows:
            named = dict(zip(self.staged, values, strict=True))
            out.append(self._row(ADDED, uuid, named, new_value=line_snapshot(self.staged, values)))
        return out

    def removed(self) -> list[dict[str, Any]]:
        cols = ", ".join([f"o.{self.key}", *(f"o.{self.quote(c)}" for c in self.columns)])
        rows = self._fetch(
            f"SELECT {cols} FROM {self.order_list} o WHERE o.{self.source} = :source_table "
            f"AND NOT EXISTS (SELECT 1 FROM {self.staging} n WHERE n.{self.key} = o.{self.key})"
        )
        self.counts[REMOVED] = len(rows)
        out = []
        for uuid, *values in rows:
            named = dict(zip(self.columns, values, strict=True))
            out.append(self._row(REMOVED, uuid, named, old_value=line_snapshot(self.columns, values)))
        return out

    def _differs(self) -> str:
        old = ", ".join(f"o.{self.quote(c)}" for c in self.columns)
        staged = set(self.staged)
        new = ", ".join(f"n.{self.quote(c)}" if c in staged else "NULL" for c in self.columns)
        if self.conn.dialect.name == "sqlite":
            return f"({old}) IS NOT ({new})"
        return f"EXISTS (SELECT {old} EXCEPT SELECT {new})"  # SQL Server: null-safe, any version

    def changed(self) -> list[dict[str, Any]]:
        cols = ", ".join(
            [
                f"n.{self.key}",
                f"n.{self.quote(CELL_ISSUES_COLUMN)}" if self.has_issues else "NULL",
                *(f"o.{self.quote(c)}" for c in self.columns),
                *(f"n.{self.quote(c)}" for c in self.staged),
            ]
        )
        rows = self._fetch(
            f"SELECT {cols} FROM {self.staging} n "
            f"JOIN {self.order_list} o ON o.{self.key} = n.{self.key} AND o.{self.source} = :source_table "
            f"WHERE {self._differs()}"
        )
        self.counts[CHANGED] = len(rows)
        if not rows:
            return []
        width = len(self.columns)
        cells = np.empty((len(rows), 2 + width + len(self.staged)), dtype=object)
        cells[:] = rows
        old_cells = cells[:, 2 : 2 + width]
        new_cells = np.full((len(rows), width), None, dtype=object)
        position = {c: i for i, c in enumerate(self.columns)}
        for j, column in enumerate(self.staged):
            new_cells[:, position[column]] = cells[:, 2 + width + j]
        differ = old_cells != new_cells
        out = []
        for i, j in zip(*np.nonzero(differ), strict=True):
            column = self.columns[j]
            new = new_cells[i, j]
            named = {c: new_cells[i, position[c]] for c in NAMING_COLUMNS if c in position}
            out.append(
                self._row(
                    CHANGED,
                    cells[i, 0],
                    named,
                    column_name=column,
                    old_value=as_text(old_cells[i, j]),
                    new_value=as_text(new),
                    cell_issue=_cell_issue(cells[i, 1], column) if new is None else None,
                    significance=column_significance(self.schema, column),
                )
            )
        return out


def _cell_issue(issues_json: str | None, column: str) -> str | None:
    """`NOT_A_DATE: 32/13/2025` when the line's new value of `column` is a cell issue (NULL, text kept)."""
    if not issues_json:
        return None
    try:
        issue = json.loads(issues_json).get(column)
    except (ValueError, AttributeError):
        return None
    if not issue:
        return None
    text = f"{issue.get('reason_code')}: {issue.get('value')}"
    return text[:_ISSUE_WIDTH]
