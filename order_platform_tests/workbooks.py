"""Writing real .xlsx workbooks for tests, including formulas with saved results."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

from openpyxl import Workbook

BASIC_HEADERS = [
    "AAG ORDER NUMBER",
    "CUSTOMER NAME",
    "PO NUMBER",
    "CUSTOMER STYLE",
    "CUSTOMER COLOUR DESCRIPTION",
    "PLANNED DELIVERY METHOD",
    "ORDER TYPE",
    "EX FACTORY DATE",
    "S",
    "M",
    "L",
    "TOTAL QTY",
    "CUSTOMER PRICE",
]


def line(aag: str, style: str, s: object = 10, m: object = 20, total: object = 30, **extra: object) -> dict:
    """One order line for BASIC_HEADERS; extra keys override or add columns."""
    row = {
        "AAG ORDER NUMBER": aag,
        "CUSTOMER NAME": "GREYSON CLOTHIERS",
        "PO NUMBER": "PO-1",
        "CUSTOMER STYLE": style,
        "CUSTOMER COLOUR DESCRIPTION": "BLACK",
        "PLANNED DELIVERY METHOD": "SEA",
        "ORDER TYPE": "ACTIVE",
        "EX FACTORY DATE": "2025-03-01",
        "S": s,
        "M": m,
        "L": None,
        "TOTAL QTY": total,
        "CUSTOMER PRICE": 12.5,
    }
    row.update(extra)
    return row


def write_workbook(
    path: Path,
    rows: list[dict] | list[list],
    headers: list[str] | None = None,
    *,
    sheet: str = "MASTER",
    title_rows: list[list] | None = None,
    sheets_before: dict[str, list[list]] | None = None,
    sheets_after: dict[str, list[list]] | None = None,
    formulas: dict[str, object] | None = None,
) -> Path:
    """Write a workbook; dict rows are laid out by `headers`. `formulas` maps cells like 'L3' to
    their saved result, for cells whose value is a formula string (`=...`)."""
    headers = headers or BASIC_HEADERS
    book = Workbook()
    book.remove(book.active)
    for name, content in (sheets_before or {}).items():
        ws = book.create_sheet(name)
        for r in content:
            ws.append(r)
    ws = book.create_sheet(sheet)
    for r in title_rows or []:
        ws.append(r)
    ws.append(headers)
    for r in rows:
        ws.append([r.get(h) for h in headers] if isinstance(r, dict) else r)
    for name, content in (sheets_after or {}).items():
        extra = book.create_sheet(name)
        for r in content:
            extra.append(r)
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    if formulas:
        data = _save_formula_results(data, sheet_index=len(sheets_before or {}) + 1, results=formulas)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _save_formula_results(data: bytes, sheet_index: int, results: dict[str, object]) -> bytes:
    """openpyxl writes formulas without results; add the result Excel would have saved (`<v>`)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    name = f"xl/worksheets/sheet{sheet_index}.xml"
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == name:
                xml = content.decode("utf-8")
                for cell, value in results.items():
                    xml = re.sub(
                        rf'(<c r="{cell}"[^>]*>)(<f>[^<]*</f>)(?:<v\s*/>|<v>\s*</v>)?',
                        rf"\g<1>\g<2><v>{value}</v>",
                        xml,
                    )
                content = xml.encode("utf-8")
            target.writestr(item, content)
    return out.getvalue()


def workbook_name(customer: str) -> str:
    return f"{customer} ORDER LIST (M3).xlsx"
