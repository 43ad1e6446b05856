"""Dagster metadata for one customer's monday.com sync (counts, budget, a sample of payloads)."""

import json
from typing import Any

import dagster as dg

from order_platform.monday import BoardConfig, SyncResult

COUNTS = ("lines", "created", "updated", "unchanged", "archived", "failed", "skipped")
BUDGET = ("requests", "mutations", "complexity_spent", "rate_limited")
FAILURES_SHOWN = 10


def _json_safe(value: Any) -> Any:
    """Plan rows and payload samples as plain JSON (dates and decimals become text)."""
    return json.loads(json.dumps(value, default=str))


def column_titles(config: BoardConfig) -> dict[str, str]:
    """Board column id -> the ORDER_LIST column it shows (`numeric_mkr55zg1` -> `TOTAL QTY`)."""
    titles = {c.monday_column_id: c.order_list_column for c in config.item_columns}
    titles.update({c.monday_column_id: c.field.upper().replace("_", " ") for c in config.subitem_columns})
    titles[config.external_id.monday_column_id] = config.external_id.title
    return titles


def _titled(value: Any, titles: dict[str, str]) -> Any:
    """A payload with its column ids shown as titles, JSON-encoded column values decoded for reading."""
    if isinstance(value, dict):
        return {titles.get(k, k): _titled(v, titles) for k, v in value.items()}
    if isinstance(value, list):
        return [_titled(v, titles) for v in value]
    if isinstance(value, str) and value.startswith("{") and any(f'"{i}"' in value for i in titles):
        try:
            return _titled(json.loads(value), titles)
        except ValueError:
            return value
    return value


def sync_metadata(result: SyncResult, config: BoardConfig | None = None) -> dict[str, Any]:
    """Per-customer metadata. In a dry run created/updated/archived are what *would* be sent."""
    metadata: dict[str, Any] = {
        "status": dg.MetadataValue.text(result.status),
        "dry_run": dg.MetadataValue.bool(result.dry_run),
        "board_id": dg.MetadataValue.text(result.board_id),
        "sync_run_id": dg.MetadataValue.int(result.run_id),
        **{name: dg.MetadataValue.int(getattr(result, name)) for name in (*COUNTS, *BUDGET)},
        "seconds": dg.MetadataValue.float(float(result.seconds)),
        "summary": dg.MetadataValue.md(summary_markdown(result)),
        "sample_payloads": dg.MetadataValue.json(
            _titled(_json_safe(result.sample_payloads), column_titles(config) if config else {})
        ),
    }
    if result.dry_run:
        metadata["planned_operations"] = dg.MetadataValue.int(result.planned_operations)
    metadata["cell_issues"] = dg.MetadataValue.int(result.cell_issues)  # cleared / neutralised cells: warnings
    if result.cell_issue_sample:
        metadata["cell_issue_sample"] = dg.MetadataValue.json(_json_safe(result.cell_issue_sample[:FAILURES_SHOWN]))
    if result.message:
        metadata["message"] = dg.MetadataValue.text(result.message)
    if result.failures:
        metadata["failures"] = dg.MetadataValue.json(_json_safe(first_failures(result)))
    return metadata


def first_failures(result: SyncResult, limit: int = FAILURES_SHOWN) -> list[dict[str, Any]]:
    """The first failed records without their payloads (those are in MONDAY_FAILURE)."""
    keys = ("record_uuid", "operation", "code", "message")
    return [{k: f.get(k) for k in keys} for f in result.failures[:limit]]


def summary_markdown(result: SyncResult) -> str:
    verb = "planned (dry run, nothing sent)" if result.dry_run else "done"
    rows = "\n".join(f"| {name} | {getattr(result, name)} |" for name in (*COUNTS, *BUDGET))
    return (
        f"**{result.customer}** -> board {result.board_id}: **{result.status}**, {verb}\n\n"
        f"| | count |\n|---|---|\n{rows}\n| seconds | {result.seconds:.2f} |\n"
    )


def problem_line(result: SyncResult) -> str:
    """One line for the failure message: status, counts and the first errors."""
    if result.status == "refused":  # the message says it all: the board, the counts, what to do
        return f"{result.customer}: {result.message}"[:1000]
    errors = "; ".join(f"{f['code']}: {f['message']}" for f in first_failures(result, 3))
    detail = errors or result.message or "no detail"
    return (
        f"{result.customer}: {result.status} (failed {result.failed}, skipped {result.skipped}, "
        f"created {result.created}, updated {result.updated}) - {detail}"
    )[:1000]
