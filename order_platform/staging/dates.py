"""Dates from raw cell text: Excel dates, ISO, Excel serials, `dd/mm/yyyy` or `mm/dd/yyyy`, spelled months.

Text like `04/05/2025` means 4 May or 5 April depending on who typed it. The order is decided once per
workbook for all its date columns (`date_order.py`), from the evidence `day_month_evidence` counts;
`cast_date` reads every cell in that order, and a cell that only makes sense in the other order
(`05/14/2025` in a day-first workbook) is a cell issue, never silently read the other way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from order_platform.schema import Column
from order_platform.staging.casting import (
    EXCEL_ERROR,
    EXCEL_ERROR_REASON,
    Cast,
    _joined,
    _needs_strip,
    _no_mask,
    _placeholder_mask,
    _present,
    _strip_each,
    is_excel_error,
    issue_map,
)

_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})\s*$")
# The same, over a column joined between \x00 separators (one C-speed pass to gather the evidence).
_DMY_CELLS = re.compile(r"\x00\s*(\d{1,2})[/.-](\d{1,2})[/.-](?:\d{2}|\d{4})\s*(?=\x00)")
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
# Order dates outside these years are typos (3025 for 2025, or a quantity, week or year typed in a
# date column, which Excel would read as a day in 1900-1989): cell issues, never loaded, and they
# never reach pandas' datetime64[ns] limits (1677-2262), which would fail the whole customer.
FIRST_YEAR, LAST_YEAR = 1990, 2200
# Excel's rule for two-digit years: 00-29 are 2000-2029, 30-99 are 1930-1999.
_CENTURY_PIVOT = 30
# A full ISO date is at least `2025-3-1`; pandas also reads `2025` and `2025-03` as ISO (the 1st of
# January or of March), which no one means in a date column.
_SHORTEST_ISO_DATE = 8
_FIRST_DAY, _AFTER_LAST_DAY = pd.Timestamp(f"{FIRST_YEAR}-01-01"), pd.Timestamp(f"{LAST_YEAR + 1}-01-01")
_FIRST_SERIAL, _LAST_SERIAL = (_FIRST_DAY - EXCEL_EPOCH).days, (_AFTER_LAST_DAY - EXCEL_EPOCH).days - 1
# Dates written year first with slashes or dots (2025/03/01), or with a month name (1-Mar-2025,
# 05 Apr 25, March 5, 2025). Strict on purpose: a month name alone is not a date.
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_SPELLED_DATE = (
    rf"(?i)^\s*(?:\d{{4}}[/.]\d{{1,2}}[/.]\d{{1,2}}|\d{{1,2}}[\s-]+{_MONTH}[\s-]+\d{{2,4}}"
    rf"|{_MONTH}\s+\d{{1,2}},?\s+\d{{4}})\s*$"
)
# A year, or a year and a month, without the day: `2025`, `2025-03`, `03/2025`, `Mar 2025`, `Mar-25`.
_PARTIAL_DATE = re.compile(
    rf"(?i)^\s*(?:(?:19|20|21)\d\d(?:[/.-]\d{{1,2}})?|\d{{1,2}}[/.-]\d{{4}}|{_MONTH}[\s,-]+\d{{2,4}}|\d{{4}}[\s-]+{_MONTH})\s*$"
)

DATE_ORDER_CONFLICT = "DATE_ORDER_CONFLICT"
PARTIAL_DATE = "PARTIAL_DATE"
NOT_A_DATE = "NOT_A_DATE"
DATE_REASON = (
    f"not a date from {FIRST_YEAR} to {LAST_YEAR} (ISO, dd/mm/yyyy, mm/dd/yyyy, yyyy/mm/dd, 1-Mar-2025 or Excel)"
)


@dataclass(frozen=True)
class DayMonthEvidence:
    """Text dates written day/month (`cells`) and those that read only one way: `25/12/2025` (day first)
    or `12/25/2025` (month first)."""

    day_first: int = 0
    month_first: int = 0
    cells: int = 0

    def __add__(self, other: DayMonthEvidence) -> DayMonthEvidence:
        return DayMonthEvidence(
            self.day_first + other.day_first, self.month_first + other.month_first, self.cells + other.cells
        )


def day_month_evidence(text: pd.Series) -> DayMonthEvidence:
    """Count the cells of a date column that prove one order (one regex pass over the joined column)."""
    values = text.tolist()
    joined = _joined(values)
    if joined is None:
        joined = _joined([v if v.__class__ is str else None for v in values]) or ""
    day_first = month_first = 0
    found = _DMY_CELLS.findall(joined)
    for first, second in found:
        a, b = int(first), int(second)
        if 12 < a <= 31 and 1 <= b <= 12:
            day_first += 1
        elif 12 < b <= 31 and 1 <= a <= 12:
            month_first += 1
    return DayMonthEvidence(day_first, month_first, len(found))


def _as_date(year: int, month: int, day: int) -> datetime | None:
    if year < 100:
        year += 2000 if year < _CENTURY_PIVOT else 1900
    if not FIRST_YEAR <= year <= LAST_YEAR:
        return None
    try:
        return datetime(year, month, day)
    except ValueError:  # 31/02, month 13
        return None


def _day_month(text: pd.Series, day_first: bool) -> tuple[pd.Series, list]:
    """`dd/mm/yyyy` (day_first) or `mm/dd/yyyy` cells as dates, and the rows that only read the other way.

    A plain loop: these are the few cells the vectorised parsers left over, and pandas' per-call
    overhead (str.extract, to_datetime of a frame) would cost milliseconds per column.
    """
    rows: list = []
    dates: list = []
    conflicts: list = []
    for row, value in zip(text.index, text.tolist(), strict=True):
        match = _DMY.match(value) if value.__class__ is str else None
        if match:
            a, b, year = map(int, match.groups())
            day, month = (a, b) if day_first else (b, a)
            parsed = _as_date(year, month, day)
            if parsed is None and _as_date(year, day, month) is not None:
                conflicts.append(row)
            rows.append(row)
            dates.append(parsed)
    return pd.Series(pd.to_datetime(dates), index=rows, dtype="datetime64[ns]"), conflicts


# A time of day followed by a zone (`10:00:00Z`, `00:30+02:00`): the zone is dropped, not converted,
# so the date stays the calendar date the sheet shows.
_ZONED_TIME = re.compile(r"(\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)\s*(?:Z|[+-]\d{2}(?::?\d{2})?)\s*$", re.IGNORECASE)


def _drop_zone(value: object) -> object:
    return _ZONED_TIME.sub(r"\1", value) if value.__class__ is str else value


def _parse_iso(text: pd.Series) -> pd.Series:
    """ISO text as naive datetimes; cells that are not ISO dates become NaT."""
    try:
        parsed = pd.to_datetime(text, format="ISO8601", errors="coerce")
    except (ValueError, TypeError):  # time zones mixed with each other or with none
        parsed = None
    if parsed is None or isinstance(parsed.dtype, pd.DatetimeTZDtype):
        parsed = pd.to_datetime(text.map(_drop_zone), format="ISO8601", errors="coerce")
    return parsed


def _within_years(dates: pd.Series) -> pd.Series:
    """Dates outside FIRST_YEAR..LAST_YEAR as NaT, in datetime64[ns] (compared in numpy, before the
    conversion: a year like 3025 does not fit nanoseconds)."""
    values = dates.to_numpy()
    outside = ~((values >= _FIRST_DAY.to_datetime64()) & (values < _AFTER_LAST_DAY.to_datetime64()))
    if outside.any():
        values = values.copy()
        values[outside] = np.datetime64("NaT")
    return pd.Series(values.astype("datetime64[ns]"), index=dates.index)


def _full_iso_dates(text: pd.Series) -> pd.Series:
    """ISO dates within the years; `2025` and `2025-03` are left to the other readings, which refuse them."""
    dates = _within_years(_parse_iso(text))
    values = dates.to_numpy()
    days = values.astype("datetime64[D]")
    # a partial date parses as the 1st of a month at midnight: only those cells need a look at the text
    maybe_partial = np.flatnonzero((days == days.astype("datetime64[M]")) & (values == days))
    if len(maybe_partial):
        cells = text.to_numpy(dtype=object)
        partial = [i for i in maybe_partial.tolist() if len(str(cells[i]).strip()) < _SHORTEST_ISO_DATE]
        if partial:
            dates.iloc[partial] = pd.NaT
    return dates


def cast_date(text: pd.Series, column: Column, day_first: bool | None = None) -> Cast:
    """Dates from ISO text, Excel serial numbers, `dd/mm/yyyy` or `mm/dd/yyyy` (in the workbook's order;
    None: decided by this column alone, day first when it does not say), `yyyy/mm/dd`, spelled months."""
    text = text.astype(object)
    result = _full_iso_dates(text)
    todo = result.isna().to_numpy() & _present(text)
    n = len(text)
    placeholder, blank, error, partial = _no_mask(n), _no_mask(n), _no_mask(n), _no_mask(n)
    conflict = _no_mask(n)
    if todo.any():
        cells = text[todo].tolist()
        spaced = _needs_strip(cells)
        odd = pd.Series(_strip_each(cells) if spaced else cells, index=text.index[todo], dtype=object)
        placeholder[todo] = _placeholder_mask(odd)
        blank[todo] = odd.isna().to_numpy()  # cells of spaces only are blank, not bad dates
        parsed = (  # ISO with spaces around it
            _full_iso_dates(odd) if spaced else pd.Series(pd.NaT, index=odd.index, dtype="datetime64[ns]")
        )
        serial = pd.to_numeric(odd, errors="coerce")
        is_serial = parsed.isna() & np.floor(serial).between(_FIRST_SERIAL, _LAST_SERIAL)
        if is_serial.any():
            parsed[is_serial] = EXCEL_EPOCH + pd.to_timedelta(np.floor(serial[is_serial]), unit="D")
        rest = odd[parsed.isna() & odd.notna()]
        if len(rest):
            if day_first is None:
                evidence = day_month_evidence(rest)
                day_first = not (evidence.month_first and not evidence.day_first)
            dm, conflicts = _day_month(rest, day_first)
            parsed.loc[dm.index] = dm
            if conflicts:
                conflict[text.index.get_indexer(pd.Index(conflicts))] = True
            spelled = rest[parsed[rest.index].isna() & rest.str.contains(_SPELLED_DATE, regex=True)]
            if len(spelled):  # `2025/03/01`, `1-Mar-2025`, `March 1, 2025`: one by one, they are few
                # dayfirst=False: these name the month or put the year first; dayfirst would read
                # `2025/03/01` as 3 January.
                dates = pd.to_datetime(spelled, format="mixed", dayfirst=False, errors="coerce")
                parsed.loc[spelled.index] = _within_years(dates)
            failed = rest[parsed[rest.index].isna()]
            if len(failed):
                where = text.index.get_indexer(failed.index)
                values = failed.tolist()
                error[where] = [is_excel_error(v) for v in values]
                partial[where] = [_PARTIAL_DATE.match(v) is not None for v in values]
        result[todo] = parsed.to_numpy()
    invalid = todo & result.isna().to_numpy() & ~placeholder & ~blank
    partial &= ~error & ~conflict
    issues = issue_map(
        n,
        [
            (EXCEL_ERROR, invalid & error),
            (DATE_ORDER_CONFLICT, invalid & conflict),
            (PARTIAL_DATE, invalid & partial),
            (NOT_A_DATE, invalid & ~error & ~conflict & ~partial),
        ],
    )
    order = "dd/mm/yyyy" if day_first in (True, None) else "mm/dd/yyyy"
    reasons = {
        EXCEL_ERROR: EXCEL_ERROR_REASON,
        DATE_ORDER_CONFLICT: f"reads only the other way round: this workbook's text dates are {order}",
        PARTIAL_DATE: "a partial date (a year, or a month and year, without the day)",
        NOT_A_DATE: DATE_REASON,
    }
    return Cast(result.dt.normalize(), placeholder, issues, reasons)
