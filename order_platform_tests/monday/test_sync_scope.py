"""Board scope and limits, several boards, targeted sync, duplicates: end to end against the stand-in."""

from collections import Counter

import pytest
import sqlalchemy as sa

from order_platform.monday import Target, TargetError, sync_customer
from order_platform.monday.mapping import BoardIds, BoardScope
from order_platform.monday.state import sync_state as st
from order_platform_tests.monday.test_sync import BOARD, assert_board_matches, run
from order_platform_tests.monday_fixtures import settings_for
from stand_ins.sample_lines import AAG_SEASON, make_lines

OTHER_BOARD = "7777777701"


def small_batches(config, mutations=100):
    return config.with_knobs(batching=config.sync.batching.model_copy(update={"mutations_per_request": mutations}))


def test_lines_outside_the_default_scope_stay_off_the_board_and_leave_it_when_they_go_out(
    engine, server, make_client, config
):
    lines = make_lines(12)
    lines.loc[0, "ORDER TYPE"] = "CANCELLED"
    lines.loc[1, "AAG SEASON"] = "2025 SPRING"
    client = make_client(server)
    result = run(engine, server, client, lines, config)
    assert (result.lines, result.created, result.out_of_scope, result.status) == (10, 10, 2, "success")
    assert_board_matches(server.fake, lines.iloc[2:])
    lines.loc[2, "ORDER TYPE"] = "CANCELLED"  # out of scope now: archived
    again = run(engine, server, client, lines, config)
    assert (again.archived, again.unchanged, again.out_of_scope) == (1, 9, 3)
    assert_board_matches(server.fake, lines.iloc[3:])


def test_a_plan_over_the_board_limit_is_refused_before_anything_is_sent(engine, server, make_client, config):
    server.fake.boards[BOARD].item_limit = 25
    limited = config.with_boards(config.board.model_copy(update={"item_limit": 25}))
    client = make_client(server, limited)
    first = run(engine, server, client, make_lines(20), limited)
    assert first.status == "success"
    mutations = server.fake.stats.mutation_requests
    refused = run(engine, server, client, make_lines(30, seed=9), limited)  # 30 new lines: 20 + 30 > 25
    assert refused.status == "refused" and not refused.ok
    assert "holds 20 items" in refused.message and "creates 30" in refused.message and "limit of 25" in refused.message
    assert server.fake.stats.mutation_requests == mutations and refused.mutations == 0
    dry = sync_customer(engine, "NEW", make_lines(30, seed=9), None, settings_for(server), config=limited)
    assert dry.status == "refused" and "as far as the sync state knows" in dry.message


def test_several_boards_one_per_scope(engine, make_server, make_client, config):
    fall = config.board.model_copy(update={"scope": BoardScope(customer_seasons=["FA26"], aag_seasons=[AAG_SEASON])})
    rest = BoardIds(id=OTHER_BOARD, name="Holiday", scope=BoardScope(aag_seasons=[AAG_SEASON]))
    two = config.with_boards(fall, rest)
    server = make_server()
    server.fake.boards.clear()
    server.fake.seed_from_config(two)
    lines = make_lines(30)
    client = make_client(server, two)
    result = run(engine, server, client, lines, two)
    assert result.status == "success" and result.created == 30 and len(result.boards) == 2
    on_fall = lines[lines["CUSTOMER SEASON"] == "FA26"]
    assert 0 < len(on_fall) < 30
    fall_ids = Counter(i.values["text_line_id"] for i in server.fake.active_items(BOARD))
    other_ids = Counter(i.values["text_line_id"] for i in server.fake.active_items(OTHER_BOARD))
    assert fall_ids == Counter(on_fall["record_uuid"])
    assert sum(other_ids.values()) == 30 - len(on_fall) and not set(fall_ids) & set(other_ids)
    moved = lines.index[lines["CUSTOMER SEASON"] == "FA26"][0]
    lines.loc[moved, "CUSTOMER SEASON"] = "HOLIDAY 26"  # leaves board 1's scope: archived there, created on 2
    again = run(engine, server, client, lines, two)
    assert (again.archived, again.created) == (1, 1)
    assert run(engine, server, client, lines, two).mutations == 0


def test_targeted_sync_of_one_po_touches_only_its_lines(engine, server, make_client, config):
    lines = make_lines(10)
    client = make_client(server)
    run(engine, server, client, lines.iloc[:8], config)
    po = lines.loc[9, "PO NUMBER"]
    lines.loc[0, "CUSTOMER PRICE"] = 77.0  # changed, but not in the target
    target = Target(po_number=f" {po.lower()} ")
    result = sync_customer(engine, "GREYSON", lines, client, settings_for(server), config=config, target=target)
    assert (result.lines, result.created, result.updated, result.archived) == (1, 1, 0, 0)
    assert result.target == f"PO NUMBER = ' {po.lower()} '"
    assert server.fake.items_with_value(BOARD, "text_line_id", lines.loc[9, "record_uuid"])
    shorter = lines.iloc[1:]  # line 0 gone from the slice: a targeted sync archives nothing
    season = sync_customer(
        engine,
        "GREYSON",
        shorter,
        client,
        settings_for(server),
        config=config,
        target=Target(aag_season=AAG_SEASON.lower()),
    )
    assert (season.archived, season.created) == (0, 1)
    with pytest.raises(TargetError):
        Target()
    with pytest.raises(TargetError):
        Target(po_number="  ")


def test_no_duplicate_subitems_when_answers_are_lost_for_many_parents(engine, make_server, make_client, config):
    server = make_server(drop_after_apply_every=2)
    lines = make_lines(80, sizes_per_line=2)  # a subitem batch of 100 spans 50 parents (> the default 25)
    knobs = small_batches(config)
    result = run(engine, server, make_client(server, knobs), lines, knobs)
    assert server.fake.stats.drops >= 2
    assert result.status == "success", (result.message, result.failures[:3])
    assert_board_matches(server.fake, lines)
    assert result.duplicates_found == 0


def test_duplicates_from_any_cause_are_reported_and_removed_keeping_one(engine, server, make_client, config):
    lines = make_lines(5)
    client = make_client(server)
    run(engine, server, client, lines, config)
    fake = server.fake
    original = fake.items_with_value(BOARD, "text_line_id", lines.loc[0, "record_uuid"])[0]
    copy = fake._m_create_item(None, None, BOARD, original.name, original.group_id)
    fake.items[copy["id"]].values = dict(original.values)  # a second item with the same line id
    first_sub = fake.subitems_of(original.id)[0]
    fake._m_create_subitem(None, None, original.id, first_sub.name)  # a second subitem of one size
    result = sync_customer(engine, "GREYSON", lines, client, settings_for(server), config=config, audit=True)
    assert (result.duplicates_found, result.duplicates_removed, result.status) == (2, 2, "success")
    assert_board_matches(fake, lines)
    assert fake.items_with_value(BOARD, "text_line_id", lines.loc[0, "record_uuid"])[0].id == original.id
    assert run(engine, server, client, lines, config).mutations == 0


def test_group_change_moves_the_item(engine, server, make_client, config):
    lines = make_lines(3)
    client = make_client(server)
    run(engine, server, client, lines, config)
    lines.loc[0, "CUSTOMER SEASON"] = "SP27"
    result = run(engine, server, client, lines, config)
    assert result.updated == 1 and server.fake.stats.mutations.get("move_item_to_group") == 1
    assert_board_matches(server.fake, lines)
    with engine.connect() as conn:
        titles = set(conn.execute(sa.select(st.line_table.c.group_title)).scalars())
    assert "GREYSON SP27" in titles


def test_a_board_fuller_than_configured_stops_the_creates_at_its_first_refusal(engine, server, make_client, config):
    server.fake.boards[BOARD].item_limit = 25  # the board's real limit, lower than the configured one
    knobs = small_batches(config, 10)
    client = make_client(server, knobs)
    result = run(engine, server, client, make_lines(40), knobs)
    assert result.status == "partial" and result.created == 25 and result.failed == 15
    assert {f["code"] for f in result.failures} == {"ItemsLimitationException"}
    assert server.fake.stats.mutations["create_item"] <= 25 + 10  # at most one batch refused on the board
    assert len(server.fake.active_items(BOARD)) == 25


def test_the_item_count_is_counted_page_by_page_when_the_api_has_no_items_count(server, make_client, config):
    from order_platform.monday.apply.board import read_items_count

    for n in range(30):
        server.fake._m_create_item(None, None, BOARD, f"i{n}")
    client = make_client(server)
    assert read_items_count(client, BOARD) == 30
    board_type = server.fake.schema.type_map["Board"]
    del board_type.fields["items_count"]  # an API without the field: validation rejects the query
    assert read_items_count(client, BOARD, page_limit=7) == 30
