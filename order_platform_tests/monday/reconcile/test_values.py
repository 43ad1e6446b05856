"""What a cell shows vs. what the planner sends: compared on the text monday.com reads back."""

from order_platform.monday.reconcile.values import same, shown_text, subitem_quantity


def test_the_text_of_each_api_value_is_what_people_see():
    assert shown_text("date", {"date": "2026-03-01"}) == "2026-03-01"
    assert shown_text("long_text", {"text": "line one"}) == "line one"
    assert shown_text("status", {"label": "EA"}) == "EA"
    assert shown_text("dropdown", {"labels": ["GREYSON", "FA26"]}) == "GREYSON, FA26"
    assert shown_text("numbers", "12.5") == "12.5" and shown_text("text", None) == ""


def test_numbers_compare_as_numbers_and_blanks_are_blank():
    assert same("numbers", "12.50", "12.5") and not same("numbers", "99", "12.5")
    assert same("text", " PO1 ", "PO1") and not same("text", "po1", "PO1")
    assert same("numbers", "", "") and not same("numbers", "0", "")  # "" on a number is 0, not blank
    assert subitem_quantity("24") == 24 and subitem_quantity("24.0") == 24 and subitem_quantity("2.5") is None
    assert subitem_quantity("") is None
