"""Retiring a customer whose workbook is gone: plain Python behind `order-platform retire NAME`.

In order: its monday.com items are archived (a dry run without MONDAY_API_TOKEN: the plan is
stored and shown, nothing is sent); then its ORDER_LIST slice moves to ORDER_LIST_ARCHIVE, its
quarantine rows, raw and staging tables go, the load log says 'retired'; then the blob pointer to
its last good copy is dropped (content blobs stay). A live monday.com failure stops before the
database is touched, so the command can simply be run again. Dagster's side (removing the
customer's partition) belongs to the Dagster wiring (see the README).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from order_platform.ingest.blob import forget_customer, last_good
from order_platform.load.pipeline import OrderListPipeline
from order_platform.staging.customers import raw_table_name
from order_platform.warehouse.retire import archive_customer, customer_tables, slice_rows


class RetireRefused(Exception):
    """The customer cannot be retired as asked (workbook still there, unknown, monday.com failed)."""


@dataclass
class RetirePlan:
    customer: str
    order_list_rows: int
    tables: list[str]
    blob: str | None
    last_status: str | None

    def describe(self) -> str:
        return (
            f"{self.customer}: archive {self.order_list_rows:,} ORDER_LIST rows to ORDER_LIST_ARCHIVE, "
            f"drop {', '.join(self.tables) or 'no tables'}, archive its monday.com items, "
            f"forget its blob pointer{f' ({self.blob})' if self.blob else ''}"
        )


@dataclass
class RetireResult:
    customer: str
    archived_rows: int = 0
    dropped_tables: list[str] = field(default_factory=list)
    monday: dict[str, Any] = field(default_factory=dict)
    blob_pointer_removed: bool = False


def plan_retirement(pipeline: OrderListPipeline, customer: str) -> RetirePlan:
    """What retiring would do; refuses a customer whose workbook is still in the source."""
    store = pipeline.store
    listing = pipeline.workbooks()
    if customer in listing:
        paths = ", ".join(r.path for r in listing[customer])
        raise RetireRefused(
            f"{customer}'s workbook is still in {pipeline.source.describe()} ({paths}); remove it first, "
            "or the next refresh loads the customer again"
        )
    latest = store.last_load(customer)
    rows = slice_rows(store, customer)
    if latest is None and rows == 0:
        raise RetireRefused(f"{customer} has never been loaded; nothing to retire")
    pointer = last_good(pipeline.blobs, customer)
    return RetirePlan(
        customer,
        rows,
        customer_tables(store, customer),
        pointer["blob"] if pointer else None,
        latest["status"] if latest else None,
    )


def archive_board_items(pipeline: OrderListPipeline, customer: str, client: Any = None) -> dict[str, Any]:
    """Archive the customer's monday.com items through the normal sync with an empty slice (every line
    gone: archived). `client` None = dry run. The empty-slice guard is lifted: this is on purpose."""
    from order_platform.monday import load_board_config, sync_customer

    config = load_board_config()
    sync = config.sync.model_copy(update={"archive_guard_fraction": 1.0})
    config = config.model_copy(update={"sync": sync})
    lines = pipeline.store.order_list_slice(raw_table_name(customer)).iloc[0:0]
    result = sync_customer(pipeline.store.engine, customer, lines, client, config=config)
    if not result.ok:
        raise RetireRefused(
            f"archiving {customer}'s monday.com items failed ({result.message or result.status}); "
            "nothing else was changed, run the command again"
        )
    return {"dry_run": result.dry_run, "archived": result.archived, "status": result.status}


def retire_customer(
    pipeline: OrderListPipeline, customer: str, *, monday_client: Any = None, reason: str | None = None
) -> RetireResult:
    plan = plan_retirement(pipeline, customer)
    result = RetireResult(customer)
    result.monday = archive_board_items(pipeline, customer, monday_client)
    archived = archive_customer(
        pipeline.store, customer, reason or f"retired: workbook gone (last status {plan.last_status})"
    )
    result.archived_rows, result.dropped_tables = archived.archived_rows, archived.dropped_tables
    result.blob_pointer_removed = forget_customer(pipeline.blobs, customer)
    return result
