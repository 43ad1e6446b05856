"""Figures and reasons as the UI shows them: thousands separators, reasons in words, no Python dicts."""

from order_platform.defs.formatting import by_column, by_reason, count, listing, number, rate, seconds, size
from order_platform.staging.checks import in_words


def test_counts_have_thousands_separators_and_units():
    assert count(20191).value == "20,191"
    assert rate(41175.8).value == "41,176 rows/s"
    assert seconds(0.4912).value == "0.49 s" and seconds(75.25).value == "75.2 s"
    assert size(1234567).value == "1.2 MB (1,234,567 bytes)"
    assert number(None) == "-"


def test_reasons_read_as_words_not_dicts():
    assert by_reason({"PARTIAL_DATE": 1, "NOT_A_NUMBER": 1200}) == "not a number 1,200, partial date 1"
    assert in_words({"PARTIAL_DATE": 1}) == "partial date 1"
    assert by_column({"EX FACTORY DATE": {"PARTIAL_DATE": 2}, "CUSTOMER PRICE": {"NOT_A_NUMBER": 1}}) == (
        "CUSTOMER PRICE: not a number 1\nEX FACTORY DATE: partial date 2"
    )
    assert by_reason({}) == "none" and listing([]) == "none"
    assert listing([f"H{i}" for i in range(25)], limit=2) == "H0, H1 ... and 23 more"
    for text in (by_reason({"TOTAL_ROW": 2}), by_column({"S": {"NOT_A_WHOLE_NUMBER": 3}})):
        assert "{" not in text and "'" not in text
