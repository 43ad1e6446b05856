import pandas as pd

from order_platform.schema import order_list_schema
from order_platform.staging.casting import cast_decimal, cast_integer, cast_text
from order_platform.staging.dates import cast_date

COLUMNS = order_list_schema().by_name


def text(*values):
    return pd.Series(list(values), dtype=object)


def test_integers_read_thousands_separators_and_flag_garbage():
    cast = cast_integer(
        text("12", "1,200", " 7 ", "12.0", "TBC", "abc", "12.5", "40000", None), COLUMNS["TOTAL QTY"]
    )
    assert cast.values.tolist()[:4] == [12, 1200, 7, 12]
    assert cast.placeholder.tolist() == [False, False, False, False, True, False, False, False, False]
    # abc, a fraction, and 40000 (beyond SMALLINT) cannot be loaded
    assert cast.invalid.tolist() == [False, False, False, False, False, True, True, True, False]


def test_decimals_keep_their_precision_and_overflow_is_invalid_not_fatal():
    cast = cast_decimal(text("1.23456", "1234567.5", "$3.50", "15%", "TBA"), COLUMNS["CUSTOMER PRICE"])
    assert cast.values.tolist()[0] == 1.2346
    assert cast.invalid.tolist() == [False, True, False, False, False]
    assert cast.values.tolist()[2:4] == [3.5, 0.15]
    assert cast.placeholder.tolist()[4]


def test_dates_from_iso_excel_serials_and_day_month_text():
    cast = cast_date(
        text(
            "2025-03-01",
            "45678",
            "25/12/2025",
            "01/02/2025",
            "00/00/00",
            "TBC",
            "soon",
            "2025-03-01 10:30:00",
        ),
        COLUMNS["EX FACTORY DATE"],
    )
    got = [None if pd.isna(v) else v.date().isoformat() for v in cast.values]
    # 25/12 proves the column is day-first, so 01/02/2025 is 1 February
    assert got == ["2025-03-01", "2025-01-21", "2025-12-25", "2025-02-01", None, None, None, "2025-03-01"]
    assert cast.placeholder.tolist() == [False, False, False, False, True, True, False, False]
    assert cast.invalid.tolist() == [False, False, False, False, False, False, True, False]


def test_month_first_columns_are_recognised():
    cast = cast_date(text("12/25/2025", "02/01/2025"), COLUMNS["EX FACTORY DATE"])
    assert [v.date().isoformat() for v in cast.values] == ["2025-12-25", "2025-02-01"]


def test_text_is_trimmed_and_over_long_values_are_issues_loaded_as_null():
    cast = cast_text(text("  navy ", "x" * 101, "   ", None), COLUMNS["STYLE DESCRIPTION"])
    assert cast.values.tolist() == ["navy", None, None, None]
    assert cast.invalid.tolist() == [False, True, False, False]
    assert list(cast.issues) == ["VALUE_TOO_LONG"]


def test_year_first_and_spelled_month_dates_but_not_a_month_alone():
    cast = cast_date(
        text("2025/03/01", "1-Mar-2025", "March 5, 2025", "05 Apr 25", "Sep", "31 Feb 2025"),
        COLUMNS["EX FACTORY DATE"],
    )
    got = [None if pd.isna(v) else v.date().isoformat() for v in cast.values]
    assert got == ["2025-03-01", "2025-03-01", "2025-03-05", "2025-04-05", None, None]
    assert cast.invalid.tolist() == [False, False, False, False, True, True]


def test_dates_outside_1990_to_2200_are_invalid_in_every_form_not_a_crash():
    # Typed 3025 for 2025: beyond what pandas' datetime64[ns] holds, it used to fail the whole customer.
    cast = cast_date(
        text("3025-03-01", "01/03/3025", "1 Mar 3025", "3025/03/01", "200000", "05/06/1750", "2200-12-31 10:00"),
        COLUMNS["EX FACTORY DATE"],
    )
    got = [None if pd.isna(v) else v.date().isoformat() for v in cast.values]
    assert got == [None, None, None, None, None, None, "2200-12-31"]
    assert cast.invalid.tolist() == [True] * 6 + [False]
    assert "1990 to 2200" in cast.reason


def test_empty_text_is_blank_even_when_nothing_needs_trimming():
    cast = cast_text(text("A", "", "B"), COLUMNS["STYLE DESCRIPTION"])
    assert cast.values.tolist() == ["A", None, "B"]


def test_dates_with_a_time_zone_keep_the_calendar_date_written():
    cast = cast_date(
        text("2025-03-01T10:00:00Z", "2025-03-01", "2025-03-02T00:30:00+02:00", "2025-03-03T23:00:00-05:00", None),
        COLUMNS["EX FACTORY DATE"],
    )
    got = [None if pd.isna(v) else v.date().isoformat() for v in cast.values]
    assert got == ["2025-03-01", "2025-03-01", "2025-03-02", "2025-03-03", None]
    assert not cast.invalid.any()
    zoned = cast_date(text("2025-03-01T00:00:00.000Z", "2025-03-02T00:00:00.000Z"), COLUMNS["EX FACTORY DATE"])
    assert [v.date().isoformat() for v in zoned.values] == ["2025-03-01", "2025-03-02"]


def test_cells_of_spaces_only_are_blank_not_invalid():
    assert not cast_date(text(" ", "\t"), COLUMNS["EX FACTORY DATE"]).invalid.any()
    assert not cast_integer(text("  "), COLUMNS["TOTAL QTY"]).invalid.any()
    assert not cast_decimal(text(" "), COLUMNS["CUSTOMER PRICE"]).invalid.any()


def test_partial_dates_and_stray_numbers_are_not_made_into_dates():
    cast = cast_date(
        text("2025", "2025-03", "12", "500", "01/02/95", "01/02/29", "01/02/35", " 2025-03-01 "),
        COLUMNS["EX FACTORY DATE"],
    )
    got = [None if pd.isna(v) else v.date().isoformat() for v in cast.values]
    # Two-digit years as Excel reads them: 95 is 1995, 29 is 2029, 35 is 1935 (before 1990: invalid).
    assert got == [None, None, None, None, "1995-02-01", "2029-02-01", None, "2025-03-01"]
    assert cast.invalid.tolist() == [True, True, True, True, False, False, True, False]


def test_decimals_round_half_away_from_zero_as_excel_and_sql_server_do():
    cast = cast_decimal(text("1.03125", "12.34565", "-2.00005", "1.2345499", "2.5"), COLUMNS["CUSTOMER PRICE"])
    assert cast.values.tolist() == [1.0313, 12.3457, -2.0001, 1.2345, 2.5]
