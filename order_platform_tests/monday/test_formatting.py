import datetime as dt
import math

import pandas as pd
import pytest

from order_platform.monday.formatting import FormatError, build_name, format_quantity, format_value
from order_platform.monday.payloads import build_payloads
from order_platform.stand_ins.sample_lines import make_lines


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (42.5, "42.5"),
        (12.0, "12"),
        (0.0001, "0.0001"),
        (1e-7, "0.0000001"),
        (7, "7"),
        ("1200", "1200"),
        (-3.25, "-3.25"),
        (0.165, "0.165"),
    ],
)
def test_numbers_are_plain_decimal_strings(value, expected):
    assert format_value("numbers", value) == expected


@pytest.mark.parametrize("value", ["TBC", "1,200", True, math.inf, "12 USD"])
def test_text_in_a_numbers_column_is_an_error(value):
    with pytest.raises(FormatError) as exc:
        format_value("numbers", value)
    assert exc.value.code == "NOT_A_NUMBER"


def test_column_types():
    assert format_value("date", dt.date(2025, 3, 4)) == {"date": "2025-03-04"}
    assert format_value("date", pd.Timestamp("2025-03-04 00:00")) == {"date": "2025-03-04"}
    assert format_value("date", "2025-03-04") == {"date": "2025-03-04"}
    with pytest.raises(FormatError):
        format_value("date", "TBC")
    with pytest.raises(FormatError):
        format_value("date", "00/00/00")
    assert format_value("dropdown", " 2025 FALL ") == {"labels": ["2025 FALL"]}
    assert format_value("status", "EA") == {"label": "EA"}
    assert format_value("long_text", "navy") == {"text": "navy"}
    assert format_value("text", 12.5) == "12.5"  # a decimal feeding a text column (HANDLING)
    assert format_value("text", "PO1") == "PO1"
    for blank in (None, "", "  ", float("nan"), pd.NA, pd.NaT):
        assert format_value("text", blank) is None
    with pytest.raises(FormatError) as exc:
        format_value("long_text", "x" * 2001)
    assert exc.value.code == "TEXT_TOO_LONG"
    assert format_value("long_text", "x" * 2000) == {"text": "x" * 2000}


def test_quantities():
    assert format_quantity(12.0) == 12
    assert format_quantity(None) == 0
    assert format_quantity(pd.NA) == 0
    with pytest.raises(FormatError):
        format_quantity(1.5)
    with pytest.raises(FormatError):
        format_quantity("lots")


def test_name_rules_first_non_blank_and_length():
    parts = [["ALIAS/RELATED ITEM", "CUSTOMER STYLE"], ["AAG ORDER NUMBER"]]
    assert build_name({"CUSTOMER STYLE": "S1", "AAG ORDER NUMBER": "GRE-1"}, parts, " ", 255) == "S1 GRE-1"
    assert build_name({"ALIAS/RELATED ITEM": "A", "CUSTOMER STYLE": "S1"}, parts, " ", 255) == "A"
    assert len(build_name({"CUSTOMER STYLE": "x" * 400}, parts, " ", 255)) == 255
    with pytest.raises(FormatError):
        build_name({}, parts, " ", 255)


def test_payloads_group_falls_back_to_aag_season_and_bad_values_fail_the_line(config):
    lines = make_lines(3)
    lines.loc[0, "CUSTOMER SEASON"] = None
    lines.loc[0, "AAG SEASON"] = "2025 FALL"
    lines.loc[1, "CUSTOMER SEASON"] = "2026 SPRING"
    lines["DESIGN FEE"] = None
    lines.loc[2, "DESIGN FEE"] = "TBC"  # text in a numbers column
    payloads, failures = build_payloads(lines, "GREYSON", config)
    first, second = (payloads[lines.loc[i, "record_uuid"]] for i in (0, 1))
    assert first.group_title == "GREYSON 2025 FALL"
    assert second.group_title == "GREYSON 2026 SPRING"
    assert first.columns["text_line_id"] == lines.loc[0, "record_uuid"]
    assert all(q > 0 for q in first.sizes.values()) and len(first.sizes) == 5
    bad = failures[lines.loc[2, "record_uuid"]]
    assert bad.code == "NOT_A_NUMBER" and "DESIGN FEE" in bad.message
    assert bad.payload["DESIGN FEE"] == "TBC"
