"""A change report: per customer, the counts and the changes most significant first (the CLI's
`changes`, the daily report, the Teams summary)."""

from __future__ import annotations

import csv
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from order_platform.warehouse.changes.diff import ADDED, CHANGED, REMOVED
from order_platform.warehouse.changes.significance import LABELS

CSV_COLUMNS = [
    "customer",
    "changed_at",
    "load_id",
    "change_kind",
    "significance",
    "po_number",
    "customer_style",
    "aag_order_number",
    "record_uuid",
    "column_name",
    "old_value",
    "new_value",
    "cell_issue",
]


@dataclass
class CustomerChanges:
    customer: str
    added: int = 0
    removed: int = 0
    changed_lines: int = 0
    changed_cells: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)  # most significant first

    def counts(self) -> dict[str, int]:
        return {
            "added": self.added,
            "removed": self.removed,
            "changed_lines": self.changed_lines,
            "changed_cells": self.changed_cells,
        }

    def counts_text(self) -> str:
        return (
            f"{self.added} line(s) added, {self.removed} removed, "
            f"{self.changed_lines} changed ({self.changed_cells} value(s))"
        )


def by_customer(rows: list[dict[str, Any]]) -> list[CustomerChanges]:
    """Rows of ORDER_LIST_CHANGES grouped per customer (by name), each most significant first."""
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        grouped[row["customer"]].append(row)
    out = []
    for customer in sorted(grouped):
        found = grouped[customer]
        found.sort(
            key=lambda r: (
                r["significance"],
                r["po_number"] or "",
                r["customer_style"] or "",
                r["record_uuid"],
                r["column_name"] or "",
            )
        )
        out.append(
            CustomerChanges(
                customer,
                added=sum(r["change_kind"] == ADDED for r in found),
                removed=sum(r["change_kind"] == REMOVED for r in found),
                changed_lines=len({r["record_uuid"] for r in found if r["change_kind"] == CHANGED}),
                changed_cells=sum(r["change_kind"] == CHANGED for r in found),
                changes=found,
            )
        )
    return out


def line_label(row: dict[str, Any]) -> str:
    """How the team names a line: PO, style and AAG order number."""
    parts = [
        f"PO {row['po_number']}" if row.get("po_number") else None,
        row.get("customer_style"),
        row.get("aag_order_number"),
    ]
    return " / ".join(p for p in parts if p) or str(row.get("record_uuid"))


def change_text(row: dict[str, Any]) -> str:
    """One change in a line: `M: 20 -> 25`, `line added`, `EX FACTORY DATE: 2025-03-01 -> (blank, NOT_A_DATE: x)`."""
    kind = row["change_kind"]
    if kind == ADDED:
        return "line added"
    if kind == REMOVED:
        return "line removed"
    old = row["old_value"] if row["old_value"] is not None else "(blank)"
    new = row["new_value"] if row["new_value"] is not None else "(blank)"
    if row.get("cell_issue"):
        new = f"(blank: cell issue {row['cell_issue']})"
    return f"{row['column_name']}: {old} -> {new}"


def write_csv(rows: list[dict[str, Any]], path: Path) -> int:
    """The changes per customer, most significant first, as CSV; the number written."""
    ordered = [r for group in by_customer(rows) for r in group.changes]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, CSV_COLUMNS, extrasaction="ignore")
        writer.writeheader()
        for row in ordered:
            writer.writerow({**row, "significance": LABELS.get(row["significance"], row["significance"])})
    return len(ordered)
