"""Reading one customer workbook with calamine: choose the sheet, find the header row, keep every column.

The result is column-major (one list per column) because everything downstream is vectorised.
Problems that make the whole workbook unreadable raise `WorkbookError`, which names the file,
sheet, row and column; problems with single rows are left to the transform to quarantine.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from python_calamine import CalamineWorkbook, SheetVisibleEnum

from order_platform.ingest.excel_errors import restore_error_values
from order_platform.ingest.workbook_guard import WorkbookGuard, WorkbookLimits, WorkbookTooLarge
from order_platform.load.stages import timed
from order_platform.schema import AAG_ORDER_NUMBER, OrderListSchema, normalise_header
from order_platform.staging.transform import RAW_LINEAGE

HEADER_SCAN_ROWS = 50
MIN_KNOWN_HEADERS = 3
PREFERRED_SHEET = "MASTER"
_RESERVED = frozenset(normalise_header(name) for name in RAW_LINEAGE)


class WorkbookError(Exception):
    """The workbook cannot be loaded at all; the message says where and why."""

    def __init__(
        self,
        message: str,
        *,
        file: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.file, self.sheet, self.row, self.column, self.reason = file, sheet, row, column, message
        where = [f"file {file!r}"]
        if sheet is not None:
            where.append(f"sheet {sheet!r}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column}")
        super().__init__(f"{', '.join(where)}: {message}")


@dataclass
class SheetData:
    """The data rows of a workbook's order sheet, with their Excel row numbers."""

    file_name: str
    sheet: str
    header_row: int  # 1-based Excel row
    headers: list[str]  # unique raw headers, in sheet order
    column_letters: list[str]
    columns: list[list[str | None]]  # cell text per header, one entry per data row
    row_numbers: list[int]  # 1-based Excel row of each data row
    other_sheets: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def cell_text(value: object) -> str | None:
    """A cell as the text the raw table keeps: numbers without a spurious `.0`, dates in ISO."""
    if value is None:
        return None
    if isinstance(value, str):
        return value if value.strip() else None
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return _float_text(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time(0) else value.isoformat(sep=" ")
    if isinstance(value, (date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)


_EXACT_INT = 2**53  # floats above this print in exponent form, as numpy and repr do


def _float_text(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < _EXACT_INT else repr(value)


class CellTexts(dict):
    """cell -> `cell_text(cell)`, each distinct cell formatted once: an order book repeats its quantities,
    prices and dates, and a dict look-up costs a fraction of formatting a float. Only for cells of the
    types in `_ONE_TEXT_PER_VALUE`: across those, equal cells have equal text (unlike `True == 1.0`)."""

    def __missing__(self, cell: object) -> str | None:
        text = self[cell] = cell_text(cell)
        return text


# Types whose equal values never cross types (a float is never equal to a str or a date; a date never to
# a datetime), so a `CellTexts` of them gives each cell its own text. bool and int are not among them.
_ONE_TEXT_PER_VALUE = frozenset({str, float, date, datetime, time, timedelta})

# Text made of white space only, between the \x00 separators of a joined column.
_SPACE_ONLY = re.compile(r"\x00\s+\x00")


def _without_space_only(texts: list[str | None]) -> list[str | None]:
    """Cells holding only spaces are blank, as `cell_text` says (one C-speed look at the joined column)."""
    if _SPACE_ONLY.search("\x00" + "\x00".join(filter(None, texts)) + "\x00") is None:
        return texts
    return [None if v is None or v.isspace() else v for v in texts]


def column_text(values: tuple | list, texts: CellTexts | None = None) -> list[str | None]:
    """`cell_text` over a column. Text columns take one C-speed pass; columns of numbers, dates and text
    look each distinct cell up in `texts` (shared by a sheet's columns)."""
    types = set(map(type, values))
    if types == {str}:
        return _without_space_only([v or None for v in values])
    if types <= _ONE_TEXT_PER_VALUE:
        return list(map((CellTexts() if texts is None else texts).__getitem__, values))
    return [cell_text(v) for v in values]


def _size_typed_as_date(cell: date, schema: OrderListSchema, letter: str, notes: list[str]) -> str | None:
    """Excel turns a size header typed as `4/5` into the date 5 April; read it back as the size."""
    for size in (f"{cell.month}/{cell.day}", f"{cell.day}/{cell.month}"):
        if schema.canonical_for(size):
            notes.append(f"header in column {letter} is the date {cell.isoformat()}; read as size {size!r}")
            return size
    return None


def _check_container(data: bytes, file_name: str) -> None:
    if not data:
        raise WorkbookError("the file is empty (0 bytes)", file=file_name)
    if data[:4] == b"\xd0\xcf\x11\xe0":
        raise WorkbookError(
            "the workbook is password-protected (encrypted) or in the old .xls format; "
            "save it unprotected as .xlsx",
            file=file_name,
        )
    if data[:4] != b"PK\x03\x04":
        raise WorkbookError("not an Excel workbook (.xlsx is a zip file; this is not one)", file=file_name)


def hidden_sheets(book: CalamineWorkbook) -> set[str]:
    return {m.name for m in book.sheets_metadata if m.visible != SheetVisibleEnum.Visible}


def sheet_order(book: CalamineWorkbook, file_name: str) -> list[str]:
    """MASTER first when present, then the visible sheets in workbook order, then the hidden ones
    (a hidden sheet is often last season's copy)."""
    names = list(book.sheet_names)
    if not names:
        raise WorkbookError("the workbook has no sheets", file=file_name)
    hidden = hidden_sheets(book)
    master = [n for n in names if n.strip().upper() == PREFERRED_SHEET]
    rest = [n for n in names if n not in master]
    return master + [n for n in rest if n not in hidden] + [n for n in rest if n in hidden]


def _find_header_row(rows: list[list], schema: OrderListSchema, file_name: str, sheet: str) -> int:
    """Index of the row with the most known headers (must include AAG ORDER NUMBER)."""
    best_index, best_score = -1, 0
    for index, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        score = sum(1 for cell in row if cell and isinstance(cell, str) and schema.canonical_for(cell))
        if score > best_score:
            best_index, best_score = index, score
    if best_score < MIN_KNOWN_HEADERS:
        raise WorkbookError(
            f"no recognisable header row in the first {HEADER_SCAN_ROWS} rows "
            f"(need at least {MIN_KNOWN_HEADERS} known ORDER_LIST headers, best row had {best_score})",
            file=file_name,
            sheet=sheet,
        )
    header = rows[best_index]
    if not any(isinstance(c, str) and schema.canonical_for(c) == AAG_ORDER_NUMBER for c in header):
        raise WorkbookError(
            f"the header row has no {AAG_ORDER_NUMBER!r} column, so no row can be identified as an order",
            file=file_name,
            sheet=sheet,
            row=best_index + 1,
        )
    return best_index


def read_order_sheet(
    data: bytes, file_name: str, schema: OrderListSchema, limits: WorkbookLimits | None = None
) -> SheetData:
    """Read the order sheet of a workbook (bytes) into column-major cell text.

    A workbook or sheet out of proportion (`limits`: zip bomb, far cell) is refused before it is read."""
    _check_container(data, file_name)
    try:
        guard = WorkbookGuard(data, limits or WorkbookLimits())
    except WorkbookTooLarge as exc:
        raise WorkbookError(str(exc), file=file_name) from exc
    try:
        with timed("read"):
            book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises its own error types for zip/xml/password problems
        raise WorkbookError(f"cannot open the workbook: {exc}", file=file_name) from exc
    order = sheet_order(book, file_name)
    first_error: WorkbookError | None = None
    for sheet in order:
        too_large: WorkbookError | None = None
        try:
            guard.check_sheet(sheet)
            with timed("read"):
                rows: list[list] = book.get_sheet_by_name(sheet).to_python(skip_empty_area=False)
        except WorkbookTooLarge as exc:
            rows, too_large = [], WorkbookError(str(exc), file=file_name, sheet=sheet)
        except Exception as exc:
            raise WorkbookError(f"cannot read the sheet: {exc}", file=file_name, sheet=sheet) from exc
        try:
            if too_large is not None:
                raise too_large
            if not rows:
                raise WorkbookError("the sheet is empty", file=file_name, sheet=sheet)
            header_index = _find_header_row(rows, schema, file_name, sheet)
            break
        except WorkbookError as exc:
            # MASTER, when present, is the order sheet: its problems are the answer.
            if first_error is None:
                first_error = exc
            if sheet.strip().upper() == PREFERRED_SHEET:
                raise
    else:
        assert first_error is not None
        raise first_error
    with timed("error_cells"):
        restore_error_values(rows, data, sheet)  # calamine reads #REF!, #N/A... as blank
    other_sheets = [n for n in order if n != sheet]
    header_cells = rows[header_index]
    body = rows[header_index + 1 :]
    width = max(len(header_cells), max((len(r) for r in body), default=0))

    # Data rows: every row after the header with at least one non-blank cell.
    row_numbers: list[int] = []
    kept: list[list] = []
    for offset, row in enumerate(body):
        # any(row) stops at the first truthy cell (C speed); only rows of blanks, 0 or False need the count.
        if any(row) or row.count("") + row.count(None) != len(row):
            row_numbers.append(header_index + 2 + offset)
            kept.append(row if len(row) == width else [*row, *([""] * (width - len(row)))])
    raw_columns = list(zip(*kept, strict=True)) if kept else [() for _ in range(width)]
    sheet_texts = CellTexts()
    padded_header = [*header_cells, *([""] * (width - len(header_cells)))]

    headers: list[str] = []
    letters: list[str] = []
    columns: list[list[str | None]] = []
    notes: list[str] = []
    seen: dict[str, int] = {}  # normalised header -> position in `headers`
    for index, (cell, values) in enumerate(zip(padded_header, raw_columns, strict=True)):
        letter = column_letter(index)
        texts = column_text(values, sheet_texts)
        has_data = any(texts)  # each text is None or not blank
        header = cell_text(cell)
        if isinstance(cell, date):
            header = _size_typed_as_date(cell, schema, letter, notes) or header
        if header is None:
            if not has_data:
                continue
            header = f"(blank header, column {letter})"
            notes.append(f"column {letter} has data but no header; kept as {header!r}")
        key = normalise_header(header)
        if key in _RESERVED:  # the raw table's own lineage columns: keep the data under another name
            renamed = f"{header.strip()} (column {letter})"
            notes.append(f"header {header.strip()!r} in column {letter} is a reserved column name; kept as {renamed!r}")
            header, key = renamed, normalise_header(renamed)
        if key in seen:
            first = seen[key]
            first_has_data = any(columns[first])
            if not has_data:
                notes.append(f"empty duplicate header {header!r} in column {letter} ignored")
                continue
            if not first_has_data:
                notes.append(f"empty duplicate header {header!r} in column {letters[first]} ignored")
                headers[first], letters[first], columns[first] = header.strip(), letter, texts
                continue
            raise WorkbookError(
                f"duplicate header {header.strip()!r} in columns {letters[first]} and {letter}, both holding "
                "data; rename or remove one so each value has one meaning",
                file=file_name,
                sheet=sheet,
                row=header_index + 1,
                column=letter,
            )
        seen[key] = len(headers)
        headers.append(" ".join(header.split()))
        letters.append(letter)
        columns.append(texts)
    if header_index:
        notes.append(f"header found on row {header_index + 1}; {header_index} row(s) above it skipped")
    if sheet in hidden_sheets(book):
        notes.append(f"sheet {sheet!r} is hidden; no visible sheet has the order list")
    return SheetData(
        file_name=file_name,
        sheet=sheet,
        header_row=header_index + 1,
        headers=headers,
        column_letters=letters,
        columns=columns,
        row_numbers=row_numbers,
        other_sheets=other_sheets,
        notes=notes,
    )
