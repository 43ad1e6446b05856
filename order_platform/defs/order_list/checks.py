"""The ORDER_LIST checks, evaluated and stored per customer (partitioned asset checks).

Each customer of a run gets its own evaluation of every selected check, so a check's page shows each
customer's latest result and its history, and one customer's result never hides another's. The
outcomes are computed in plain Python (`staging/checks.py`, `pipeline.py`); this module names them
for Dagster.
"""

from __future__ import annotations

from collections.abc import Iterator

import dagster as dg

from order_platform.defs.formatting import by_column, by_reason, count, listing
from order_platform.defs.order_list.assets import ORDER_LIST_SLICE, STAGED_ORDER_LIST
from order_platform.defs.order_list.metadata import markdown_table
from order_platform.defs.partitions import customer_partitions
from order_platform.load.pipeline import PUBLISHED_MATCHES_STAGED
from order_platform.load.report import CustomerReport
from order_platform.staging.checks import (
    CHECK_KEY_COLUMNS_PRESENT,
    CHECK_NO_CELL_ISSUES,
    CHECK_NO_UNKNOWN_HEADERS,
    CHECK_ROWS_ACCOUNTED_FOR,
    CHECK_TOTAL_QTY_MATCHES_SIZES,
    CheckOutcome,
)

# check name -> (asset, blocking, description)
CHECKS: dict[str, tuple[dg.AssetKey, bool, str]] = {
    CHECK_ROWS_ACCOUNTED_FOR: (
        STAGED_ORDER_LIST,
        True,
        "Every data row of the workbook is staged or quarantined: raw = staged + quarantined.",
    ),
    CHECK_KEY_COLUMNS_PRESENT: (
        STAGED_ORDER_LIST,
        True,
        "AAG ORDER NUMBER, PLANNED DELIVERY METHOD and CUSTOMER STYLE are present; line ids are unique.",
    ),
    CHECK_TOTAL_QTY_MATCHES_SIZES: (
        STAGED_ORDER_LIST,
        False,
        "TOTAL QTY equals the sum of the size columns (a warning: the line is still loaded).",
    ),
    CHECK_NO_UNKNOWN_HEADERS: (
        STAGED_ORDER_LIST,
        False,
        "Every header maps to ORDER_LIST (a warning: unknown headers are kept in _EXTRA_COLUMNS).",
    ),
    CHECK_NO_CELL_ISSUES: (
        STAGED_ORDER_LIST,
        False,
        "Every cell of a published line is typed, blank or a placeholder (a warning: a cell that could not be "
        "loaded as written is NULL, listed in ORDER_LIST_CELL_ISSUES and on the line's _CELL_ISSUES).",
    ),
    PUBLISHED_MATCHES_STAGED: (
        ORDER_LIST_SLICE,
        True,
        "The published slice, counted in ORDER_LIST inside the publishing transaction, has exactly the "
        "staged rows; otherwise the publish is rolled back and the old slice stays.",
    ),
}


def order_list_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            name,
            asset=asset,
            blocking=blocking,
            description=description,
            partitions_def=customer_partitions,
        )
        for name, (asset, blocking, description) in CHECKS.items()
    ]


def check_evaluations(
    report: CustomerReport, selected: set[dg.AssetCheckKey]
) -> Iterator[dg.AssetCheckEvaluation]:
    """One evaluation per selected check the customer's run evaluated, tagged with its partition."""
    for outcome in report.checks:
        spec = CHECKS.get(outcome.name)
        if spec is None:
            continue
        asset, blocking, _ = spec
        if dg.AssetCheckKey(asset, outcome.name) not in selected:
            continue
        yield evaluation(asset, outcome, report.customer, blocking)


def evaluation(
    asset: dg.AssetKey, outcome: CheckOutcome, customer: str, blocking: bool
) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=asset,
        check_name=outcome.name,
        passed=outcome.passed,
        partition=customer,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        blocking=blocking,
        description=outcome.summary,
        metadata=_details(outcome.details),  # the summary is the evaluation's description
    )


def _details(details: dict) -> dict[str, dg.MetadataValue]:
    """A check's figures as a person reads them: counts with separators, lists and reasons as text,
    sample rows as a table (JSON only for what has no plainer form)."""
    values: dict[str, dg.MetadataValue] = {}
    for key, value in details.items():
        if isinstance(value, bool):
            values[key] = dg.MetadataValue.bool(value)
        elif isinstance(value, int):
            values[key] = count(value)
        elif isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            values[key] = dg.MetadataValue.text(listing([str(v) for v in value]))
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            values[key] = markdown_table(value, limit=None)
        elif isinstance(value, dict) and all(isinstance(v, int) for v in value.values()):
            values[key] = dg.MetadataValue.text(by_reason(value))
        elif isinstance(value, dict) and all(isinstance(v, dict) for v in value.values()):
            values[key] = dg.MetadataValue.text(by_column(value))
        else:
            values[key] = dg.MetadataValue.json(value if isinstance(value, (list, dict)) else str(value))
    return values
