"""Values of ORDER_LIST as text, the same way whichever driver read them (SQLite, SQL Server)."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any


def as_text(value: Any) -> str | None:
    """`12`, `2.5`, `2025-03-01`, text as is; None for NULL. 12.0 and Decimal('12.0000') are `12`."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value != value:
            return None
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, Decimal):
        text = format(value.normalize(), "f")
        return text
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def line_snapshot(columns: list[str], values: tuple | list) -> str:
    """A line's non-blank values as JSON (column -> text), in column order."""
    kept = {c: t for c, v in zip(columns, values, strict=True) if (t := as_text(v)) is not None}
    return json.dumps(kept, ensure_ascii=False)
