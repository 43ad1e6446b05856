"""The run-wide item-limit check (monday/capacity.py) against the stand-in board and the sync state."""

import pandas as pd

from order_platform.monday.capacity import plan_capacity, refusals
from order_platform.monday.plan.lines import as_source
from order_platform_tests.monday.test_sync import BOARD, run
from stand_ins.sample_lines import make_lines


def test_the_whole_run_is_counted_creations_and_archives_of_every_customer(engine, server, make_client, config):
    client = make_client(server)
    first = make_lines(20)
    assert run(engine, server, client, first, config).status == "success"
    greyson = pd.concat([first.iloc[5:], make_lines(10, seed=21)])  # 5 lines gone (archived), 10 new
    other = make_lines(10, "OTHER", seed=22)
    sources = {"GREYSON": as_source(greyson), "OTHER": as_source(other)}

    def check(limit, archived_items_count=True, live=True):
        board = config.board.model_copy(update={"item_limit": limit, "archived_items_count": archived_items_count})
        loads = plan_capacity(engine, sources, client if live else None, config.with_boards(board))
        return loads[0], refusals(loads, dry_run=not live)

    load, refused = check(40)  # 20 there + 10 + 10 created; archived items stay counted
    assert (load.holds, load.creates, load.archives, load.projected) == (
        20,
        {"GREYSON": 10, "OTHER": 10},
        {"GREYSON": 5},
        40,
    )
    assert load.counted_by == "the board says" and not refused
    load, refused = check(39)
    assert set(refused) == {"GREYSON", "OTHER"}
    assert "would hold 40 items" in refused["OTHER"] and "10 of them OTHER's" in refused["OTHER"]
    assert "its 5 archived items stay counted" in refused["GREYSON"]
    load, refused = check(36, archived_items_count=False)  # a board whose archives free room: 35
    assert load.projected == 35 and not refused
    load, refused = check(30, live=False)  # a dry run counts what the state knows
    assert load.counted_by == "as far as the sync state knows" and load.holds == 20
    assert "a live run would send nothing" in refused["GREYSON"]
    assert len(server.fake.active_items(BOARD)) == 20


def test_a_run_that_creates_nothing_does_not_read_the_board(engine, server, make_client, config):
    client = make_client(server)
    lines = make_lines(5)
    run(engine, server, client, lines, config)
    before = server.fake.stats.requests
    [load] = plan_capacity(engine, {"GREYSON": as_source(lines)}, client, config)
    assert not load.creates and load.customers == {"GREYSON"} and server.fake.stats.requests == before
