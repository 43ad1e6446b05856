"""The default scope follows the season calendar: on the day the scope moves, the lines of the season
that closed are archived and those of the season that opened are created (an injected 'today')."""

import datetime as dt

import pytest

from order_platform.monday import sync_customer
from order_platform.monday.mapping import BoardIds, BoardScope, load_board_config
from order_platform.monday.seasons import SeasonCalendar
from order_platform_tests.monday.test_sync import BOARD, assert_board_matches
from order_platform_tests.monday_fixtures import settings_for
from stand_ins.sample_lines import make_lines


@pytest.mark.parametrize(
    ("day", "seasons"),
    [
        (dt.date(2026, 12, 5), ["2026 HOLIDAY", "2027 SPRING"]),
        (dt.date(2026, 12, 31), ["2026 HOLIDAY", "2027 SPRING"]),
        (dt.date(2027, 1, 1), ["2027 SPRING", "2027 SUMMER"]),
        (dt.date(2027, 7, 1), ["2027 FALL", "2027 HOLIDAY"]),
        (dt.date(2027, 10, 15), ["2027 HOLIDAY", "2028 SPRING"]),
    ],
)
def test_the_open_seasons_of_a_day(day, seasons):
    assert SeasonCalendar().open_seasons(day, 2) == seasons
    scope = load_board_config(today=day).board.scope  # the packaged default: RECEIVED, 2 open seasons
    assert scope.aag_seasons == seasons and scope.order_types == ["RECEIVED"]
    assert f"on {day}" in scope.describe()


def test_a_scope_is_pinned_or_follows_the_calendar_not_both():
    with pytest.raises(ValueError, match="not both"):
        BoardScope(aag_seasons=["2026 FALL"], open_seasons=2)
    with pytest.raises(ValueError, match="cover January to December"):
        SeasonCalendar.model_validate({"seasons": [{"name": "SPRING", "first_month": 1, "last_month": 6}]})
    pinned = load_board_config().with_scope(aag_seasons=["2026 FALL"]).on(dt.date(2030, 1, 1))
    assert pinned.board.scope.aag_seasons == ["2026 FALL"]  # a pinned scope never moves


def test_lines_leave_and_enter_the_board_on_the_day_the_scope_moves(engine, server, make_client, config):
    lines = make_lines(12)
    lines["AAG SEASON"] = ["2026 HOLIDAY"] * 6 + ["2027 SPRING"] * 2 + ["2027 SUMMER"] * 4
    lines["CUSTOMER SEASON"] = None  # the group is the AAG season
    client = make_client(server)

    def sync(day, frame=lines):
        return sync_customer(engine, "GREYSON", frame, client, settings_for(server), config=config, today=day)

    first = sync(dt.date(2026, 12, 5))
    assert (first.status, first.created, first.out_of_scope) == ("success", 8, 4)
    assert_board_matches(server.fake, lines.iloc[:8])
    last_day = sync(dt.date(2026, 12, 31))
    assert last_day.mutations == 0 and last_day.unchanged == 8
    turned = sync(dt.date(2027, 1, 1))  # 2026 HOLIDAY closes (6 of 8 lines: past the guard's half), SUMMER opens
    assert (turned.status, turned.archived, turned.created, turned.unchanged) == ("success", 6, 4, 2)
    assert_board_matches(server.fake, lines.iloc[6:])
    assert "2027 SUMMER" in turned.boards[0]["scope"] and "on 2027-01-01" in turned.boards[0]["scope"]

    empty = sync(dt.date(2027, 1, 2), lines.iloc[6:7])  # 5 of 6 lines gone from the slice itself: guarded
    assert empty.status == "partial" and empty.archived == 0
    assert "5 of 6 lines gone from the ORDER_LIST slice, nothing archived" in empty.message
    assert len(server.fake.active_items(BOARD)) == 6


def test_the_dry_run_plans_the_move_too(engine, config):
    lines = make_lines(6)
    lines["AAG SEASON"] = ["2026 HOLIDAY"] * 3 + ["2027 SUMMER"] * 3
    before = sync_customer(engine, "GREYSON", lines, None, config=config, today=dt.date(2026, 12, 5))
    after = sync_customer(engine, "GREYSON", lines, None, config=config, today=dt.date(2027, 1, 1))
    assert (before.created, before.out_of_scope) == (3, 3) and (after.created, after.out_of_scope) == (3, 3)


def test_two_boards_the_season_shipping_and_the_next(engine, make_server, make_client, config):
    """The README's recipe when two open seasons do not fit one board."""
    shipping = config.board.model_copy(update={"scope": BoardScope(order_types=["RECEIVED"], open_seasons=1)})
    following = BoardIds(id="5550001", name="Next season", scope=BoardScope(order_types=["RECEIVED"], open_seasons=2))
    two = config.with_boards(shipping, following)
    server = make_server()
    server.fake.boards.clear()
    server.fake.seed_from_config(two)
    lines = make_lines(8)
    lines["AAG SEASON"] = ["2026 HOLIDAY"] * 5 + ["2027 SPRING"] * 3
    day = dt.date(2026, 12, 5)
    result = sync_customer(
        engine, "GREYSON", lines, make_client(server, two), settings_for(server), config=two, today=day
    )
    assert result.status == "success" and result.created == 8
    on = {b: {i.values["text_line_id"] for i in server.fake.active_items(b)} for b in (BOARD, "5550001")}
    assert on[BOARD] == set(lines["record_uuid"][:5]) and on["5550001"] == set(lines["record_uuid"][5:])
