"""Reconcile against the strict stand-in over HTTP: people edit the board, one reconcile repairs exactly
the platform's columns and items, leaves the team's alone, records MONDAY_DRIFT, and a second one sends
nothing."""

from __future__ import annotations

import sqlite3
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from order_platform.load.factory import PipelineSpec
from order_platform.monday import sync_published
from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.lines import needed_columns, store_source
from order_platform.monday.plan.payloads import LinePayload, build_payloads
from order_platform.monday.reconcile import reconcile_boards
from order_platform.monday.reconcile.drift import drift_table
from order_platform.monday.reconcile.read import read_board
from order_platform.monday.reconcile.values import same, shown_text
from order_platform.monday.state import sync_state as st
from order_platform.workers.runner import run_customers
from order_platform_tests.monday_fixtures import settings_for
from stand_ins.monday_person import BoardPerson
from stand_ins.monday_server import FakeMonday
from stand_ins.sample_data import customer_headers, write_customer_workbook

BOARD = "9609317401"
PRICE = "numeric_mkr5cact"  # CUSTOMER PRICE
STYLE = "text_mktdechp"  # CUSTOMER STYLE
EXT = "text_line_id"
QTY = "numeric_mkra7j8e"


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> PipelineSpec:
    root = tmp_path_factory.mktemp("published")
    headers = customer_headers()["GREYSON"]
    write_customer_workbook("GREYSON", headers, 40, 5, root / "source" / "USA CUSTOMERS")
    spec = PipelineSpec(f"sqlite:///{root / 'order_list.db'}", str(root / "source"), str(root / "blob"))
    reports = list(run_customers(spec, ["GREYSON"], workers=1))
    assert all(r.ok for r in reports), [r.error for r in reports]
    return spec


@pytest.fixture
def store(published: PipelineSpec, tmp_path: Path) -> Any:
    """A fresh copy of the published database per test (the sync state and drift live in it)."""
    source = Path(published.database_url.removeprefix("sqlite:///"))
    copy = tmp_path / "order_list.db"
    with sqlite3.connect(source) as src, sqlite3.connect(copy) as dst:
        src.backup(dst)  # the published rows may still sit in the write-ahead log
    return PipelineSpec(f"sqlite:///{copy}", published.source_dir, published.blob_dir).build().store


@pytest.fixture
def wide(config: BoardConfig) -> BoardConfig:
    return config.with_scope()  # every line of the slice on the one board


def expected_payloads(store: Any, config: BoardConfig) -> dict[str, LinePayload]:
    source = store_source(store, "GREYSON")
    assert source is not None
    out: dict[str, LinePayload] = {}
    for chunk in source.chunks(config, 0, "GREYSON", None, needed_columns(config)):
        out.update(build_payloads(chunk, "GREYSON", config).lines)
    return out


def assert_board_matches(fake: FakeMonday, config: BoardConfig, payloads: dict[str, LinePayload]) -> None:
    """Exactly one active item per line with the expected name, group, cells and subitems."""
    items = [i for i in fake.active_items(BOARD) if i.values.get(EXT)]
    assert Counter(i.values[EXT] for i in items) == Counter(list(payloads)), "missing or duplicate items"
    types = {c.monday_column_id: c.monday_type for c in config.item_columns}
    for item in items:
        payload = payloads[item.values[EXT]]
        assert item.name == payload.item_name
        assert fake.boards[BOARD].groups[item.group_id] == payload.group_title
        for column_id, value in payload.columns.items():
            board = fake.boards[BOARD].columns[column_id]
            from stand_ins.monday_server import _text_of

            shown = _text_of(board.type, item.values.get(column_id))
            assert same(types.get(column_id, "text"), shown, shown_text(types.get(column_id, "text"), value)), (
                column_id,
                shown,
                value,
            )
        subs = Counter(s.name for s in fake.subitems_of(item.id))
        assert subs == Counter(f"Size {s}" for s in payload.sizes), item.id
        for sub in fake.subitems_of(item.id):
            size = sub.name.removeprefix("Size ")
            assert sub.values[QTY] == str(payload.sizes[size])


def drift(engine: sa.Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(sa.select(drift_table).order_by(drift_table.c.drift_id)).mappings()]


def test_people_edit_the_board_one_reconcile_repairs_the_platforms_part_a_second_sends_nothing(
    store, server, make_client, wide
):
    client = make_client(server, wide)
    settings = settings_for(server)
    first = sync_published(store, "GREYSON", client, settings, config=wide)
    assert first is not None and first.status == "success", first.failures
    payloads = expected_payloads(store, wide)
    fake = server.fake
    items = {i.values[EXT]: i for i in fake.active_items(BOARD)}
    uuids = sorted(items)
    with_subs = [u for u in uuids if len(payloads[u].sizes) >= 2]
    person = BoardPerson(fake, BOARD)
    person.add_column("status_team", "Team status", "status")
    person.add_column("text_owner", "Owner", "text")
    # the team's own columns: never written
    person.set_value(items[uuids[0]].id, "status_team", {"label": "Chasing"})
    person.set_value(items[uuids[0]].id, "text_owner", "Ana")
    # platform cells changed by hand
    person.set_value(items[uuids[1]].id, PRICE, "99")
    person.set_value(items[uuids[2]].id, STYLE, "HAND EDIT")
    person.rename(items[uuids[3]].id, "renamed by hand")
    # items deleted / archived / moved by hand
    person.delete(items[uuids[4]].id)
    person.archive(items[uuids[5]].id)
    person.move(items[uuids[6]].id, "SOMEONE'S GROUP")
    # subitems changed, deleted, added by hand
    a, b, c = with_subs[0], with_subs[1], with_subs[2]
    first_size = next(iter(payloads[a].sizes))
    person.set_subitem_qty(items[a].id, f"Size {first_size}", "777")
    person.delete_subitem(items[b].id, f"Size {next(iter(payloads[b].sizes))}")
    person.add_subitem(items[c].id, "Size HAND", {QTY: "3"})
    # items made by people: no external id
    own = person.add_item("call the factory", values={"text_owner": "Ben"})
    # a second item carrying the id of a live line
    second = person.add_item(payloads[uuids[7]].item_name, values={EXT: uuids[7]})
    mutations_before = dict(fake.stats.mutations)

    result = reconcile_boards(store, ["GREYSON"], client, settings, config=wide, run="t-1")

    assert result.ok, result.lines()
    greyson = result.customers["GREYSON"]
    counts = greyson.counts()
    assert counts == {"restored": 6, "recreated": 2, "moved": 1, "archived": 1, "reported": 0}, greyson.findings
    assert len(result.people) == 1 and result.people[0].item_id == own
    assert greyson.status == "repaired" and greyson.unrepaired == 0
    assert_board_matches(fake, wide, payloads)
    # the team's columns and items are as the people left them
    assert fake.items[items[uuids[0]].id].values["status_team"] == {"label": "Chasing"}
    assert fake.items[items[uuids[0]].id].values["text_owner"] == "Ana"
    assert fake.items[own].state == "active" and fake.items[own].values == {"text_owner": "Ben"}
    assert fake.items[second].state == "archived"
    sent = Counter(fake.stats.mutations) - Counter(mutations_before)
    assert sent["create_item"] == 2 and sent["move_item_to_group"] == 1 and sent["archive_item"] == 1
    # MONDAY_DRIFT: one row per finding, the person's item with no record_uuid
    rows = drift(store.engine)
    assert Counter(r["action"] for r in rows) == {
        "restored": 6,
        "recreated": 2,
        "moved": 1,
        "archived": 1,
        "reported": 1,
    }
    price = next(r for r in rows if r["column_name"] == "CUSTOMER PRICE")
    assert (price["board_value"], price["record_uuid"], price["customer"]) == ("99", uuids[1], "GREYSON")
    recreated = {r["board_value"] for r in rows if r["action"] == "recreated"}
    assert recreated == {"deleted", "archived"}
    person_row = next(r for r in rows if r["record_uuid"] is None)
    assert (person_row["item_id"], person_row["action"], person_row["column_name"]) == (own, "reported", None)

    # a second reconcile right after: nothing found, no mutation, no new drift row
    requests, mutation_requests = fake.stats.requests, fake.stats.mutation_requests
    again = reconcile_boards(store, ["GREYSON"], client, settings, config=wide, run="t-2")
    assert again.ok and again.customers["GREYSON"].findings == [] and again.customers["GREYSON"].pending == 0
    assert fake.stats.mutation_requests == mutation_requests and again.mutations == 0
    assert 0 < fake.stats.requests - requests <= 4  # the board read (one page), the boards' columns
    assert len(drift(store.engine)) == len(rows)
    # the sync state is consistent: a normal sync neither duplicates nor re-sends
    after = sync_published(store, "GREYSON", client, settings, config=wide)
    assert after is not None and (after.created, after.updated, after.mutations) == (0, 0, 0)
    with store.engine.connect() as conn:
        state = st.load_lines_where(conn, BOARD)
    active = {u: s.item_id for u, s in state.items() if s.status == "active"}
    assert active == {i.values[EXT]: i.id for i in fake.active_items(BOARD) if i.values.get(EXT)}


def test_report_only_columns_and_dry_run(store, server, make_client, wide):
    columns = [c.model_copy(update={"report_only": c.monday_column_id == PRICE}) for c in wide.item_columns]
    config = wide.model_copy(update={"item_columns": columns})
    client = make_client(server, config)
    settings = settings_for(server)
    sync_published(store, "GREYSON", client, settings, config=config)
    fake = server.fake
    items = {i.values[EXT]: i for i in fake.active_items(BOARD)}
    uuids = sorted(items)
    person = BoardPerson(fake, BOARD)
    person.set_value(items[uuids[0]].id, PRICE, "12.5")  # the team may override it
    person.set_value(items[uuids[1]].id, STYLE, "HAND")
    mutations = fake.stats.mutation_requests

    dry = reconcile_boards(store, None, client, settings, config=config, run="dry", dry_run=True)
    assert not dry.ok and dry.customers["GREYSON"].counts()["restored"] == 1
    assert dry.customers["GREYSON"].counts()["reported"] == 1
    assert fake.stats.mutation_requests == mutations and drift(store.engine) == []
    assert fake.items[items[uuids[1]].id].values[STYLE] == "HAND"

    live = reconcile_boards(store, None, client, settings, config=config, run="live")
    assert live.ok, live.lines()
    assert fake.items[items[uuids[0]].id].values[PRICE] == "12.5"  # recorded, not restored
    assert fake.items[items[uuids[1]].id].values[STYLE] != "HAND"
    assert Counter(r["action"] for r in drift(store.engine)) == {"reported": 1, "restored": 1}
    mutations = fake.stats.mutation_requests
    again = reconcile_boards(store, None, client, settings, config=config, run="again")
    assert again.ok and fake.stats.mutation_requests == mutations
    assert len(drift(store.engine)) == 2  # the known report-only difference is not recorded again


def test_items_of_lines_out_of_scope_are_archived(store, server, make_client, wide):
    client = make_client(server, wide)
    settings = settings_for(server)
    sync_published(store, "GREYSON", client, settings, config=wide)
    payloads = expected_payloads(store, wide)
    seasons = Counter(p.group_title for p in payloads.values())
    kept = seasons.most_common(1)[0][0].removeprefix("GREYSON ")
    narrow = wide.with_scope(customer_seasons=[kept])  # the others leave the board's scope
    gone = sum(n for title, n in seasons.items() if title != f"GREYSON {kept}")
    narrow = narrow.with_knobs(archive_guard_fraction=1.0)
    result = reconcile_boards(store, ["GREYSON"], client, settings, config=narrow, run="scope")
    assert result.ok, result.lines()
    assert result.customers["GREYSON"].counts()["archived"] == gone
    assert len(server.fake.active_items(BOARD)) == seasons[f"GREYSON {kept}"]


def test_the_read_pages_with_explicit_limits_and_cursors_and_halves_a_page_over_the_query_cap(
    store, make_server, make_client, wide
):
    server = make_server(max_query_complexity=250_000)  # a 500-item page of this query costs ~385,000
    client = make_client(server, wide)
    sync_published(store, "GREYSON", client, settings_for(server), config=wide)
    lines = len(server.fake.active_items(BOARD))
    read = read_board(client, wide, BOARD, page_limit=500)
    assert len(read.items) == lines and read.pages == 1
    paged = read_board(client, wide, BOARD, page_limit=15)
    assert [i.id for i in paged.items] == [i.id for i in read.items] and paged.pages == -(-lines // 15)
    assert all(i.texts.get(EXT) for i in paged.items) and all(i.subitems for i in paged.items)


def test_a_reconcile_under_429s_5xx_and_dropped_answers_repairs_without_duplicates(
    store, make_server, make_client, wide
):
    server = make_server(rate_limit_every=7, server_error_every=11, drop_after_apply_every=3, retry_after_seconds=0.01)
    client = make_client(server, wide)
    settings = settings_for(server)
    for _ in range(3):  # the sync under faults: settled within a few runs (its own tests cover that)
        sync_published(store, "GREYSON", client, settings, config=wide)
    payloads = expected_payloads(store, wide)
    fake = server.fake
    items = {i.values[EXT]: i for i in fake.active_items(BOARD)}
    uuids = sorted(items)
    person = BoardPerson(fake, BOARD)
    for uuid in uuids[:5]:
        person.set_value(items[uuid].id, PRICE, "99")
    for uuid in uuids[5:8]:
        person.delete(items[uuid].id)
    for uuid in uuids[8:10]:
        person.move(items[uuid].id, "ELSEWHERE")
    person.add_item(payloads[uuids[10]].item_name, values={EXT: uuids[10]})
    results = [reconcile_boards(store, ["GREYSON"], client, settings, config=wide, run=f"f-{n}") for n in range(2)]
    assert results[0].ok and results[-1].ok, [r.lines() for r in results]
    assert results[1].customers["GREYSON"].findings == [] and results[1].mutations == 0
    assert fake.stats.drops and fake.stats.responses_5xx and fake.stats.responses_429
    assert_board_matches(fake, wide, payloads)


def test_a_lost_sync_state_is_rebuilt_from_the_board_without_a_mutation(store, server, make_client, wide):
    client = make_client(server, wide)
    settings = settings_for(server)
    sync_published(store, "GREYSON", client, settings, config=wide)
    with store.engine.begin() as conn:  # e.g. a restored database: the board is right, the state is gone
        conn.execute(sa.delete(st.subitem_table))
        conn.execute(sa.delete(st.line_table))
    mutations = server.fake.stats.mutation_requests
    result = reconcile_boards(store, ["GREYSON"], client, settings, config=wide, run="adopt")
    assert result.ok and result.customers["GREYSON"].findings == [] and result.mutations == 0
    assert server.fake.stats.mutation_requests == mutations
    after = sync_published(store, "GREYSON", client, settings, config=wide)
    assert after is not None and (after.created, after.updated, after.mutations) == (0, 0, 0)
