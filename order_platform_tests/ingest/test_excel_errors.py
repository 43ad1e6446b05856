"""Excel error cells, which calamine reads as blank, reach the raw rows as the sheet shows them."""

import io
import re
import zipfile

from openpyxl import Workbook
from python_calamine import CalamineWorkbook

from order_platform.ingest.excel_errors import error_cells
from order_platform.ingest.workbook import read_order_sheet
from order_platform.schema import order_list_schema


def _workbook() -> bytes:
    book = Workbook()
    book.active.title = "NOTES"
    book.active.append(["#REF!"])  # an error on another sheet is not this sheet's
    sheet = book.create_sheet("MASTER")
    sheet.append(["AAG ORDER NUMBER", "CUSTOMER STYLE", "PO NUMBER", "TOTAL QTY", "EX FACTORY DATE"])
    sheet.append(["GRE-1", "#REF!", "PO-1", "#DIV/0!", "#N/A"])
    sheet.append(["GRE-2", "ST2", "PO-2", 5, "2025-03-01"])
    sheet["C3"] = "=1/0"  # a formula whose saved result is an error
    buffer = io.BytesIO()
    book.save(buffer)
    # openpyxl saves formulas without a result; write the one Excel would have saved
    source, out = zipfile.ZipFile(io.BytesIO(buffer.getvalue())), io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet2.xml":
                content = re.sub(rb'<c r="C3"><f>1/0</f><v\s*/>', b'<c r="C3" t="e"><f>1/0</f><v>#DIV/0!</v>', content)
                assert b'<c r="C3" t="e">' in content
            target.writestr(item, content)
    return out.getvalue()


def test_error_cells_after_self_closing_empty_cells_are_found():
    xml = (
        b'<worksheet><sheetData><row r="1"><c r="A1" s="3"/><c r="B1" s="2" t="e"><f t="shared" si="0"/>'
        b'<v>#REF!</v></c><c r="C1" s="3"/><c r="D1" t="e"/><c r="E1" t="n"><v>4</v></c>'
        b'<c r="AA12" t="e"><v>#N/A</v></c></row></sheetData></worksheet>'
    )
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(_workbook())) as source, zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = xml if item.filename == "xl/worksheets/sheet2.xml" else source.read(item.filename)
            target.writestr(item, content)
    assert error_cells(out.getvalue(), "MASTER") == {(0, 1): "#REF!", (11, 26): "#N/A"}


def test_calamine_alone_reads_error_cells_as_blank():
    rows = CalamineWorkbook.from_filelike(io.BytesIO(_workbook())).get_sheet_by_name("MASTER").to_python()
    assert rows[1][1:] == ["", "PO-1", "", ""]


def test_error_cells_are_found_in_the_sheet_xml():
    assert error_cells(_workbook(), "MASTER") == {(1, 1): "#REF!", (1, 3): "#DIV/0!", (1, 4): "#N/A", (2, 2): "#DIV/0!"}
    assert error_cells(_workbook(), "NOTES") == {(0, 0): "#REF!"}
    assert error_cells(b"not a zip", "MASTER") == {}


def test_the_reader_keeps_error_values_as_text():
    sheet = read_order_sheet(_workbook(), "GREYSON ORDER LIST (M3).xlsx", order_list_schema())
    columns = dict(zip(sheet.headers, sheet.columns, strict=True))
    assert columns["CUSTOMER STYLE"] == ["#REF!", "ST2"]
    assert columns["TOTAL QTY"] == ["#DIV/0!", "5"]
    assert columns["EX FACTORY DATE"] == ["#N/A", "2025-03-01"]
    assert columns["PO NUMBER"] == ["PO-1", "#DIV/0!"]


def test_sheet_xml_is_read_as_zipfile_reads_it_deflated_or_stored():
    from order_platform.ingest.excel_errors import _member

    for compression in (zipfile.ZIP_DEFLATED, zipfile.ZIP_STORED):
        out = io.BytesIO(b"prefix bytes of a self-extracting archive")
        with zipfile.ZipFile(io.BytesIO(_workbook())) as source, zipfile.ZipFile(out, "a", compression) as target:
            for item in source.infolist():
                target.writestr(item.filename, source.read(item.filename))
        data = out.getvalue()
        with zipfile.ZipFile(io.BytesIO(data)) as book:
            for name in book.namelist():
                assert _member(data, book, name) == book.read(name)
        assert error_cells(data, "MASTER") == error_cells(_workbook(), "MASTER")
