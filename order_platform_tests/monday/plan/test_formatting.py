import datetime as dt
import math

import pandas as pd
import pytest

from order_platform.monday.plan.formatting import FormatError, build_name, format_quantity, format_value
from order_platform.monday.plan.payloads import build_payloads
from stand_ins.sample_lines import make_lines


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


@pytest.mark.parametrize("value", ["TBC", "V137", "1,20", "1.2.3", True, math.inf, "12 US", "=1+1", "$"])
def test_text_in_a_numbers_column_is_an_error(value):
    with pytest.raises(FormatError) as exc:
        format_value("numbers", value)
    assert exc.value.code == "NOT_A_NUMBER"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1,200", "1200"),
        ("1,234,567.5", "1234567.5"),
        ("$2.50", "2.5"),
        ("US$ 3", "3"),
        ("2.50 USD", "2.5"),
        ("€4", "4"),
        ("-$2.50", "-2.5"),
        ("(2.50)", "-2.5"),
        ("12%", "0.12"),
        ("16.5 %", "0.165"),
        (" 7 ", "7"),
    ],
)
def test_numbers_typed_as_text_are_parsed_where_the_intent_is_clear(text, expected):
    assert format_value("numbers", text) == expected


@pytest.mark.parametrize(
    ("text", "sent"),
    [
        ('=HYPERLINK("http://x")', '\'=HYPERLINK("http://x")'),
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ("+1+cmd|x", "'+1+cmd|x"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1+1", "'=1+1"),
        ("\r\n=1+1", "'=1+1"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-5", "-5"),
        ("+1.5", "+1.5"),
        ("plain - text", "plain - text"),
    ],
)
def test_formula_like_text_is_neutralised(text, sent):
    assert format_value("text", text) == sent
    assert format_value("long_text", text) == {"text": sent}
    assert format_value("dropdown", text) == {"labels": [sent]}
    assert format_value("status", text) == {"label": sent}


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
    assert format_quantity("1,200") == 1200


def test_name_rules_first_non_blank_and_length():
    parts = [["ALIAS/RELATED ITEM", "CUSTOMER STYLE"], ["AAG ORDER NUMBER"]]
    assert build_name({"CUSTOMER STYLE": "S1", "AAG ORDER NUMBER": "GRE-1"}, parts, " ", 255) == "S1 GRE-1"
    assert build_name({"ALIAS/RELATED ITEM": "A", "CUSTOMER STYLE": "S1"}, parts, " ", 255) == "A"
    assert len(build_name({"CUSTOMER STYLE": "x" * 400}, parts, " ", 255)) == 255
    with pytest.raises(FormatError):
        build_name({}, parts, " ", 255)


def test_payloads_group_falls_back_to_aag_season_and_bad_values_are_cleared_cell_issues(config):
    lines = make_lines(4)
    lines.loc[0, "CUSTOMER SEASON"] = None
    lines.loc[0, "AAG SEASON"] = "2025 FALL"
    lines.loc[1, "CUSTOMER SEASON"] = "2026 SPRING"
    lines["DESIGN FEE"] = None
    lines.loc[2, "DESIGN FEE"] = "TBC"  # text in a numbers column
    lines["XS"] = lines["XS"].astype(object)
    lines.loc[3, "XS"] = "lots"  # not a quantity: no subitem for XS, the rest of the line goes on
    built = build_payloads(lines, "GREYSON", config)
    first, second = (built.lines[lines.loc[i, "record_uuid"]] for i in (0, 1))
    assert first.group_title == "GREYSON 2025 FALL"
    assert second.group_title == "GREYSON 2026 SPRING"
    assert first.columns["text_line_id"] == lines.loc[0, "record_uuid"]
    assert all(q > 0 for q in first.sizes.values()) and len(first.sizes) == 5
    assert not built.failures and len(built.lines) == 4
    bad = built.lines[lines.loc[2, "record_uuid"]]
    assert bad.columns["numeric_mkr5h612"] is None
    issues = {(i.record_uuid, i.column): i for i in built.issues}
    issue = issues[(bad.record_uuid, "DESIGN FEE")]
    assert (issue.code, issue.value, issue.monday_column_id) == ("NOT_A_NUMBER", "TBC", "numeric_mkr5h612")
    size_issue = issues[(lines.loc[3, "record_uuid"], "XS")]
    assert size_issue.code == "BAD_QUANTITY"
    assert "XS" not in built.lines[lines.loc[3, "record_uuid"]].sizes


def test_an_item_without_any_name_part_still_gets_a_name(config):
    lines = make_lines(1)
    for column in (
        "ALIAS/RELATED ITEM",
        "CUSTOMER STYLE",
        "CUSTOMER COLOUR DESCRIPTION",
        "AAG ORDER NUMBER",
        "PO NUMBER",
    ):
        lines[column] = None
    built = build_payloads(lines, "GREYSON", config)
    payload = built.lines[lines.loc[0, "record_uuid"]]
    assert payload.item_name.startswith("(no name)") and built.issues[0].code == "EMPTY_NAME"
