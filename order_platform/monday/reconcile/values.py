"""What a cell shows: the API value the planner sends (plan/payloads.py) as the `text` monday.com reads
back, and the comparison of the two.

Compared on `text`, not `value`: monday.com's `value` carries its own ids and timestamps (label ids,
`changed_at`), while `text` is what people see: text and numbers as written, a date as YYYY-MM-DD, a
long text's text, a status' label, a dropdown's labels joined by ", ".
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

BLANK = ""


def shown_text(monday_type: str, value: Any) -> str:
    """The `text` of a cell holding this API value (None: blank)."""
    if value is None:
        return BLANK
    if isinstance(value, dict):
        if "date" in value:
            return str(value["date"] or "")
        if "text" in value:
            return str(value["text"] or "")
        if "label" in value:
            return str(value["label"] or "")
        if "labels" in value:
            return ", ".join(str(v) for v in value["labels"] or [])
        return BLANK
    return str(value)


def same(monday_type: str, board_text: str | None, expected_text: str) -> bool:
    """Whether the board shows the expected text (numbers compared as numbers, text trimmed)."""
    board = (board_text or "").strip()
    expected = expected_text.strip()
    if board == expected:
        return True
    if monday_type == "numbers" and board and expected:
        try:
            return Decimal(board) == Decimal(expected)
        except InvalidOperation:
            return False
    return False


def subitem_quantity(text: str | None) -> int | None:
    """A subitem's quantity cell as an integer (None when blank or not a whole number)."""
    try:
        number = Decimal((text or "").strip())
    except InvalidOperation:
        return None
    return int(number) if number == number.to_integral_value() else None
