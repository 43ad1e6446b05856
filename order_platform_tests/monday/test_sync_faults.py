"""Edits of every kind under 429s, 5xx and answers lost after the commit: the board ends exactly right."""

import pytest

from order_platform.monday.plan.formatting import is_blank
from order_platform_tests.monday.test_sync import BOARD, assert_board_matches, run
from stand_ins.sample_lines import SIZES, make_lines


def assert_values(fake, lines):
    """The item's own cells hold exactly the line's values (blank = no value)."""
    by_id = {i.values["text_line_id"]: i for i in fake.active_items(BOARD)}
    for row in lines.to_dict("records"):
        item = by_id[row["record_uuid"]]
        price = row["CUSTOMER PRICE"]
        assert item.values.get("numeric_mkr5cact") == (None if is_blank(price) else format(price, "g"))
        notes = row["NOTES"]
        assert item.values.get("long_text_mkr5hass") == (None if is_blank(notes) else {"text": notes})
        assert item.values.get("text_mkr5ej2x") == row["PO NUMBER"]


@pytest.mark.parametrize("seed", [1, 2])
def test_every_kind_of_edit_lands_exactly_once_under_faults(engine, make_server, make_client, config, seed):
    server = make_server(rate_limit_every=5, server_error_every=7, drop_after_apply_every=3, retry_after_seconds=0.01)
    knobs = config.with_knobs(batching=config.sync.batching.model_copy(update={"mutations_per_request": 20}))
    client = make_client(server, knobs)
    lines = make_lines(40, seed=seed)
    lines["NOTES"] = "rush"
    first = run(engine, server, client, lines, knobs)
    assert first.status == "success", (first.message, first.failures[:3])
    assert_board_matches(server.fake, lines)
    assert_values(server.fake, lines)

    edited = lines.copy()
    edited.loc[0, "NOTES"] = None  # a cleared long text
    edited.loc[1, "CUSTOMER PRICE"] = None  # a cleared number
    edited.loc[2, "CUSTOMER PRICE"] = 25.0
    edited.loc[3, "CUSTOMER SEASON"] = "SP27"  # a group move
    edited.loc[4, "PO NUMBER"] = "PO-NEW"  # a name change too
    row5 = edited.index[5]
    present = [s for s in SIZES if not is_blank(edited.at[row5, s])]
    absent = [s for s in SIZES if is_blank(edited.at[row5, s])]
    edited.at[row5, present[0]] = 999
    edited.at[row5, present[1]] = None
    edited.at[row5, absent[0]] = 3
    edited = edited.drop(index=edited.index[6])  # cancelled: archived
    second = run(engine, server, client, edited, knobs)
    assert second.status == "success", (second.message, second.failures[:3])
    assert (second.updated, second.archived) == (6, 1)
    assert_board_matches(server.fake, edited)
    assert_values(server.fake, edited)

    again = edited.copy()
    again.loc[2, "CUSTOMER PRICE"] = lines.loc[2, "CUSTOMER PRICE"]  # back to the earlier value
    again.loc[0, "NOTES"] = "rush"  # the earlier text again
    third = run(engine, server, client, again, knobs)
    assert third.status == "success" and third.updated == 2
    assert_values(server.fake, again)
    assert_board_matches(server.fake, again)
    before = server.fake.stats.mutation_requests
    assert run(engine, server, client, again, knobs).mutations == 0
    assert server.fake.stats.mutation_requests == before
    assert (
        server.fake.stats.drops >= 2 and server.fake.stats.responses_5xx >= 1 and server.fake.stats.responses_429 >= 1
    )
