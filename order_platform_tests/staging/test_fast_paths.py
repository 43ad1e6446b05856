"""The fast paths give the same answers as the plain definitions they replace."""

import uuid

import pandas as pd
import pytest

from order_platform.ingest.workbook import _float_text, column_text
from order_platform.staging.casting import _needs_strip
from order_platform.staging.identity import LINE_ID_NAMESPACE, _normalised, _uuid5


def test_uuid5_matches_uuid_module() -> None:
    for name in ["", "A\x1fB\x1e0", "GREYSON\x1e12345\x1fSEA\x1f\x1f\x1f\x1f\x1e3", "é😀 x" * 7]:
        assert _uuid5(name) == str(uuid.uuid5(LINE_ID_NAMESPACE, name))


@pytest.mark.parametrize(
    "values",
    [
        ["PO 1", "PO 2", None, "A B C"],  # clean: the fast path
        ["PO  1", "PO 2"],  # two spaces inside
        ["PO 1 ", "PO 2"],  # a trailing space
        [" PO 1", "PO 2"],  # a leading space
        ["PO\t1", "PO 2"],  # a tab
        ["PO\u00a01", "PO 2"],  # a no-break space
        ["PO 1", "PO\n2"],  # a line break
        ["po 1", "PO 2"],  # lower case
        ["PO 1", "", "PO 3"],  # an empty text
        ["PO 1", " ", "PO 3"],  # a space only
        [None, None],
    ],
)
def test_line_key_text_fast_path_matches_the_plain_normalisation(values: list) -> None:
    plain = [" ".join(str(v).split()).upper() if v is not None else "" for v in values]
    assert _normalised(pd.Series(values, dtype=object)) == plain


def test_numeric_column_text_matches_float_text() -> None:
    values = ["", 1.0, -0.0, 2.5, 1e16, 2.0**53, -(2.0**53) + 1, float("nan"), float("inf"), 0.1 + 0.2, ""]
    assert column_text(values) == [None if v == "" else _float_text(v) for v in values]


def test_needs_strip_sees_edge_space_only() -> None:
    assert not _needs_strip(["A B", None, "C"])
    assert _needs_strip(["A", " B"])
    assert _needs_strip(["A\t", "B"])
    assert _needs_strip(["A", "B\u00a0"])
    assert not _needs_strip([])


def test_preview_shows_first_rows_as_text_and_skips_empty_columns() -> None:
    import pandas as pd

    from order_platform.load.report import PREVIEW_ROWS, _preview

    frame = pd.DataFrame(
        {
            "STYLE": pd.array(["A", None, "C", "D", "E", "F", "G"], dtype="string"),
            "QTY": pd.array([1, None, 3, 4, 5, 6, 7], dtype="Int64"),
            "EMPTY": [None] * 7,
            "DATE": pd.to_datetime(["2026-01-02", None, None, None, None, None, None]),
            "LATE": [None] * 6 + ["only after the preview rows"],
        }
    )
    preview = _preview(frame)
    assert len(preview) == PREVIEW_ROWS
    assert preview[0] == {"STYLE": "A", "QTY": "1", "DATE": "2026-01-02"}  # a date, without a midnight time
    assert preview[1] == {"STYLE": None, "QTY": None, "DATE": None}


def test_column_text_equals_cell_text_on_every_kind_of_column() -> None:
    from datetime import date, datetime, time, timedelta

    from order_platform.ingest.workbook import cell_text

    columns = [
        ["A", "", " ", "B ", "\xa0"],
        ["", 1.0, 2.5, "", 2.0**60],
        ["", date(2025, 3, 1), ""],
        ["", 1.0, "x", " ", date(2025, 3, 1), datetime(2025, 3, 1, 10, 30), True, time(8), timedelta(days=1), 7],
        ["", ""],
    ]
    for values in columns:
        assert column_text(values) == [cell_text(v) for v in values]
        assert column_text(tuple(values)) == [cell_text(v) for v in values]


def test_column_text_with_a_sheet_wide_memo_equals_cell_text() -> None:
    """CellTexts formats each distinct cell once across a sheet's columns; equal cells of different types
    (True == 1.0, 2**53 == 2.0**53) must still get their own text, so such columns are not memoised."""
    from datetime import date, datetime, time, timedelta

    from order_platform.ingest.workbook import CellTexts, cell_text

    columns = [
        ["", 1.0, 0.0, -0.0, 1.0, 2.5, 2.0**53, 1e16, "1", " ", "x"],
        ["", True, 1.0, False, 0.0, 1],  # bools and numbers: cell by cell
        [1.0, True, "", 0.0, False],
        [2**53, 2.0**53, ""],
        ["", date(2025, 3, 1), datetime(2025, 3, 1), datetime(2025, 3, 1, 10, 30), time(8), timedelta(days=1)],
        ["A", "A", " A ", "\xa0", "", "1"],
        [],
    ]
    texts = CellTexts()
    for values in columns + columns[::-1]:  # the memo filled by other columns first, in both orders
        assert column_text(values, texts) == [cell_text(v) for v in values]
        assert column_text(tuple(values), texts) == [cell_text(v) for v in values]
    assert all(type(cell) not in (bool, int) for cell in texts)


def test_raw_frame_is_the_text_block_plus_lineage() -> None:
    from datetime import datetime

    import numpy as np
    import pandas as pd
    import pytest

    from order_platform.warehouse.store import raw_frame

    loaded = datetime(2025, 3, 1, 10, 30, 15, 123)
    columns = {"AAG ORDER NUMBER": ["A-1", None, "A-3"], "QTY": ["1", "2.5", None], "EMPTY": [None, None, None]}
    frame = raw_frame(columns, [4, 5, 7], "f.xlsx", "MASTER", loaded)
    expected = pd.DataFrame({h: pd.Series(v, dtype=object) for h, v in columns.items()})
    expected["_SOURCE_FILE"] = "f.xlsx"
    expected["_SOURCE_SHEET"] = "MASTER"
    expected["_SOURCE_ROW"] = np.asarray([4, 5, 7], dtype="int64")
    expected["_LOADED_AT"] = "2025-03-01 10:30:15"
    pd.testing.assert_frame_equal(frame, expected, check_exact=True)
    assert list(frame.dtypes) == list(expected.dtypes)
    assert raw_frame({}, [1, 2], "f", "s", loaded).shape == (2, 4)
    assert raw_frame({"A": []}, [], "f", "s", loaded).shape == (0, 5)
    with pytest.raises(ValueError):
        raw_frame({"A": ["x"], "B": ["y", "z"]}, [1], "f", "s", loaded)
