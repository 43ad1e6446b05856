"""A sheet's numbers and dates as the workbook holds them, so the casts need not read them back from text.

The raw table keeps every cell as text, and a layer rebuilt from it reads numbers and dates from that
text. When the raw layer was just read from the workbook, calamine's own values are at hand: a number's
text (`ingest.workbook.cell_text`) reads back as the same number, and an Excel date's ISO text as the
same date, so the casts take those cells as they are (each distinct cell converted once, by a dict
look-up per cell) and read only the other cells (text, and dates outside the years) from their text.
The typed values, placeholders and cell issues are the same either way.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date, datetime

import numpy as np

from order_platform.staging.dates import FIRST_YEAR, LAST_YEAR

_NAT = np.iinfo(np.int64).min  # NaT as datetime64's int64
_FIRST_DAY, _AFTER_LAST_DAY = datetime(FIRST_YEAR, 1, 1), datetime(LAST_YEAR + 1, 1, 1)
_EPOCH = datetime(1970, 1, 1)


class _Numbers(dict):
    """cell -> its number if calamine read a finite number (-0.0 as 0.0, as its text `0` reads), else NaN."""

    def __missing__(self, cell: object) -> float:
        number = self[cell] = cell + 0.0 if cell.__class__ is float and math.isfinite(cell) else math.nan
        return number


class _Dates(dict):
    """cell -> nanoseconds since 1970 if calamine read a date or date-time within the years, else NaT."""

    def __missing__(self, cell: object) -> int:
        when = datetime(cell.year, cell.month, cell.day) if isinstance(cell, date) else None
        if isinstance(cell, datetime):
            when = cell
        if when is not None and _FIRST_DAY <= when < _AFTER_LAST_DAY:
            delta = when - _EPOCH
            nanoseconds = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
        else:
            nanoseconds = _NAT
        self[cell] = nanoseconds
        return nanoseconds


class NativeCells:
    """Raw header -> the column's cells as calamine read them (one per raw row), for the columns that hold
    more than text. Only str, float, date, datetime, time and timedelta cells: a dict cannot tell `True`
    from `1.0` (equal values), so a column with booleans or integers is left out by the reader."""

    def __init__(self, columns: Mapping[str, Sequence[object]]) -> None:
        self.columns = columns
        self._numbers = _Numbers()  # shared by the sheet's columns: they repeat each other's values
        self._dates = _Dates()

    def __contains__(self, header: object) -> bool:
        return header in self.columns

    def numbers(self, header: str) -> np.ndarray:
        """float64 per row: the cell's number where calamine read a number, NaN elsewhere."""
        cells = self.columns[header]
        return np.fromiter(map(self._numbers.__getitem__, cells), dtype=np.float64, count=len(cells))

    def dates(self, header: str) -> np.ndarray:
        """datetime64[ns] per row: the cell's date (and time) where calamine read one from FIRST_YEAR to
        LAST_YEAR, NaT elsewhere (other years are refused by the text cast, with its reason)."""
        cells = self.columns[header]
        ns = np.fromiter(map(self._dates.__getitem__, cells), dtype=np.int64, count=len(cells))
        return ns.view("datetime64[ns]")
