"""Why a cell could not be typed: one reason code per cell, and NULL in the typed values."""

import pandas as pd

from order_platform.schema import order_list_schema
from order_platform.staging.casting import cast_decimal, cast_integer, cast_text

COLUMNS = order_list_schema().by_name


def text(*values):
    return pd.Series(list(values), dtype=object)


def test_integer_issues_have_a_reason_each():
    cast = cast_integer(text("V147", "12.5", "40000", "#REF!", "2025", None, "TBC"), COLUMNS["INVOICE YEAR"])
    assert cast.values.isna().tolist() == [True, True, True, True, False, True, True]
    assert {code: mask.tolist().index(True) for code, mask in cast.issues.items()} == {
        "NOT_A_NUMBER": 0,
        "NOT_A_WHOLE_NUMBER": 1,
        "OUT_OF_RANGE": 2,
        "EXCEL_ERROR": 3,
    }
    assert sum(mask.sum() for mask in cast.issues.values()) == 4  # one reason per cell
    assert "SMALLINT" in cast.reasons["OUT_OF_RANGE"]


def test_decimal_overflow_and_errors_are_null_not_fatal():
    cast = cast_decimal(text("123456789", "#DIV/0!", "12.5"), COLUMNS["CUSTOMER PRICE"])
    assert cast.values.isna().tolist() == [True, True, False]
    assert cast.issues["OUT_OF_RANGE"].tolist() == [True, False, False]
    assert cast.issues["EXCEL_ERROR"].tolist() == [False, True, False]


def test_text_error_values_are_null_but_text_with_a_hash_is_kept():
    cast = cast_text(text("#N/A", " #REF! ", "#123 navy", "n/a"), COLUMNS["STYLE DESCRIPTION"])
    assert cast.values.tolist() == [None, None, "#123 navy", "n/a"]
    assert cast.issues["EXCEL_ERROR"].tolist() == [True, True, False, False]


def test_clean_columns_have_no_issues():
    assert cast_text(text("A", None), COLUMNS["STYLE DESCRIPTION"]).issues == {}
    assert cast_integer(text("1", "2"), COLUMNS["TOTAL QTY"]).issues == {}
