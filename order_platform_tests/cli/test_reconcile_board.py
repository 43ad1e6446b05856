"""`order-platform reconcile-board` end to end: the real client over HTTP against the strict stand-in,
people editing the board server-side between the commands."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa
from click.testing import CliRunner

from order_platform.cli.main import main
from order_platform.monday.reconcile.drift import drift_table
from order_platform.workers.runner import run_customers
from order_platform_tests.monday_fixtures import TOKEN
from stand_ins.monday_person import BoardPerson
from stand_ins.sample_data import customer_headers, write_customer_workbook

BOARD = "9609317401"
EXT = "text_line_id"
PRICE = "numeric_mkr5cact"
QTY = "numeric_mkra7j8e"


def test_reconcile_board_repairs_the_platforms_part_records_it_and_a_second_run_sends_nothing(
    platform, monkeypatch, server, config, tmp_path
):
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", platform.spec.database_url)
    monkeypatch.setenv("ORDER_PLATFORM_BLOB_DIR", platform.spec.blob_dir)
    headers = customer_headers()
    write_customer_workbook("GREYSON", headers["GREYSON"], 25, 3, platform.source / "USA CUSTOMERS")
    write_customer_workbook("TITLE 9", headers["TITLE_9"], 15, 4, platform.source / "USA CUSTOMERS")
    assert all(r.ok for r in run_customers(platform.spec, ["GREYSON", "TITLE NINE"]))
    mapping = tmp_path / "board.json"
    mapping.write_text(config.with_scope().model_dump_json())  # every line on the one board
    monkeypatch.setenv("MONDAY_BOARD_CONFIG", str(mapping))
    monkeypatch.setenv("MONDAY_API_URL", server.url)
    monkeypatch.delenv("MONDAY_API_TOKEN", raising=False)
    monkeypatch.delenv("MONDAY_BOARD_ID", raising=False)

    blind = CliRunner().invoke(main, ["reconcile-board", "--dry-run"])
    assert blind.exit_code == 1 and "needs MONDAY_API_TOKEN" in blind.output and server.fake.stats.requests == 0

    monkeypatch.setenv("MONDAY_API_TOKEN", TOKEN)
    for customer in ("GREYSON", "TITLE NINE"):
        synced = CliRunner().invoke(main, ["monday-sync", "--customer", customer, "--all"])
        assert synced.exit_code == 0, synced.output
    fake = server.fake
    items = {i.values[EXT]: i for i in fake.active_items(BOARD)}
    titles = {u: i for u, i in items.items() if i.values["dropdown_mkr542p2"]["labels"][0].startswith("TITLE")}
    greyson = sorted(set(items) - set(titles))
    person = BoardPerson(fake, BOARD)
    person.add_column("color_team", "Team status", "status")
    person.set_value(items[greyson[0]].id, "color_team", {"label": "Waiting on fabric"})
    person.set_value(items[greyson[0]].id, PRICE, "99")
    person.archive(items[greyson[1]].id)
    person.move(items[greyson[2]].id, "PARKED")
    sub = fake.subitems_of(items[greyson[3]].id)[0]
    person.set_value(sub.id, QTY, "1")
    person.add_item("ask about the trims")
    typed = person.add_item("someone typed an id", values={EXT: "not-a-line-of-ours"})
    title_item = next(iter(titles.values()))
    person.delete(title_item.id)

    dry = CliRunner().invoke(main, ["reconcile-board", "--dry-run", "--customer", "GREYSON"])
    assert dry.exit_code == 1, dry.output
    assert "GREYSON: drift; restored 2, recreated 1, moved 1, archived 0" in dry.output
    assert fake.items[items[greyson[0]].id].values[PRICE] == "99"  # nothing changed

    mutations = fake.stats.mutation_requests
    live = CliRunner().invoke(main, ["reconcile-board"])
    assert live.exit_code == 0, live.output
    assert "GREYSON: repaired; restored 2, recreated 1, moved 1, archived 0, reported 0" in live.output
    assert "TITLE NINE: repaired; restored 0, recreated 1" in live.output
    assert "2 item(s) without the platform's line id" in live.output  # no id, or one no line has
    assert "never read or written: color_team" in live.output
    assert "the board matches ORDER_LIST" in live.output
    assert fake.stats.mutation_requests > mutations
    assert fake.items[items[greyson[0]].id].values[PRICE] != "99"
    assert fake.items[items[greyson[0]].id].values["color_team"] == {"label": "Waiting on fabric"}
    assert fake.boards[BOARD].groups[fake.items[items[greyson[2]].id].group_id] != "PARKED"
    assert fake.items[sub.id].values[QTY] != "1"
    active = Counter(i.values.get(EXT) for i in fake.active_items(BOARD))
    assert set(active.values()) == {1} and set(items) <= set(active)
    engine = sa.create_engine(platform.spec.database_url)
    with engine.connect() as conn:
        rows = conn.execute(sa.select(drift_table.c.customer, drift_table.c.action)).all()
    assert Counter(rows) == {
        ("GREYSON", "restored"): 2,
        ("GREYSON", "recreated"): 1,
        ("GREYSON", "moved"): 1,
        ("TITLE NINE", "recreated"): 1,
        (None, "reported"): 2,
    }
    assert fake.items[typed].state == "active" and fake.items[typed].values == {EXT: "not-a-line-of-ours"}

    mutations, requests = fake.stats.mutation_requests, fake.stats.requests
    again = CliRunner().invoke(main, ["reconcile-board"])
    assert again.exit_code == 0, again.output
    assert "total (repaired): restored 0, recreated 0, moved 0, archived 0, reported 2" in again.output
    assert fake.stats.mutation_requests == mutations and fake.stats.requests - requests <= 4
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(drift_table)).scalar() == 7  # no new row
    engine.dispose()
