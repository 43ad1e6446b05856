"""Data-quality checks on a customer's staged load, as plain data the assets turn into asset checks.

Blocking checks stop a load before ORDER_LIST; warnings are reported and the load goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from order_platform.schema import KEY_COLUMN, OrderListSchema
from order_platform.staging.transform import StagingResult

KEY_HEADERS = ("AAG ORDER NUMBER", "PLANNED DELIVERY METHOD", "CUSTOMER STYLE")

ROWS_ACCOUNTED = "rows_accounted_for"
KEY_COLUMNS = "key_columns_present"
TOTAL_QTY_MATCHES = "total_qty_matches_sizes"
UNKNOWN_HEADERS = "no_unknown_headers"


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    blocking: bool
    summary: str
    details: dict = field(default_factory=dict)


def staging_checks(result: StagingResult, headers: list[str], schema: OrderListSchema) -> list[CheckOutcome]:
    staged = len(result.staged)
    quarantined = result.quarantined_rows
    accounted = staged + quarantined == result.raw_rows
    checks = [
        CheckOutcome(
            ROWS_ACCOUNTED,
            accounted,
            True,
            f"raw {result.raw_rows} = staged {staged} + quarantined {quarantined}"
            if accounted
            else f"raw {result.raw_rows} != staged {staged} + quarantined {quarantined}",
            {"raw_rows": result.raw_rows, "staged_rows": staged, "quarantined_rows": quarantined},
        )
    ]
    mapped = {schema.canonical_for(h) for h in headers}
    missing = [k for k in KEY_HEADERS if k not in mapped]
    duplicate_ids = int(result.staged[KEY_COLUMN].duplicated().sum()) if staged else 0
    key_ok = not missing and duplicate_ids == 0
    checks.append(
        CheckOutcome(
            KEY_COLUMNS,
            key_ok,
            True,
            "key columns present, line ids unique"
            if key_ok
            else f"missing key columns {missing}; {duplicate_ids} duplicate line ids",
            {"missing": missing, "duplicate_line_ids": duplicate_ids},
        )
    )
    mismatches = result.total_qty_mismatches
    checks.append(
        CheckOutcome(
            TOTAL_QTY_MATCHES,
            not mismatches,
            False,
            "TOTAL QTY equals the sum of sizes on every line"
            if not mismatches
            else f"{len(mismatches)} line(s) where TOTAL QTY differs from the sum of sizes",
            {"rows": mismatches[:50], "count": len(mismatches)},
        )
    )
    unknown = result.unknown_headers
    checks.append(
        CheckOutcome(
            UNKNOWN_HEADERS,
            not unknown,
            False,
            "every header maps to ORDER_LIST"
            if not unknown
            else f"{len(unknown)} header(s) not in the schema, kept in _EXTRA_COLUMNS: {unknown}",
            {"unknown_headers": unknown},
        )
    )
    return checks


def blocking_failures(checks: list[CheckOutcome]) -> list[CheckOutcome]:
    return [c for c in checks if c.blocking and not c.passed]
