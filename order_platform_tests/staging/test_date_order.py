"""The day/month order of text dates: evidence, precedence, conflicts, region folders."""

import pandas as pd

from order_platform.schema import order_list_schema
from order_platform.staging.customers import CustomerDirectory, customer_directory
from order_platform.staging.date_order import DMY, MDY, DateOrderContext, decide_date_order
from order_platform.staging.dates import DayMonthEvidence, cast_date, day_month_evidence

EX_FACTORY = order_list_schema().by_name["EX FACTORY DATE"]


def text(*values):
    return pd.Series(list(values), dtype=object)


def test_evidence_counts_dates_that_read_only_one_way():
    evidence = day_month_evidence(text("25/12/2025", " 13.01.2025 ", "12/25/2025", "04/05/2025", "2025-05-04", None, 7))
    assert evidence == DayMonthEvidence(day_first=2, month_first=1, cells=4)
    assert day_month_evidence(text()) == DayMonthEvidence()


def test_evidence_wins_then_the_setting_then_memory_then_the_region_then_day_first():
    everything = DateOrderContext(configured=MDY, remembered=DMY, region=MDY, region_folder="USA CUSTOMERS")
    assert decide_date_order(DayMonthEvidence(1, 0, 1), everything).order == DMY
    assert decide_date_order(DayMonthEvidence(0, 2, 2), everything).decided_by == "evidence"
    mixed = DayMonthEvidence(5, 1, 9)  # both kinds: the remembered order stays, else the larger count
    assert decide_date_order(mixed, DateOrderContext(remembered=MDY)).order == MDY
    assert decide_date_order(mixed, DateOrderContext(region=MDY)).order == DMY
    tie = DayMonthEvidence(2, 2, 9)  # contradicting evidence cancels out: the next rule decides
    assert decide_date_order(tie, DateOrderContext(configured=MDY, region=DMY)).decided_by == "configured"
    assert decide_date_order(tie, DateOrderContext(remembered=MDY, region=DMY)).order == MDY
    assert decide_date_order(tie, DateOrderContext(region=MDY)).decided_by == "region"
    assert decide_date_order(tie, DateOrderContext()).order == DMY


def test_a_change_from_the_remembered_order_is_a_note_and_conflicts_are_counted():
    order = decide_date_order(DayMonthEvidence(3, 0, 10), DateOrderContext(remembered=MDY))
    assert order.changed and order.contradicting == 0
    assert "earlier loads read them month first" in order.notes()[0]
    mixed = decide_date_order(DayMonthEvidence(3, 1, 10), DateOrderContext())
    assert not mixed.changed and mixed.contradicting == 1 and "DATE_ORDER_CONFLICT" in mixed.notes()[0]
    same = decide_date_order(DayMonthEvidence(3, 0, 10), DateOrderContext(remembered=DMY))
    assert not same.changed and not same.notes()
    nothing_read = decide_date_order(DayMonthEvidence(), DateOrderContext(remembered=MDY, configured=DMY))
    assert not nothing_read.remember and not nothing_read.changed  # no text dates: nothing to remember


def test_cast_date_reads_the_given_order_and_lists_contradicting_cells():
    cast = cast_date(text("04/05/2025", "25/12/2025", "12/25/2025", "31/02/2025"), EX_FACTORY, day_first=True)
    got = [None if pd.isna(v) else v.date().isoformat() for v in cast.values]
    assert got == ["2025-05-04", "2025-12-25", None, None]
    assert cast.issues["DATE_ORDER_CONFLICT"].tolist() == [False, False, True, False]
    assert cast.issues["NOT_A_DATE"].tolist() == [False, False, False, True]  # 31 February in either order
    month_first = cast_date(text("04/05/2025", "25/12/2025"), EX_FACTORY, day_first=False)
    assert month_first.values.iloc[0].date().isoformat() == "2025-04-05"
    assert month_first.issues["DATE_ORDER_CONFLICT"].tolist() == [False, True]


def test_year_first_text_is_never_read_day_first():
    cast = cast_date(text("2025/03/01", "2025.03.04"), EX_FACTORY, day_first=True)
    assert [v.date().isoformat() for v in cast.values] == ["2025-03-01", "2025-03-04"]


def test_partial_dates_and_excel_errors_have_their_own_reasons():
    cast = cast_date(text("2025", "2025-03", "03/2025", "Mar 2025", "#N/A", "soon", "500"), EX_FACTORY, day_first=True)
    assert cast.values.isna().all()
    assert cast.issues["PARTIAL_DATE"].tolist() == [True, True, True, True, False, False, False]
    assert cast.issues["EXCEL_ERROR"].tolist() == [False, False, False, False, True, False, False]
    assert cast.issues["NOT_A_DATE"].tolist() == [False, False, False, False, False, True, True]


def test_region_folders_match_by_prefix_ignoring_case_nearest_first():
    directory = customer_directory()
    assert directory.region_date_order("USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx") == (MDY, "USA CUSTOMERS")
    assert directory.region_date_order("Orders/aus customers/2025/X ORDER LIST (M3).xlsx") == (DMY, "aus customers")
    assert directory.region_date_order("EU Customers/X ORDER LIST (M3).xlsx")[0] == DMY
    assert directory.region_date_order("_PAST Customers/X ORDER LIST (M3).xlsx") == (None, None)
    assert directory.region_date_order("X ORDER LIST (M3).xlsx") == (None, None)
    assert directory.region_date_order("EU CUSTOMERS/USA/X ORDER LIST (M3).xlsx")[0] == MDY  # the nearest


def test_a_customer_setting_is_found_under_any_of_its_names():
    directory = customer_directory()
    configured = CustomerDirectory(directory.canonical_by_squashed, {"TITLE NINE": MDY}, {})
    assert configured.date_order("TITLE 9") == MDY and configured.date_order("GREYSON") is None
