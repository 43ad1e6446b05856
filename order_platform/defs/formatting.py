"""Figures and reasons as a person reads them in the UI: `20,191` rather than `20191`, `41,176 rows/s`
rather than `41175.8`, `partial date 1, not a number 3` rather than `{'PARTIAL_DATE': 1, ...}`.

The UI prints an int or float metadata value as it is stored, so counts are stored as text with
thousands separators. `dagster/row_count` stays an int (the UI formats it itself and plots it).
"""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg


def number(value: float | int | None, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "-"
    text = f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"
    return f"{text} {unit}".strip()


def count(value: int | None, unit: str = "") -> dg.TextMetadataValue:
    return dg.MetadataValue.text(number(value, unit))


def seconds(value: float) -> dg.TextMetadataValue:
    return dg.MetadataValue.text(number(value, "s", 2 if value < 10 else 1))


def rate(value: float, unit: str = "rows/s") -> dg.TextMetadataValue:
    return dg.MetadataValue.text(number(value, unit))


def size(value: int) -> dg.TextMetadataValue:
    for limit, name in ((1 << 30, "GB"), (1 << 20, "MB"), (1 << 10, "KB")):
        if value >= limit:
            return dg.MetadataValue.text(f"{value / limit:,.1f} {name} ({value:,} bytes)")
    return dg.MetadataValue.text(f"{value:,} bytes")


def reason(code: str) -> str:
    """`PARTIAL_DATE` -> `partial date`."""
    return code.replace("_", " ").lower()


def by_reason(counts: Mapping[str, int]) -> str:
    """`{'PARTIAL_DATE': 1, 'NOT_A_NUMBER': 3}` -> `not a number 3, partial date 1` (largest first)."""
    if not counts:
        return "none"
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{reason(k)} {number(v)}" for k, v in ordered)


def listing(values: list[str] | tuple[str, ...], limit: int = 20) -> str:
    """`['A', 'B']` -> `A, B` (and `... and 3 more`)."""
    if not values:
        return "none"
    shown = ", ".join(str(v) for v in values[:limit])
    return shown + (f" ... and {len(values) - limit} more" if len(values) > limit else "")


def by_column(counts: Mapping[str, Mapping[str, int]]) -> str:
    """`{'EX FACTORY DATE': {'PARTIAL_DATE': 2}}` -> `EX FACTORY DATE: partial date 2` (one column a line)."""
    if not counts:
        return "none"
    return "\n".join(f"{column}: {by_reason(reasons)}" for column, reasons in sorted(counts.items()))


def by_name(counts: Mapping[str, int]) -> str:
    """`{'CUSTOMER PRICE': 88, 'ORDER DATE': 195}` -> `ORDER DATE 195, CUSTOMER PRICE 88` (names as written)."""
    if not counts:
        return "none"
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ", ".join(f"{k} {number(v)}" for k, v in ordered)


def lines(values: list[str] | tuple[str, ...]) -> str:
    """Notes one a line; `none` when there are none."""
    return "\n".join(str(v) for v in values) or "none"
