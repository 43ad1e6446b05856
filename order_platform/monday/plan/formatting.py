"""ORDER_LIST values -> monday.com column values, formatted exactly as the API expects per column type.

A value that cannot be formatted raises FormatError; the payload builder then clears that cell (the
line still goes to the board) and records a cell issue. `None` means blank (omitted on create,
cleared with `null` on update).

Rules (README, "monday.com delivery"):
- Numbers are parsed where the intent is clear: thousands separators in groups of three (`1,200`),
  one currency sign or code before or after (`$2.50`, `US$ 3`, `2.50 USD`, `€4`), a sign before
  or after the currency (`-$2.50`), accounting negatives (`(2.50)` is -2.5), and a trailing `%`,
  read as Excel reads it (`12%` is 0.12). Anything else (`V137`, `TBC`, `1,20`, `1.2.3`) is
  NOT_A_NUMBER.
- Size quantities are whole numbers, `1,200` included; anything else is BAD_QUANTITY.
- Formula-like text never reaches the board as a formula: a text, long text, dropdown or status
  value, an item name or a group title whose first character (after leading spaces, tabs, CR and
  LF are trimmed) is `=`, `+`, `-`, `@` (or their full-width forms) gets a leading apostrophe
  (`=HYPERLINK(...)` -> `'=HYPERLINK(...)`), unless the whole text is a plain number (`-5`, `+1.5`).
"""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal, InvalidOperation
from typing import Any

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)$")
_GROUPED_NUMBER = re.compile(r"^(\d{1,3}(,\d{3})+|\d+)(\.\d*)?$|^\.\d+$")
_CURRENCY = re.compile(
    r"^(?:[A-Z]{0,3}\$|€|£|¥|(?:USD|AUD|NZD|CAD|EUR|GBP|HKD|CNY|JPY)(?![A-Z]))\s*|"
    r"\s*(?:[A-Z]{0,3}\$|€|£|¥|(?:USD|AUD|NZD|CAD|EUR|GBP|HKD|CNY|JPY))$"
)
FORMULA_STARTS = frozenset("=+-@\uff1d\uff0b\uff0d\uff20")
NEUTRALISED = "FORMULA_NEUTRALISED"


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
        number = parse_number_text(value)
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


def parse_number_text(value: str) -> Decimal:
    """A number typed as text, by the module's rule (`1,200`, `$2.50`, `(2.50)`, `12%`)."""
    text = value.strip()
    try:
        return Decimal(text) if _PLAIN_NUMBER.match(text) else _parse_loose(text)
    except (InvalidOperation, ValueError):
        raise FormatError("NOT_A_NUMBER", f"text {text[:50]!r} is not a number") from None


def _parse_loose(text: str) -> Decimal:
    negative = False
    if text.startswith("(") and text.endswith(")"):
        negative, text = True, text[1:-1].strip()
    percent = text.endswith("%")
    if percent:
        text = text[:-1].strip()
    sign = ""
    if text[:1] in ("+", "-"):
        sign, text = text[0], text[1:].strip()
    stripped = _CURRENCY.sub("", text, count=1)
    if stripped != text and stripped[:1] in ("+", "-") and not sign:
        sign, stripped = stripped[0], stripped[1:]
    text = stripped.strip()
    if not _GROUPED_NUMBER.match(text):
        raise ValueError(text)
    number = Decimal(text.replace(",", ""))
    if percent:
        number = number / 100
    if negative != (sign == "-"):
        number = -number
    return number


def is_formula_like(text: str) -> bool:
    """True when `text` (already trimmed) would start a spreadsheet formula and is not a plain number."""
    return bool(text) and text[0] in FORMULA_STARTS and not _PLAIN_NUMBER.match(text)


def neutralise(text: str) -> str:
    """`text` with a leading apostrophe when it is formula-like (see the module's rule)."""
    return "'" + text if is_formula_like(text) else text


def neutralise_value(monday_type: str, value: Any) -> tuple[Any, bool]:
    """The API value with its text neutralised, and whether anything changed."""
    if value is None:
        return None, False
    if monday_type == "text":
        out = neutralise(value)
        return out, out is not value
    if monday_type == "long_text":
        out = neutralise(value["text"])
        return ({"text": out}, True) if out is not value["text"] else (value, False)
    if monday_type == "status":
        out = neutralise(value["label"])
        return ({"label": out}, True) if out is not value["label"] else (value, False)
    if monday_type == "dropdown":
        labels = [neutralise(label) for label in value["labels"]]
        changed = any(a is not b for a, b in zip(labels, value["labels"], strict=True))
        return ({"labels": labels}, True) if changed else (value, False)
    return value, False


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
    """The API value for one column (formula-like text neutralised), or None when blank.

    Raises FormatError when it cannot fit."""
    return neutralise_value(monday_type, format_raw(monday_type, value, long_text_max=long_text_max))[0]


def format_raw(monday_type: str, value: Any, *, long_text_max: int = 2000) -> Any:
    """format_value without the formula rule."""
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
    text = value.strip() if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str) and _GROUPED_NUMBER.match(text) and "," in text:
        text = text.replace(",", "")  # 1,200
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
    return neutralise(name[:max_chars].rstrip())
