"""Retiring a customer archives its items on the (stand-in) monday.com board, live and as a dry run."""

from __future__ import annotations

from order_platform.load.retirement import archive_board_items
from order_platform.monday import sync_customer
from order_platform_tests.monday_fixtures import settings_for
from stand_ins.sample_lines import make_lines

BOARD = "9609317401"


def test_retire_archives_every_board_item_of_the_customer(platform, server, make_client, config, monkeypatch):
    monkeypatch.setenv("MONDAY_API_URL", server.url)
    engine = platform.pipeline.store.engine
    client = make_client(server)
    lines = make_lines(12, customer="GREYSON")
    assert sync_customer(engine, "GREYSON", lines, client, settings_for(server), config=config).ok
    assert len(server.fake.active_items(BOARD)) == 12

    dry = archive_board_items(platform.pipeline, "GREYSON", None)  # no token: planned, nothing sent
    assert dry == {"dry_run": True, "archived": 12, "status": dry["status"]}
    assert len(server.fake.active_items(BOARD)) == 12

    live = archive_board_items(platform.pipeline, "GREYSON", client)  # past the empty-slice guard, on purpose
    assert live["archived"] == 12 and not live["dry_run"]
    assert server.fake.active_items(BOARD) == []
