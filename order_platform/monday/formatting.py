"""ORDER_LIST values -> monday.com column values, formatted exactly as the API expects per column type.

A value that cannot be formatted raises FormatError: the record fails, nothing is sent as garbage.
`None` means blank (omitted on create, cleared on update).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class FormatError(ValueError):
    """A value that does not fit its monday column; `code` is stored with the failed record."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_blank(value: Any) -> bool:
    """None, pandas NA/NaT, float NaN, or a whitespace-only string."""
    if value is None:
        return True
    if isinstance(value, str):
        return not value.strip()
    if isinstance(value, float):
        return math.isnan(value)
    # pandas.NA / NaT without importing pandas: both are "not equal to themselves" or ambiguous.
    name = type(value).__name__
    return name in {"NAType", "NaTType"}


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.datetime):
        return value.date().isoformat() if value.time() == dt.time() else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int | float | Decimal) or hasattr(value, "item"):
        return format_number(value)
    return str(value).strip()


def format_number(value: Any) -> str:
    """A plain decimal string ("42.5", "12", "0.0001"): no exponent, no trailing zeros."""
    if hasattr(value, "item") and not isinstance(value, str):  # numpy scalar
        value = value.item()
    if isinstance(value, bool):
        raise FormatError("NOT_A_NUMBER", f"boolean {value!r} is not a number")
    if isinstance(value, str):
        text = value.strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise FormatError("NOT_A_NUMBER", f"text {text[:50]!r} is not a number") from None
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, float):
        if not math.isfinite(value):
            raise FormatError("NOT_A_NUMBER", f"{value!r} is not a finite number")
        text = repr(value)
        if "e" not in text:  # plain digits: what format(Decimal(text), "f") gives back
            text = text.rstrip("0").rstrip(".")
            return "0" if text in {"-0", ""} else text
        number = Decimal(text)
    elif isinstance(value, Decimal):
        number = value
    else:
        raise FormatError("NOT_A_NUMBER", f"{type(value).__name__} {value!r} is not a number")
    if not number.is_finite():
        raise FormatError("NOT_A_NUMBER", f"{value!r} is not a finite number")
    text = format(number, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in {"-0", ""} else text


def _format_date(value: Any) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        return {"date": value.date().isoformat()}
    if isinstance(value, dt.date):
        return {"date": value.isoformat()}
    if hasattr(value, "to_pydatetime"):  # pandas Timestamp
        return {"date": value.to_pydatetime().date().isoformat()}
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return {"date": dt.date.fromisoformat(value.strip()).isoformat()}
        except ValueError:
            pass
    raise FormatError("NOT_A_DATE", f"{str(value)[:50]!r} is not a date")


def format_value(monday_type: str, value: Any, *, long_text_max: int = 2000) -> Any:
    """The API value for one column, or None when blank. Raises FormatError when it cannot fit."""
    if is_blank(value):
        return None
    if monday_type == "text":
        return _as_text(value)
    if monday_type == "numbers":
        return format_number(value)
    if monday_type == "date":
        return _format_date(value)
    if monday_type == "dropdown":
        labels = value if isinstance(value, list | tuple) else [value]
        clean = [_as_text(v) for v in labels if not is_blank(v)]
        return {"labels": clean} if clean else None
    if monday_type == "long_text":
        text = _as_text(value)
        if len(text) > long_text_max:
            raise FormatError("TEXT_TOO_LONG", f"long text of {len(text)} chars exceeds {long_text_max}")
        return {"text": text}
    if monday_type == "status":
        return {"label": _as_text(value)}
    raise FormatError("UNSUPPORTED_TYPE", f"column type {monday_type!r} is not supported")


def format_quantity(value: Any) -> int:
    """A size quantity as an int (12.0 -> 12); blank -> 0; fractions or text are errors."""
    if is_blank(value):
        return 0
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, bool):
        raise FormatError("BAD_QUANTITY", f"quantity {value!r} is not a whole number")
    if isinstance(value, int):
        return value
    text = (
        value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    )
    try:
        number = Decimal(text)
    except InvalidOperation:
        raise FormatError("BAD_QUANTITY", f"quantity {str(value)[:50]!r} is not a number") from None
    if not number.is_finite() or number != number.to_integral_value():
        raise FormatError("BAD_QUANTITY", f"quantity {value!r} is not a whole number")
    return int(number)


def build_name(row: dict[str, Any], parts: list[list[str]], separator: str, max_chars: int) -> str:
    """Join the first non-blank column of each part; truncated to `max_chars`. Empty -> FormatError."""
    pieces: list[str] = []
    for candidates in parts:
        for column in candidates:
            value = row.get(column)
            if not is_blank(value):
                pieces.append(_as_text(value))
                break
    name = separator.join(p for p in pieces if p).strip()
    if not name:
        raise FormatError("EMPTY_NAME", f"no value in any of {parts}")
    return name[:max_chars].rstrip()
