"""Turn a customer's report into Dagster metadata: counts, speeds, column schema, previews."""

from __future__ import annotations

from typing import Any

import dagster as dg
import sqlalchemy as sa

from order_platform.defs.formatting import by_column, by_name, by_reason, count, lines, listing, rate, seconds, size
from order_platform.load.report import CustomerReport, LayerReport
from order_platform.staging.checks import CheckOutcome
from order_platform.warehouse.tables import mssql_dialect

PREVIEW_COLUMNS = 12
WORKER_PEAK_MEMORY = "worker_peak_memory_mb"  # on the raw materialisation: the loading worker's peak RSS
# What a person needs to find and fix a quarantined row: where it is, what it held, why.
QUARANTINE_COLUMNS = ["source_file", "sheet", "row_number", "column_name", "value", "reason_code", "reason"]


def _shortened(text: str, limit: int) -> str:
    """Cut at a word boundary with an ellipsis, never mid-word."""
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0] if " " in text[:limit] else text[:limit]
    return cut.rstrip() + "…"


def markdown_table(
    rows: list[dict[str, Any]], columns: list[str] | None = None, limit: int | None = 40
) -> dg.MarkdownMetadataValue:
    if not rows:
        return dg.MetadataValue.md("_no rows_")
    columns = columns or list(rows[0])[:PREVIEW_COLUMNS]

    def cell(v: object) -> str:
        text = ("" if v is None else str(v)).replace("|", "\\|").replace("\n", " ")
        return _shortened(text, limit) if limit else text

    lines = ["| " + " | ".join(cell(c) for c in columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return dg.MetadataValue.md("\n".join(lines))


def table_column_schema(table: sa.Table) -> dg.TableSchema:
    """A table's columns with their SQL Server types (as in sql/), for an asset definition's metadata.

    Typed schemas belong on the definition: in per-partition events they would be written for every
    customer on every run, which costs the run seconds of serialisation for the same information.
    """
    dialect = mssql_dialect()
    return dg.TableSchema(
        columns=[dg.TableColumn(c.name, c.type.compile(dialect=dialect)) for c in table.columns]
    )


def _speed(layer: LayerReport) -> dict[str, Any]:
    return {
        "rows": count(layer.rows),
        "seconds": seconds(layer.seconds),
        "rows_per_second": rate(layer.rows_per_second),
    }


def source_metadata(report: CustomerReport) -> dict[str, Any]:
    d = report.layers["source"].details
    return {
        "path": d["path"],
        "size": size(d["size_bytes"]),
        "modified": d["modified"],
        "version": d["version"],
        "content_hash": d["content_hash"],
        "seconds": seconds(report.layers["source"].seconds),
    }


def blob_metadata(report: CustomerReport) -> dict[str, Any]:
    return dict(report.layers["blob"].details)


def raw_metadata(report: CustomerReport) -> dict[str, Any]:
    layer = report.layers["raw"]
    d = layer.details
    return {
        **_speed(layer),
        "table": d["table"],
        "sheet": d["sheet"] or "",
        "header_row": d["header_row"] or 0,
        "columns": count(len(d["headers"])),
        "headers": d["headers"],  # every column of the raw table is text
        "other_sheets": listing(d["other_sheets"]),
        "notes": lines(d["notes"]),
        "preview": markdown_table(d["preview"]),
        **({"table_name_note": report.table_note} if report.table_note else {}),
        # a number (MB), as the bench and the CLI's outcome read it back (defs/headless.py)
        **({WORKER_PEAK_MEMORY: dg.MetadataValue.int(round(report.peak_memory_mb))} if report.peak_memory_mb else {}),
    }


def staging_metadata(report: CustomerReport) -> dict[str, Any]:
    layer = report.layers["staging"]
    d = layer.details
    return {
        "at_a_glance": dg.MetadataValue.md(staging_glance(d)),
        **_speed(layer),
        "table": d["table"],
        "raw_rows": count(d["raw_rows"]),
        "quarantined_rows": count(d["quarantined_rows"]),
        "quarantine_by_reason": by_reason(d["quarantine_by_reason"]),
        "unknown_headers": listing(d["unknown_headers"]),
        "placeholder_values": by_name(d["placeholders"]),
        "total_qty_mismatches": count(d["total_qty_mismatches"]),
        "unknown_customer_names": listing(d["unknown_customer_names"]),
        "notes": lines(d["notes"]),
        "columns": d["columns"],  # their types: the asset's column schema
        "preview": markdown_table(d["preview"]),
        "quarantine_sample": markdown_table(d["quarantine_sample"], QUARANTINE_COLUMNS, limit=None),
        "cell_issues": count(d.get("cell_issues", 0)),
        "cell_issue_lines": count(d.get("cell_issue_lines", 0)),
        "cell_issues_by_reason": by_reason(d.get("cell_issues_by_reason") or {}),
        "cell_issues_by_column": by_column(d.get("cell_issues_by_column") or {}),
        "cell_issue_sample": markdown_table(d.get("cell_issue_sample") or [], limit=None),
        "date_order": d.get("date_order") or {},
    }


def staging_glance(d: dict[str, Any]) -> str:
    """The customer's load in three lines: rows, what was set aside and why, what was not loaded as written."""
    issues = d.get("cell_issues", 0)
    parts = [
        f"**{d['raw_rows']:,}** workbook rows: **{d['raw_rows'] - d['quarantined_rows']:,}** staged, "
        f"**{d['quarantined_rows']:,}** quarantined ({by_reason(d['quarantine_by_reason'])})",
        f"**{issues:,}** cell issue(s) on {d.get('cell_issue_lines', 0):,} line(s): "
        f"{by_reason(d.get('cell_issues_by_reason') or {})}" if issues else "no cell issues",
        f"unknown headers: {listing(d['unknown_headers'])}",
    ]
    return "\n\n".join(parts)


CHANGE_COLUMNS = ["change_kind", "po_number", "customer_style", "column_name", "old_value", "new_value", "cell_issue"]


def order_list_metadata(report: CustomerReport) -> dict[str, Any]:
    layer = report.layers["order_list"]
    staging = report.layers.get("staging")
    counts = layer.details.get("changes") or {}
    if counts.get("baseline"):
        changes: dict[str, Any] = {"changes": "baseline: the customer's first published load, no changes recorded"}
    else:
        first = layer.details.get("first_changes") or []
        changes = {
            "lines_added": count(counts.get("added", 0)),
            "lines_removed": count(counts.get("removed", 0)),
            "lines_changed": count(counts.get("changed_lines", 0)),
            "cells_changed": count(counts.get("changed_cells", 0)),
            "changes": markdown_table(first, CHANGE_COLUMNS) if first else "no changes since the last published load",
            "changes_seconds": seconds(layer.details.get("changes_seconds") or 0.0),
        }
    return {
        "at_a_glance": dg.MetadataValue.md(order_list_glance(report)),
        **_speed(layer),
        "dagster/row_count": layer.rows,
        "load_id": layer.details["load_id"],
        **changes,
        "customer_seconds_total": seconds(report.seconds),
        **({"cell_issues": count(staging.details.get("cell_issues", 0))} if staging else {}),
        # (wall, CPU) seconds of each stage of the customer's load (load/stages.py; the bench's profile)
        "stage_seconds": dg.MetadataValue.json({k: [round(w, 4), round(c, 4)] for k, (w, c) in report.stages.items()}),
    }


def order_list_glance(report: CustomerReport) -> str:
    """The customer's last load at a glance: where from, what was published, what was set aside."""
    published = report.layers["order_list"].rows
    staging = report.layers.get("staging")
    parts = [f"**{published:,}** line(s) published from `{report.source_path or '?'}` in {report.seconds:,.1f} s"]
    if staging:
        d = staging.details
        parts.append(f"quarantined: **{d['quarantined_rows']:,}** ({by_reason(d['quarantine_by_reason'])})")
        issues = d.get("cell_issues", 0)
        parts.append(
            f"cell issues: **{issues:,}** ({by_reason(d.get('cell_issues_by_reason') or {})})"
            if issues
            else "cell issues: none"
        )
    parts.append("board: see `monday_board_items` for this customer (synced in the same run)")
    return "\n\n".join(parts)


def check_result_metadata(outcomes: dict[str, CheckOutcome]) -> dict[str, Any]:
    """One check's outcome over the run's customers: per-customer summaries, failures first."""
    failing = {c: o.summary for c, o in outcomes.items() if not o.passed}
    return {
        "customers": len(outcomes),
        "customers_failing": len(failing),
        "failing": failing,
        "results": {c: o.summary for c, o in sorted(outcomes.items())[:60]},
    }
