"""Which customers' workbooks changed since their last load, judged by the source's version token."""

from __future__ import annotations

from order_platform.ingest.source import WorkbookRef


def listing_version(refs: list[WorkbookRef]) -> str:
    """One token for a customer's workbook(s); two files for one customer is an error the run reports."""
    return "|".join(sorted(r.version for r in refs))


def changed_customers(listing: dict[str, list[WorkbookRef]], latest_loads: dict[str, dict]) -> dict[str, str]:
    """customer -> current version, for customers never loaded or whose source version moved on."""
    changed: dict[str, str] = {}
    for customer, refs in listing.items():
        version = listing_version(refs)
        last = latest_loads.get(customer)
        if last is None or last.get("source_version") != version:
            changed[customer] = version
    return changed
