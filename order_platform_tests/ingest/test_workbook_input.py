"""Bad and messy workbooks: a clear error naming file, sheet, row and column, or rows handled."""

import pytest

from order_platform.ingest.workbook import WorkbookError, read_order_sheet
from order_platform.schema import order_list_schema
from order_platform_tests.workbooks import BASIC_HEADERS, line, write_workbook

SCHEMA = order_list_schema()


def read(path):
    return read_order_sheet(path.read_bytes(), path.name, SCHEMA)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "empty (0 bytes)"),
        (b"AAG ORDER NUMBER,PO NUMBER\nGRE-1,2\n", "not an Excel workbook"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512, "password-protected"),
        (b"PK\x03\x04garbage", "cannot open the workbook"),
    ],
)
def test_unreadable_files_name_the_file(tmp_path, content, message):
    path = tmp_path / "BAD ORDER LIST (M3).xlsx"
    path.write_bytes(content)
    with pytest.raises(WorkbookError) as error:
        read(path)
    assert message in str(error.value)
    assert "BAD ORDER LIST (M3).xlsx" in str(error.value)


def test_no_recognisable_header(tmp_path):
    path = write_workbook(tmp_path / "x.xlsx", [["a", "b"]], headers=["Foo", "Bar"], sheet="Data")
    with pytest.raises(WorkbookError, match="no recognisable header row") as error:
        read(path)
    assert error.value.sheet == "Data"


def test_header_without_aag_order_number_names_the_row(tmp_path):
    headers = [h for h in BASIC_HEADERS if h != "AAG ORDER NUMBER"]
    path = write_workbook(tmp_path / "x.xlsx", [line("GRE-1", "ST")], headers=headers, title_rows=[["Title"]])
    with pytest.raises(WorkbookError, match="no 'AAG ORDER NUMBER' column") as error:
        read(path)
    assert error.value.row == 2


def test_duplicate_headers_with_data_are_refused_with_both_columns(tmp_path):
    headers = [*BASIC_HEADERS, "M"]
    rows = [[*[line("GRE-1", "ST").get(h) for h in BASIC_HEADERS], 5]]
    path = write_workbook(tmp_path / "x.xlsx", rows, headers=headers)
    with pytest.raises(WorkbookError, match="duplicate header 'M' in columns J and N") as error:
        read(path)
    assert (error.value.sheet, error.value.row, error.value.column) == ("MASTER", 1, "N")


def test_empty_duplicate_header_is_ignored_and_noted(tmp_path):
    headers = [*BASIC_HEADERS, "m "]
    path = write_workbook(tmp_path / "x.xlsx", [line("GRE-1", "ST")], headers=headers)
    sheet = read(path)
    assert sheet.headers.count("M") == 1
    assert any("empty duplicate header" in n for n in sheet.notes)


def test_title_rows_blank_rows_extra_sheets_and_formulas(tmp_path):
    rows = [line("GRE-1", "ST1", total="=I5+J5"), [], line("GRE-2", "ST2")]
    path = write_workbook(
        tmp_path / "x.xlsx",
        rows,
        title_rows=[["GREYSON ORDER LIST"], ["updated 1 Nov"], []],
        sheets_before={"NOTES": [["planner notes, not orders"]]},
        sheets_after={"PIVOT": [["Season", "Qty"]]},
        formulas={"L5": 30},
    )
    sheet = read(path)
    assert sheet.sheet == "MASTER"
    assert sheet.header_row == 4
    assert sheet.row_numbers == [5, 7]  # the blank row 6 is not a data row
    assert sheet.columns[sheet.headers.index("TOTAL QTY")] == ["30", "30"]
    assert set(sheet.other_sheets) == {"NOTES", "PIVOT"}


def test_first_sheet_without_header_is_skipped_when_there_is_no_master(tmp_path):
    path = write_workbook(
        tmp_path / "x.xlsx", [line("GRE-1", "ST1")], sheet="ORDERS", sheets_before={"README": [["hello"]]}
    )
    assert read(path).sheet == "ORDERS"


def test_unknown_and_blank_headers_with_data_are_kept(tmp_path):
    headers = [*BASIC_HEADERS, "ORIGINAL PO NUMBER", None]
    row = [*[line("GRE-1", "ST").get(h) for h in BASIC_HEADERS], "OLD-PO", "orphan"]
    sheet = read(write_workbook(tmp_path / "x.xlsx", [row], headers=headers))
    assert "ORIGINAL PO NUMBER" in sheet.headers
    assert "(blank header, column O)" in sheet.headers


def test_a_hidden_sheet_is_read_only_when_no_visible_sheet_has_the_order_list(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    stale = book.active
    stale.title = "OLD 2023"
    stale.sheet_state = "hidden"
    orders = book.create_sheet("ORDERS")
    for sheet, aag in ((stale, "OLD-1"), (orders, "NEW-1")):
        sheet.append(BASIC_HEADERS)
        sheet.append([line(aag, "A").get(h) for h in BASIC_HEADERS])
    path = tmp_path / "BOGNER ORDER LIST (M3).xlsx"
    book.save(path)
    sheet = read(path)
    assert sheet.sheet == "ORDERS" and sheet.columns[0] == ["NEW-1"]

    book.remove(orders)
    book.create_sheet("NOTES").append(["prices subject to change"])
    book.save(path)
    sheet = read(path)
    assert sheet.sheet == "OLD 2023" and any("hidden" in note for note in sheet.notes)


def test_cells_of_spaces_only_are_blank(tmp_path):
    headers = [*BASIC_HEADERS, "PO NUMBER"]  # a second, empty PO NUMBER column holding one space
    rows = [
        [*(line("GRE-1", "A", s=" ").get(h) for h in BASIC_HEADERS), " "],
        [*(line("GRE-2", "B", **{"EX FACTORY DATE": "  "}).get(h) for h in BASIC_HEADERS), None],
    ]
    sheet = read(write_workbook(tmp_path / "GREYSON ORDER LIST (M3).xlsx", rows, headers))
    columns = dict(zip(sheet.headers, sheet.columns, strict=True))
    assert columns["S"] == [None, "10"] and columns["EX FACTORY DATE"] == ["2025-03-01", None]
    assert any("empty duplicate header 'PO NUMBER'" in note for note in sheet.notes)


def test_a_header_named_like_a_lineage_column_is_kept_under_another_name(tmp_path):
    headers = [*BASIC_HEADERS, "_source_row"]
    rows = [[*(line("GRE-1", "A").get(h) for h in BASIC_HEADERS), "kept"]]
    sheet = read(write_workbook(tmp_path / "GREYSON ORDER LIST (M3).xlsx", rows, headers))
    assert sheet.headers[-1] == "_source_row (column N)" and sheet.columns[-1] == ["kept"]


def test_a_size_header_excel_turned_into_a_date_is_read_as_the_size(tmp_path):
    from datetime import datetime

    headers = [*BASIC_HEADERS, datetime(2025, 4, 5)]  # typed 4/5 (ages 4-5); Excel keeps 5 April
    rows = [[*(line("GRE-1", "A").get(h) for h in BASIC_HEADERS), 7]]
    sheet = read(write_workbook(tmp_path / "GREYSON ORDER LIST (M3).xlsx", rows, headers))
    assert sheet.headers[-1] == "4/5" and sheet.columns[-1] == ["7"]
    assert any("read as size '4/5'" in note for note in sheet.notes)
