"""Edits of every kind under 429s, 5xx and answers lost after the commit: the board ends exactly right."""

from collections import Counter

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


def assert_no_duplicates(fake):
    """The stand-in's own board: one active item per line id, one subitem per size name."""
    ids = Counter(i.values.get("text_line_id") for i in fake.active_items(BOARD))
    assert all(n == 1 for n in ids.values()), "duplicate items"
    for item in fake.active_items(BOARD):
        names = Counter(s.name for s in fake.subitems_of(item.id))
        assert all(n == 1 for n in names.values()), "duplicate subitems"


FAULT_MIX = {  # the mix: 429s, 5% 5xx, answers dropped after the commit, slow answers
    "rate_limit_rate": 0.1,
    "server_error_rate": 0.05,
    "drop_after_apply_rate": 0.35,
    "delay_seconds": 0.02,
    "retry_after_seconds": 0.01,
}


def test_the_fault_mix_never_ends_a_sync_that_makes_progress(engine, make_server, make_client, config):
    """Under 429s, 5xx and dropped answers the sync keeps going (ambiguous batches looked up and split)
    and the board is right after the first run: values and subitems, no duplicate. The old executor
    stopped after 4 ambiguous batches in a row."""
    seed = 3
    server = make_server(fault_seed=seed, **FAULT_MIX)
    knobs = config.with_knobs(
        batching=config.sync.batching.model_copy(update={"mutations_per_request": 25}),
        retry=config.sync.retry.model_copy(update={"abort_after_consecutive_failures": 3}),
    )
    lines = make_lines(100, seed=seed)
    result = run(engine, server, make_client(server, knobs), lines, knobs)
    assert result.status == "success", (result.message, result.failures[:3])
    assert result.created == 100 and not result.failures
    assert_board_matches(server.fake, lines)
    assert_values(server.fake, lines)
    assert_no_duplicates(server.fake)

    edited = lines.copy()  # every line changes: a price, one size's quantity, a size gone
    edited["CUSTOMER PRICE"] = (edited["CUSTOMER PRICE"] + 1).round(2)
    for row in edited.index:
        present = [s for s in SIZES if not is_blank(edited.at[row, s])]
        edited.at[row, present[0]] = int(edited.at[row, present[0]]) + 100
        edited.at[row, present[1]] = None
    second = run(engine, server, make_client(server, knobs), edited, knobs)
    assert second.status == "success", (second.message, second.failures[:3])
    assert second.updated == 100
    assert_board_matches(server.fake, edited)
    assert_values(server.fake, edited)
    assert_no_duplicates(server.fake)
    stats = server.fake.stats  # the mix did hit both runs
    assert stats.drops >= 5 and stats.responses_5xx >= 1 and stats.responses_429 >= 1


def test_slow_answers_past_the_timeout_split_the_batch_and_still_converge(engine, make_server, make_client, config):
    """Answers slower than the client's timeout: applied but unseen. The batch halves, creates are
    looked up, nothing is duplicated, and the board ends right."""
    server = make_server()
    knobs = config.with_knobs(
        batching=config.sync.batching.model_copy(update={"mutations_per_request": 16}),
        retry=config.sync.retry.model_copy(update={"timeout_seconds": 0.3}),
    )
    client = make_client(server, knobs)
    real_mutate, calls = client.mutate, {"n": 0}

    def slow_every_third(*args, **kwargs):
        calls["n"] += 1
        server.fake.delay_seconds = 0.5 if calls["n"] % 3 == 0 else 0.0  # the stand-in answers late
        try:
            return real_mutate(*args, **kwargs)
        finally:
            server.fake.delay_seconds = 0.0

    client.mutate = slow_every_third  # type: ignore[method-assign]
    lines = make_lines(20)
    result = run(engine, server, client, lines, knobs)
    server.fake.delay_seconds = 0.0
    assert result.status == "success", (result.message, result.failures[:3])
    assert client.stats.ambiguous >= 2
    assert_board_matches(server.fake, lines)
    assert_no_duplicates(server.fake)


def test_a_sync_stops_only_when_nothing_completes_and_the_next_run_resumes(engine, make_server, make_client, config):
    server = make_server()
    knobs = config.with_knobs(batching=config.sync.batching.model_copy(update={"mutations_per_request": 8}))
    client = make_client(server, knobs)
    real_mutate, calls = client.mutate, {"n": 0}

    def outage_after_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            server.fake.mutation_error_rate = 1.0  # every write answers 503 (reads still work)
        return real_mutate(*args, **kwargs)

    client.mutate = outage_after_two  # type: ignore[method-assign]
    lines = make_lines(20)
    first = run(engine, server, client, lines, knobs)
    assert first.status == "failed"
    assert "nothing applied in between, down to batches of 1" in first.message
    assert "the next run resumes" in first.message
    assert server.fake.active_items(BOARD)  # two batches landed before the outage
    server.fake.mutation_error_rate = 0.0
    second = run(engine, server, make_client(server, knobs), lines, knobs)
    assert second.status == "success", (second.message, second.failures[:3])
    assert_board_matches(server.fake, lines)
    assert_no_duplicates(server.fake)


def test_an_outage_stops_the_sync_with_the_reason_and_the_next_run_resumes(engine, make_server, make_client, config):
    server = make_server()
    client = make_client(server)
    lines = make_lines(10)
    server.fake.server_error_rate = 1.0  # nothing answers: reads and writes
    first = run(engine, server, client, lines, config)
    assert first.status == "failed" and "the next run resumes" in first.message
    server.fake.server_error_rate = 0.0
    assert run(engine, server, client, lines, config).status == "success"
    assert_board_matches(server.fake, lines)


def test_a_real_limit_stops_the_sync_says_so_and_the_next_run_resumes(engine, make_server, make_client, config):
    server = make_server(retry_after_seconds=0.01)
    knobs = config.with_knobs(
        batching=config.sync.batching.model_copy(update={"mutations_per_request": 10}),
        retry=config.sync.retry.model_copy(update={"max_rate_limit_waits": 3}),
    )
    client = make_client(server, knobs)
    real_mutate, calls = client.mutate, {"n": 0}

    def budget_gone_after_two(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 3:
            server.fake.rate_limit_rate = 1.0  # every request is rate limited from now on
        return real_mutate(*args, **kwargs)

    client.mutate = budget_gone_after_two  # type: ignore[method-assign]
    lines = make_lines(10)
    first = run(engine, server, client, lines, knobs)
    assert first.status == "failed" and "stopped at monday.com's limit; the next run resumes" in first.message
    server.fake.rate_limit_rate = 0.0
    second = run(engine, server, make_client(server, knobs), lines, knobs)
    assert second.status == "success", (second.message, second.failures[:3])
    assert_board_matches(server.fake, lines)
    assert_no_duplicates(server.fake)
