"""End to end over real HTTP: the sync against the strict fake board."""

import json
from collections import Counter

import pytest
import sqlalchemy as sa

from order_platform.monday import sync_customer
from order_platform.monday.mapping import Complexity
from order_platform.monday.plan.formatting import is_blank
from order_platform.monday.state import sync_state as st
from order_platform_tests.monday_fixtures import settings_for
from stand_ins.sample_lines import SIZES, make_lines

BOARD = "9609317401"
SUB_BOARD = "9609317948"


def run(engine, server, client, lines, config, customer="GREYSON"):
    return sync_customer(engine, customer, lines, client, settings_for(server), config=config)


def assert_board_matches(fake, lines):
    """Exactly one active item per line, in the right group, with one subitem per size > 0."""
    items = fake.active_items(BOARD)
    ids = Counter(item.values.get("text_line_id") for item in items)
    assert ids == Counter(lines["record_uuid"]), "duplicates or missing items"
    by_id = {item.values["text_line_id"]: item for item in items}
    for row in lines.to_dict("records"):
        item = by_id[row["record_uuid"]]
        group = fake.boards[BOARD].groups[item.group_id]
        season = row["AAG SEASON"] if is_blank(row["CUSTOMER SEASON"]) else row["CUSTOMER SEASON"]
        assert group == f"GREYSON {season}"
        wanted = {s: int(row[s]) for s in SIZES if not is_blank(row[s]) and int(row[s]) > 0}
        subs = {s.name: s for s in fake.subitems_of(item.id)}
        assert len(fake.subitems_of(item.id)) == len(subs), "duplicate subitems"
        assert set(subs) == {f"Size {s}" for s in wanted}
        for size, qty in wanted.items():
            assert subs[f"Size {size}"].values["numeric_mkra7j8e"] == str(qty)
            assert subs[f"Size {size}"].values["dropdown_mkrak7qp"] == {"labels": [size]}


def test_full_sync_then_unchanged_rerun(engine, server, make_client, config):
    lines = make_lines(120)
    client = make_client(server)
    result = run(engine, server, client, lines, config)
    assert result.status == "success", result.failures
    assert (result.created, result.failed, result.unchanged) == (120, 0, 0)
    assert result.requests_per_line <= 0.2
    assert result.mutations == 120 * 6 + 3  # item + 5 subitems per line, + 3 season groups
    assert result.complexity_spent == server.fake.stats.complexity_spent
    assert result.sample_payloads and isinstance(result.sample_payloads[0]["variables"], dict)
    assert_board_matches(server.fake, lines)
    item = server.fake.items_with_value(BOARD, "text_line_id", lines.loc[0, "record_uuid"])[0]
    assert item.values["numeric_mkr5cact"] == format(lines.loc[0, "CUSTOMER PRICE"], "g")
    assert item.values["dropdown_mkr542p2"] == {"labels": ["GREYSON"]}
    assert item.values["date_mkr5zp5"] == {"date": "2025-01-01"}

    before = server.fake.stats.requests
    again = run(engine, server, client, lines, config)
    assert (again.unchanged, again.created, again.updated, again.requests, again.mutations) == (
        120,
        0,
        0,
        0,
        0,
    )
    assert server.fake.stats.requests == before
    with engine.connect() as conn:
        runs = conn.execute(
            sa.select(st.run_table.c.status, st.run_table.c.created, st.run_table.c.unchanged).order_by(
                st.run_table.c.run_id
            )
        ).all()
    assert runs == [("success", 120, 0), ("success", 0, 120)]


def test_changes_update_items_and_subitems_and_cancelled_lines_are_archived(engine, server, make_client, config):
    lines = make_lines(40)
    client = make_client(server)
    run(engine, server, client, lines, config)
    changed = lines.copy()
    row0 = changed.index[0]
    present = [size for size in SIZES if not is_blank(changed.at[row0, size])]
    absent = [size for size in SIZES if is_blank(changed.at[row0, size])]
    changed.at[row0, present[0]] = 999  # changed quantity
    changed.at[row0, present[1]] = None  # size gone -> subitem deleted
    changed.at[row0, absent[0]] = 7  # new size -> subitem created
    changed.at[changed.index[1], "CUSTOMER PRICE"] = 1.5  # item value
    changed.at[changed.index[2], "CUSTOMER SEASON"] = "2027 WINTER"  # new group
    cancelled = changed.loc[changed.index[3], "record_uuid"]
    changed = changed.drop(index=changed.index[3])

    result = run(engine, server, client, changed, config)
    assert result.status == "success", result.failures
    assert (result.updated, result.archived, result.unchanged, result.created) == (3, 1, 36, 0)
    assert_board_matches(server.fake, changed)
    assert "GREYSON 2027 WINTER" in server.fake.boards[BOARD].groups.values()
    archived = [i for i in server.fake.items.values() if i.values.get("text_line_id") == cancelled]
    assert [i.state for i in archived] == ["archived"]
    assert run(engine, server, client, changed, config).mutations == 0


def test_unformattable_cells_are_cleared_reported_and_the_line_still_goes_to_the_board(
    engine, server, make_client, config
):
    lines = make_lines(10)
    lines["DESIGN FEE"] = None
    lines.loc[4, "DESIGN FEE"] = "V137"  # text in a numbers column
    lines.loc[5, "DESIGN FEE"] = "$2.50"  # clear intent: 2.5
    lines.loc[6, "NOTES"] = '=HYPERLINK("http://x","y")'  # formula-like text
    bad, formula = lines.loc[4, "record_uuid"], lines.loc[6, "record_uuid"]
    client = make_client(server)
    result = run(engine, server, client, lines, config)
    assert (result.created, result.failed, result.status, result.cell_issues) == (10, 0, "success", 2)
    assert_board_matches(server.fake, lines)
    item = server.fake.items_with_value(BOARD, "text_line_id", bad)[0]
    assert "numeric_mkr5h612" not in item.values
    assert (
        server.fake.items_with_value(BOARD, "text_line_id", lines.loc[5, "record_uuid"])[0].values["numeric_mkr5h612"]
        == "2.5"
    )
    assert server.fake.items_with_value(BOARD, "text_line_id", formula)[0].values["long_text_mkr5hass"] == {
        "text": '\'=HYPERLINK("http://x","y")'
    }
    by_line = {i["record_uuid"]: i for i in result.cell_issue_sample}
    assert (by_line[bad]["code"], by_line[bad]["column"], by_line[bad]["value"]) == (
        "NOT_A_NUMBER",
        "DESIGN FEE",
        "V137",
    )
    assert by_line[formula]["code"] == "FORMULA_NEUTRALISED"
    with engine.connect() as conn:
        stored = conn.execute(sa.select(st.cell_issue_table.c.record_uuid, st.cell_issue_table.c.code)).all()
    assert sorted(stored) == sorted([(bad, "NOT_A_NUMBER"), (formula, "FORMULA_NEUTRALISED")])

    lines.loc[4, "DESIGN FEE"] = "12.5"
    fixed = run(engine, server, client, lines, config)
    assert (fixed.updated, fixed.unchanged, fixed.cell_issues, fixed.status) == (1, 9, 1, "success")
    assert server.fake.items_with_value(BOARD, "text_line_id", bad)[0].values["numeric_mkr5h612"] == "12.5"
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(st.cell_issue_table)).scalar() == 1


def test_an_update_sends_exactly_the_changed_cells_and_clears_with_null(engine, server, make_client, config):
    lines = make_lines(3)
    lines["NOTES"] = "rush"
    client = make_client(server)
    run(engine, server, client, lines, config)
    sent: list[dict] = []
    real = client.mutate

    def spy(document, variables=None, **kwargs):
        sent.append(dict(variables or {}))
        return real(document, variables, **kwargs)

    client.mutate = spy  # type: ignore[method-assign]
    lines.loc[0, "NOTES"] = None  # a long text cleared
    lines.loc[0, "CUSTOMER PRICE"] = None  # a number cleared
    lines.loc[1, "CUSTOMER PRICE"] = 99.5
    result = run(engine, server, client, lines, config)
    assert (result.updated, result.unchanged) == (2, 1)
    values = sorted((json.loads(v) for batch in sent for k, v in batch.items() if k.startswith("v")), key=str)
    expected = [{"long_text_mkr5hass": None, "numeric_mkr5cact": None}, {"numeric_mkr5cact": "99.5"}]
    assert values == sorted(expected, key=str)
    first = server.fake.items_with_value(BOARD, "text_line_id", lines.loc[0, "record_uuid"])[0]
    assert "long_text_mkr5hass" not in first.values and "numeric_mkr5cact" not in first.values
    assert run(engine, server, client, lines, config).mutations == 0


def test_a_repeated_earlier_value_is_applied(engine, server, make_client, config):
    lines = make_lines(2)
    client = make_client(server)
    uuid = lines.loc[0, "record_uuid"]
    for price in (24.0, 25.0, 24.0, 25.0):
        lines.loc[0, "CUSTOMER PRICE"] = price
        run(engine, server, client, lines, config)
        item = server.fake.items_with_value(BOARD, "text_line_id", uuid)[0]
        assert item.values["numeric_mkr5cact"] == format(price, "g")
    assert server.fake.stats.replays == 0


def test_dry_run_plans_and_stores_without_sending(engine, server, config):
    lines = make_lines(15)
    result = sync_customer(engine, "GREYSON", lines, None, settings_for(server), config=config)
    assert (result.status, result.created, result.requests) == ("dry_run", 15, 0)
    assert server.fake.stats.requests == 0
    assert result.plan[0]["column_values"]["text_line_id"] == result.plan[0]["record_uuid"]
    assert result.sample_payloads
    with engine.connect() as conn:
        stored = conn.execute(sa.select(st.plan_table.c.action)).scalars().all()
    assert stored == ["create"] * 15


@pytest.mark.parametrize("every", [2, 3])
def test_dropped_connections_after_apply_never_duplicate(engine, make_server, make_client, config, every):
    server = make_server(drop_after_apply_every=every)
    lines = make_lines(60)
    small = config.with_knobs(batching=config.sync.batching.model_copy(update={"mutations_per_request": 25}))
    client = make_client(server, small)
    result = run(engine, server, client, lines, small)
    assert server.fake.stats.drops >= 3
    assert result.status == "success", (result.message, result.failures[:3])
    assert_board_matches(server.fake, lines)
    assert run(engine, server, client, lines, small).mutations == 0


def test_run_killed_after_a_batch_was_applied_resumes_without_duplicates(engine, server, make_client, config):
    lines = make_lines(50)
    small = config.with_knobs(batching=config.sync.batching.model_copy(update={"mutations_per_request": 30}))
    client = make_client(server, small)
    real_mutate, calls = client.mutate, {"n": 0}

    def mutate_then_die(*args, **kwargs):
        response = real_mutate(*args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 4:  # applied on the board, the process dies before saving state
            raise KeyboardInterrupt
        return response

    client.mutate = mutate_then_die  # type: ignore[method-assign]
    with pytest.raises(KeyboardInterrupt):
        run(engine, server, client, lines, small)
    client.mutate = real_mutate  # type: ignore[method-assign]
    with engine.connect() as conn:
        creating = sum(
            conn.execute(sa.select(sa.func.count()).select_from(t).where(t.c.status == "creating")).scalar()
            for t in (st.line_table, st.subitem_table)
        )
        last_run = conn.execute(sa.select(st.run_table.c.status)).scalar()
    assert last_run == "failed"
    assert creating == 30  # the applied-but-unsaved batch is marked, to be looked up
    result = run(engine, server, client, lines, small)
    assert result.status == "success", result.failures[:3]
    assert_board_matches(server.fake, lines)


def test_rate_limits_and_server_errors_are_survived(engine, make_server, make_client, config):
    server = make_server(rate_limit_every=4, server_error_every=7, retry_after_seconds=0.05)
    lines = make_lines(40)
    small = config.with_knobs(batching=config.sync.batching.model_copy(update={"mutations_per_request": 20}))
    result = run(engine, server, make_client(server, small), lines, small)
    assert result.status == "success", (result.message, result.failures[:3])
    assert result.rate_limited >= 1 and server.fake.stats.responses_5xx >= 1
    assert_board_matches(server.fake, lines)


def test_pacing_keeps_under_the_complexity_budget(engine, make_server, make_client, config):
    # 300k points per 1 s window: 30 mutations/s. 40 lines x 6 mutations = 240 mutations ~ 8 windows.
    server = make_server(budget=300_000, window_seconds=1.0)
    knobs = config.with_knobs(
        complexity=Complexity(budget_per_minute=300_000, window_seconds=1.0, safety_margin_points=0),
        batching=config.sync.batching.model_copy(update={"mutations_per_request": 25}),
    )
    result = run(engine, server, make_client(server, knobs), make_lines(40), knobs)
    assert result.status == "success"
    assert server.fake.stats.responses_429 == 0
    full = [w["spent"] / server.fake.budget for w in server.fake.stats.windows[:-1]]
    assert min(full) >= 0.8  # each completed window used at least 80 % of the budget


def test_item_deleted_on_board_is_recreated_next_run(engine, server, make_client, config):
    lines = make_lines(5)
    client = make_client(server)
    run(engine, server, client, lines, config)
    victim = server.fake.items_with_value(BOARD, "text_line_id", lines.loc[0, "record_uuid"])[0]
    victim.state = "deleted"
    lines.loc[0, "CUSTOMER PRICE"] = 99.0
    first = run(engine, server, client, lines, config)
    assert first.failed == 1 and first.failures[0]["code"] == "ITEM_MISSING"
    second = run(engine, server, client, lines, config)
    assert second.created == 1 and second.status == "success"
    assert_board_matches(server.fake, lines)
