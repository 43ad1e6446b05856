"""Vectorised casts from raw cell text to ORDER_LIST types: numbers and text (dates: `dates.py`).

Each cast returns the typed values, a `placeholder` mask (TBC, TBA, 00/00/00 and the like: blank on
purpose) and its cell issues: per reason code, the cells that cannot be typed. Such a cell is NULL
in the typed values; the transform lists it with its original text, and its line is still loaded.
The common case (clean numbers, ISO dates, short text) takes one C-speed pass; only odd cells take
the slow path.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from operator import is_not

import numpy as np
import pandas as pd

from order_platform.schema import INT_RANGES, Column

PLACEHOLDERS = frozenset(
    {"TBC", "TBA", "TBD", "TBC.", "N/A", "NA", "-", "--", "?", "00/00/00", "00/00/0000", "0/0/00", "0/0/0000"}
)
# Excel's error values. calamine reads error cells as blank; the workbook reader puts their text back
# (ingest/excel_errors.py), so they reach the raw table as typed and are listed here, never loaded.
EXCEL_ERRORS = frozenset(
    {
        "#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
        "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!", "#PYTHON!",
    }
)  # fmt: skip
_LONGEST_ERROR = max(map(len, EXCEL_ERRORS))
_THOUSANDS_RE = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")

# Reason codes of cell issues (a cell published as NULL, its text kept in ORDER_LIST_CELL_ISSUES).
PLACEHOLDER = "PLACEHOLDER"  # TBC and the like: blank on purpose, listed but not a problem
NOT_A_NUMBER = "NOT_A_NUMBER"
NOT_A_WHOLE_NUMBER = "NOT_A_WHOLE_NUMBER"
OUT_OF_RANGE = "OUT_OF_RANGE"
VALUE_TOO_LONG = "VALUE_TOO_LONG"
EXCEL_ERROR = "EXCEL_ERROR"
EXCEL_ERROR_REASON = "an Excel error value (the cell's formula or reference is broken)"


@dataclass
class Cast:
    values: pd.Series  # typed; NULL where the cell is blank, a placeholder or an issue
    placeholder: np.ndarray  # bool per input row
    issues: dict[str, np.ndarray] = field(default_factory=dict)  # reason code -> bool per input row (disjoint)
    reasons: dict[str, str] = field(default_factory=dict)  # reason code -> why, for people

    @property
    def invalid(self) -> np.ndarray:
        """Cells that cannot be typed (any reason)."""
        out = np.zeros(len(self.values), dtype=bool)
        for mask in self.issues.values():
            out |= mask
        return out

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons[code] for code, mask in self.issues.items() if mask.any())


def issue_map(n: int, pairs: list[tuple[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """Reason code -> mask, keeping only codes with a cell (an empty dict in the usual, clean case)."""
    return {code: mask for code, mask in pairs if mask.any()} if n else {}


def is_excel_error(value: object) -> bool:
    return value.__class__ is str and len(value) <= _LONGEST_ERROR + 4 and value.strip().upper() in EXCEL_ERRORS


_NOT_NONE = partial(is_not, None)
# White space (\s is what str.strip() removes) next to a \x00 separator. Anchored on the literal \x00
# (with a look-behind for the space before it) so the regex engine jumps from separator to separator:
# ~5x faster than `\x00\s|\s\x00`, which tries the alternation at every character.
_EDGE_SPACE = re.compile(r"\x00(?:\s|(?<=\s\x00))")


def _joined(values: list) -> str | None:
    """The text cells joined between \\x00 separators (one C-speed pass); None when a cell is not text."""
    try:
        return "\x00" + "\x00".join(filter(_NOT_NONE, values)) + "\x00"
    except TypeError:  # something other than text or None: callers take the careful path
        return None


def _has_edge_space(joined: str) -> bool:
    return "\x00\x00" in joined or _EDGE_SPACE.search(joined) is not None


def _needs_strip(values: list) -> bool:
    """Whether any text is empty or has leading or trailing white space (one C-speed join, no loop)."""
    if not values:
        return False
    joined = _joined(values)
    return joined is None or _has_edge_space(joined)


def _strip_each(values: list) -> list:
    return [(v.strip() or None) if v.__class__ is str else (None if v is None or v != v else str(v)) for v in values]


def _present(text: pd.Series) -> np.ndarray:
    return ~pd.isna(text.to_numpy())  # on the array: no Series built


def _placeholder_mask(text: pd.Series) -> np.ndarray:
    return np.fromiter((_is_placeholder(v) for v in text.tolist()), dtype=bool, count=len(text))


def _is_placeholder(value: object) -> bool:
    return value.__class__ is str and len(value) <= 12 and value.strip().upper() in PLACEHOLDERS


def _odd_number(value: object) -> float:
    """`1,200`, `$3.50`, `15%`, ` 7 ` -> a float; anything else -> NaN."""
    text = str(value).strip().replace(" ", "").removeprefix("$")
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if _THOUSANDS_RE.match(text):
        text = text.replace(",", "")
    try:
        number = float(text)
    except ValueError:
        return np.nan
    return number / 100 if percent else number


def _no_mask(n: int) -> np.ndarray:
    return np.zeros(n, dtype=bool)


def _parse_number_array(text: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Numbers from text (`1,200`, ` 12 `, `15%`, `$3.50`) as arrays:
    (float64 values, not a number, placeholder, Excel error)."""
    cells = text.to_numpy(dtype=object)
    numbers = np.asarray(pd.to_numeric(cells, errors="coerce"), dtype="float64")
    if numbers is cells or not numbers.flags.writeable:
        numbers = numbers.copy()
    failed = np.isnan(numbers) & ~pd.isna(cells)
    placeholder = _no_mask(len(cells))
    blank = _no_mask(len(cells))
    error = _no_mask(len(cells))
    if failed.any():
        # Only the cells plain to_numeric could not read take the slow path, one by one.
        odd = cells[failed].tolist()
        numbers[failed] = [_odd_number(v) for v in odd]
        placeholder[failed] = [_is_placeholder(v) for v in odd]
        blank[failed] = [v.__class__ is str and not v.strip() for v in odd]  # spaces only
        error[failed] = [is_excel_error(v) for v in odd]
    invalid = failed & np.isnan(numbers) & ~placeholder & ~blank & ~error
    return numbers, invalid, placeholder, error


def cast_integer(text: pd.Series, column: Column) -> Cast:
    arr, not_number, placeholder, error = _parse_number_array(text)
    low, high = INT_RANGES[column.kind]
    missing = np.isnan(arr)
    rounded = np.round(arr)
    with np.errstate(invalid="ignore"):
        fractional = ~missing & (np.abs(arr - rounded) > 1e-9)
        out_of_range = ~missing & ~fractional & ((arr < low) | (arr > high))
    null = fractional | out_of_range | missing
    # Straight to Int64's data + mask (what Series(float).astype("Int64") builds, without the checks).
    data = np.where(null, 0.0, rounded).astype("int64")
    typed = pd.Series(pd.arrays.IntegerArray(data, null), index=text.index)
    issues = issue_map(
        len(arr),
        [
            (NOT_A_NUMBER, not_number),
            (NOT_A_WHOLE_NUMBER, fractional),
            (OUT_OF_RANGE, out_of_range),
            (EXCEL_ERROR, error),
        ],
    )
    reasons = {
        NOT_A_NUMBER: "not a number",
        NOT_A_WHOLE_NUMBER: "not a whole number",
        OUT_OF_RANGE: f"a whole number beyond {column.sql_server_type} ({low} to {high})",
        EXCEL_ERROR: EXCEL_ERROR_REASON,
    }
    return Cast(typed, placeholder, issues, reasons)


def _round_half_away_from_zero(values: np.ndarray, scale: int) -> np.ndarray:
    """Round as Excel's ROUND and SQL Server's DECIMAL do: 1.03125 -> 1.0313 (numpy rounds halves to even).

    A typed half is rarely exact in binary (12.34565 * 10**4 is 123456.49999999999); nudging by a few
    ulps rounds it up as typed, and moves nothing that is really below the half.
    """
    factor = 10.0**scale
    scaled = np.abs(values) * factor
    whole = np.floor(scaled)
    with np.errstate(invalid="ignore"):
        up = scaled - whole >= 0.5 - 4 * np.spacing(scaled)
        magnitude = np.where(scaled >= 2.0**52, scaled, whole + up) / factor  # 2**52 and above: whole already
    return np.copysign(magnitude, values)


def cast_decimal(text: pd.Series, column: Column) -> Cast:
    values, not_number, placeholder, error = _parse_number_array(text)
    rounded = _round_half_away_from_zero(values, column.scale or 0)
    limit = column.max_abs_decimal or float("inf")
    with np.errstate(invalid="ignore"):
        overflow = np.abs(rounded) >= limit
    issues = issue_map(len(values), [(NOT_A_NUMBER, not_number), (OUT_OF_RANGE, overflow), (EXCEL_ERROR, error)])
    reasons = {
        NOT_A_NUMBER: "not a number",
        OUT_OF_RANGE: f"a number too large for {column.sql_server_type}",
        EXCEL_ERROR: EXCEL_ERROR_REASON,
    }
    return Cast(pd.Series(np.where(overflow, np.nan, rounded), index=text.index), placeholder, issues, reasons)


def cast_text(text: pd.Series, column: Column) -> Cast:
    """Trimmed text; a value longer than the column or an Excel error value is an issue (NULL)."""
    raw = text.tolist()
    joined = _joined(raw)
    values = _strip_each(raw) if joined is None or _has_edge_space(joined) else raw
    n = len(values)
    too_long = _no_mask(n)
    limit = column.length
    if limit is not None and max(map(len, filter(None, values)), default=0) > limit:
        too_long = np.fromiter((v is not None and len(v) > limit for v in values), dtype=bool, count=n)
    error = _no_mask(n)
    if joined is None or "#" in joined:  # one C-speed look before a per-cell pass
        error = np.fromiter(map(is_excel_error, values), dtype=bool, count=n)
    issues = issue_map(n, [(VALUE_TOO_LONG, too_long), (EXCEL_ERROR, error)])
    if issues:
        values = [None if bad else v for v, bad in zip(values, too_long | error, strict=True)]
    reasons = {VALUE_TOO_LONG: f"longer than {column.sql_server_type} allows", EXCEL_ERROR: EXCEL_ERROR_REASON}
    if values is raw:  # clean text (the usual case): the raw column's own array, not a copy of its list
        typed = pd.Series(text.to_numpy(dtype=object), index=text.index, dtype=object, copy=False)
    else:
        typed = pd.Series(values, index=text.index, dtype=object)
    return Cast(typed, _no_mask(n), issues, reasons)
