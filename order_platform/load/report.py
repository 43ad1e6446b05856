"""A small, picklable account of one customer's run: what the assets show and the CLI prints.

Built from a `CustomerRun` in whichever process did the work; the data frames stay there.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from order_platform.load.pipeline import CustomerRun
from order_platform.staging.cell_issues import issue_counts
from order_platform.staging.checks import CheckOutcome

PREVIEW_ROWS = 5
QUARANTINE_SAMPLE = 20


@dataclass
class LayerReport:
    rows: int
    seconds: float
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds > 0 else 0.0


@dataclass
class CustomerReport:
    customer: str
    ok: bool
    error: str | None
    unchanged: bool
    seconds: float
    source_path: str | None = None
    source_removed: bool = False  # workbook gone since its last load: reported, not failed
    note: str | None = None
    layers: dict[str, LayerReport] = field(default_factory=dict)
    checks: list[CheckOutcome] = field(default_factory=list)
    traceback: str | None = None  # for unexpected exceptions (a bug, a broken database), not bad workbooks
    table_note: str | None = None  # how its table names were shortened for SQL Server, when they were
    peak_memory_mb: float | None = None  # the worker process's peak resident memory during this customer
    stages: dict[str, tuple[float, float]] = field(default_factory=dict)  # (wall, CPU) s per stage, stages.py

    @property
    def status(self) -> str:
        """published | unchanged | source_removed | failed | ok (layers ran, nothing published)."""
        if not self.ok:
            return "failed"
        if self.source_removed:
            return "source_removed"
        if self.unchanged:
            return "unchanged"
        return "published" if "order_list" in self.layers else "ok"

    @property
    def published_rows(self) -> int | None:
        layer = self.layers.get("order_list")
        return layer.rows if layer else None

    @property
    def published_slice(self) -> tuple[str, int] | None:
        """(load id, rows) of the ORDER_LIST slice this load published (counted in its transaction)."""
        layer = self.layers.get("order_list")
        load_id = layer.details.get("load_id") if layer else None
        return (str(load_id), layer.rows) if layer and load_id else None

    @property
    def change_counts(self) -> dict[str, Any]:
        """What the publish changed (added, removed, changed_lines, changed_cells, baseline); {} if none ran."""
        layer = self.layers.get("order_list")
        return dict(layer.details.get("changes") or {}) if layer else {}

    @property
    def quarantined_rows(self) -> int | None:
        layer = self.layers.get("staging")
        return layer.details.get("quarantined_rows") if layer else None


def display_text(value: Any) -> str | None:
    """A cell as a person reads it: blanks are None (not `nan`), dates without a midnight time."""
    if value is None or (isinstance(value, float) and value != value) or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | datetime) and (value.hour, value.minute, value.second) == (0, 0, 0):
        return value.strftime("%Y-%m-%d")
    return str(value)


def _preview(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The first rows as text; only columns with a value in them, to keep the preview readable."""
    head = frame.iloc[:PREVIEW_ROWS]
    cells = head.to_numpy(dtype=object)  # one conversion; per-cell pandas access costs ms per customer
    missing = pd.isna(cells)
    kept = [(j, str(name)) for j, name in enumerate(head.columns) if not missing[:, j].all()]
    return [
        {name: None if missing[i, j] else display_text(cells[i, j]) for j, name in kept} for i in range(len(head))
    ]


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    cells = frame.to_numpy(dtype=object)
    return [{str(c): display_text(v) for c, v in zip(frame.columns, row, strict=True)} for row in cells]


def report_for(run: CustomerRun) -> CustomerReport:
    report = CustomerReport(
        customer=run.customer,
        ok=run.ok,
        error=run.error,
        unchanged=run.unchanged,
        seconds=run.seconds,
        source_path=run.ref.path if run.ref else None,
        source_removed=run.source_removed,
        note=run.note,
        traceback=run.traceback,
        table_note=run.table_note,
        stages=run.stages,
    )
    if run.source:
        ref = run.source.ref
        report.layers["source"] = LayerReport(
            0,
            run.source.seconds,
            {
                "path": ref.path,
                "size_bytes": ref.size,
                "modified": ref.modified.isoformat(),
                "version": ref.version,
                "content_hash": run.source.content_hash,
            },
        )
    if run.blob:
        report.layers["blob"] = LayerReport(
            0,
            0.0,
            {
                "name": run.blob.name,
                "content_hash": run.blob.content_hash,
                "uploaded": run.blob.uploaded,
                "size_bytes": run.blob.size,
                **{f"meta_{k}": v for k, v in run.blob.metadata.items()},
            },
        )
    if run.raw:
        sheet = run.raw.sheet
        report.layers["raw"] = LayerReport(
            len(run.raw.frame),
            run.raw.seconds,
            {
                "table": run.raw.table,
                "headers": run.raw.headers,
                "sheet": sheet.sheet if sheet else None,
                "header_row": sheet.header_row if sheet else None,
                "other_sheets": sheet.other_sheets if sheet else [],
                "notes": sheet.notes if sheet else [],
                "preview": _preview(run.raw.frame.iloc[:PREVIEW_ROWS][run.raw.headers]),
            },
        )
    if run.staged:
        result = run.staged.result
        quarantine = result.quarantine
        cells = issue_counts(result.cell_issues)
        report.layers["staging"] = LayerReport(
            len(result.staged),
            run.staged.seconds,
            {
                "table": run.staged.table,
                "raw_rows": result.raw_rows,
                "quarantined_rows": result.quarantined_rows,
                "quarantine_by_reason": dict(Counter(quarantine["reason_code"])) if len(quarantine) else {},
                "quarantine_sample": _records(quarantine.head(QUARANTINE_SAMPLE)),
                "cell_issues": sum(cells["by_reason"].values()),
                "cell_issues_by_reason": cells["by_reason"],
                "cell_issues_by_column": cells["by_column"],
                "cell_issue_lines": cells["lines"],
                "cell_issue_sample": cells["sample"],
                "date_order": result.date_order.details() if result.date_order else None,
                "unknown_headers": result.unknown_headers,
                "placeholders": result.placeholder_counts,
                "total_qty_mismatches": len(result.total_qty_mismatches),
                "unknown_customer_names": result.unknown_customer_names,
                "notes": result.notes,
                "columns": [str(c) for c in result.staged.columns],
                "preview": _preview(result.staged),
            },
        )
        report.checks = list(run.staged.checks)
    if run.published:
        report.layers["order_list"] = LayerReport(
            run.published.rows,
            run.published.seconds,
            {
                "load_id": run.published.load_id,
                "changes": run.published.changes.counts(),
                "first_changes": run.published.changes.first,
                "changes_seconds": run.published.changes.seconds,
            },
        )
    return report
