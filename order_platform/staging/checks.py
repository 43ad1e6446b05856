"""Data-quality checks on a customer's staged load, as plain data the assets turn into asset checks.

Blocking checks stop a load before ORDER_LIST; warnings are reported and the load goes on.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from order_platform.schema import KEY_COLUMN, REQUIRED_KEY_COLUMNS, OrderListSchema
from order_platform.staging.cell_issues import issue_counts
from order_platform.staging.transform import StagingResult

# Check names (the asset checks on staged_order_list carry these names).
CHECK_ROWS_ACCOUNTED_FOR = "rows_accounted_for"
CHECK_KEY_COLUMNS_PRESENT = "key_columns_present"
CHECK_TOTAL_QTY_MATCHES_SIZES = "total_qty_matches_sizes"
CHECK_NO_UNKNOWN_HEADERS = "no_unknown_headers"
CHECK_NO_CELL_ISSUES = "no_cell_issues"


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
            CHECK_ROWS_ACCOUNTED_FOR,
            accounted,
            True,
            f"raw {result.raw_rows:,} = staged {staged:,} + quarantined {quarantined:,}"
            if accounted
            else f"raw {result.raw_rows:,} != staged {staged:,} + quarantined {quarantined:,}",
            {"raw_rows": result.raw_rows, "staged_rows": staged, "quarantined_rows": quarantined},
        )
    ]
    mapped = {schema.canonical_for(h) for h in headers}
    missing = [k for k in REQUIRED_KEY_COLUMNS if k not in mapped]
    duplicate_ids = int(result.staged[KEY_COLUMN].duplicated().sum()) if staged else 0
    key_ok = not missing and duplicate_ids == 0
    checks.append(
        CheckOutcome(
            CHECK_KEY_COLUMNS_PRESENT,
            key_ok,
            True,
            "key columns present, line ids unique"
            if key_ok
            else "; ".join(
                part
                for part in (
                    f"missing key column(s): {', '.join(missing)}" if missing else "",
                    f"{duplicate_ids:,} duplicate line id(s)" if duplicate_ids else "",
                )
                if part
            ),
            {"missing": missing, "duplicate_line_ids": duplicate_ids},
        )
    )
    mismatches = result.total_qty_mismatches
    checks.append(
        CheckOutcome(
            CHECK_TOTAL_QTY_MATCHES_SIZES,
            not mismatches,
            False,
            "TOTAL QTY equals the sum of sizes on every line"
            if not mismatches
            else f"{len(mismatches):,} line(s) where TOTAL QTY differs from the sum of sizes",
            {"rows": mismatches[:50], "count": len(mismatches)},
        )
    )
    unknown = result.unknown_headers
    checks.append(
        CheckOutcome(
            CHECK_NO_UNKNOWN_HEADERS,
            not unknown,
            False,
            "every header maps to ORDER_LIST"
            if not unknown
            else f"{len(unknown):,} header(s) not in the schema, kept in _EXTRA_COLUMNS: {', '.join(unknown)}",
            {"unknown_headers": unknown},
        )
    )
    checks.append(cell_issues_check(result))
    return checks


def cell_issues_check(result: StagingResult) -> CheckOutcome:
    """Warning: cells not loaded as written (NULL because they cannot be typed, or a CUSTOMER NAME naming
    another customer); placeholders such as TBC are listed too, as deliberate blanks, but do not fail
    it. Details: counts by column and reason, lines, placeholders, a sample."""
    counts = issue_counts(result.cell_issues)
    total = sum(counts["by_reason"].values())
    lines = counts["lines"]
    return CheckOutcome(
        CHECK_NO_CELL_ISSUES,
        total == 0,
        False,
        "every cell typed, blank or a placeholder"
        if total == 0
        else f"{total:,} cell issue(s) on {lines:,} line(s), the lines loaded: values not loaded as written "
        f"(NULL; a CUSTOMER NAME naming another customer reads as this one), listed in ORDER_LIST_CELL_ISSUES "
        f"and the line's _CELL_ISSUES; by reason: {in_words(counts['by_reason'])}",
        counts,
    )


def in_words(counts: dict[str, int]) -> str:
    """`{'PARTIAL_DATE': 1, 'NOT_A_NUMBER': 3}` -> `not a number 3, partial date 1` (largest first)."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{code.replace('_', ' ').lower()} {n:,}" for code, n in ordered) or "none"


def blocking_failures(checks: list[CheckOutcome]) -> list[CheckOutcome]:
    return [c for c in checks if c.blocking and not c.passed]
