"""The reconcile through Dagster: run config `reconcile_board: true`, drift on the materialisation, and the
partitioned check `board_matches_order_list` per customer."""

from __future__ import annotations

from collections import Counter
from typing import Any

import dagster as dg
import sqlalchemy as sa

from order_platform.defs.customer_layers import build_customer_layers
from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.monday.reconcile import BOARD_MATCHES
from order_platform.monday.reconcile.drift import drift_table
from order_platform_tests.defs.monday.conftest import BOARD, CUSTOMERS, RANGE_END, RANGE_START, live_monday
from stand_ins.monday_person import BoardPerson

NODE = "customer_layers"
EXT = "text_line_id"
PRICE = "numeric_mkr5cact"


def reconcile(instance, order_platform, monday) -> dg.ExecuteInProcessResult:
    keys = list(CUSTOMERS)
    return dg.materialize(
        [build_customer_layers()],
        selection=[MONDAY_BOARD_ITEMS],
        tags={RANGE_START: keys[0], RANGE_END: keys[-1]},
        instance=instance,
        resources={"order_platform": order_platform, "monday": monday},
        run_config={"ops": {NODE: {"config": {"reconcile_board": True, "force": False}}}},
        raise_on_error=False,
    )


def board_checks(result: dg.ExecuteInProcessResult) -> dict[str, Any]:
    return {str(e.partition): e for e in result.get_asset_check_evaluations() if e.check_name == BOARD_MATCHES}


def metadata_of(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        str(e.partition): {k: v.value for k, v in e.metadata.items()}
        for e in result.asset_materializations_for_node(NODE)
    }


def test_reconcile_from_run_config_repairs_records_and_checks_each_customer(sync, server, order_platform, instance):
    monday = live_monday(server)
    assert sync(monday).success
    fake = server.fake
    items = sorted(fake.active_items(BOARD), key=lambda i: i.id)
    greyson = [i for i in items if i.values["dropdown_mkr542p2"]["labels"][0].startswith("GREYSON")]
    person = BoardPerson(fake, BOARD)
    person.add_column("people_owner", "Owner", "text")
    person.set_value(greyson[0].id, PRICE, "99")
    person.set_value(greyson[0].id, "people_owner", "Ana")
    person.delete(greyson[1].id)
    person.move(greyson[2].id, "LATER")
    hand = person.add_item("a note of the team")

    result = reconcile(instance, order_platform, monday)
    assert result.success
    checks = board_checks(result)
    assert set(checks) == set(CUSTOMERS) and all(c.passed for c in checks.values())
    meta = metadata_of(result)
    assert (meta["GREYSON"]["drift_restored"], meta["GREYSON"]["drift_recreated"], meta["GREYSON"]["drift_moved"]) == (
        1,
        1,
        1,
    )
    assert meta["GREYSON"]["reconcile_status"] == "repaired" and meta["GREYSON"]["drift_unrepaired"] == 0
    assert meta["TITLE NINE"]["reconcile_status"] == "matches" and meta["TITLE NINE"]["drift_found"] == 0
    rows = meta["GREYSON"]["drift_first_rows"].records
    price = next(r.data for r in rows if r.data["column_name"] == "CUSTOMER PRICE")
    assert (price["board_value"], price["action"]) == ("99", "restored")
    assert meta["GREYSON"]["status"] == "success"  # the sync's own figures are there too
    assert fake.items[greyson[0].id].values["people_owner"] == "Ana" and fake.items[hand].state == "active"
    assert Counter(i.values.get(EXT) for i in fake.active_items(BOARD) if i.values.get(EXT)).most_common(1)[0][1] == 1
    with order_platform.pipeline().store.engine.connect() as conn:
        runs = set(conn.execute(sa.select(drift_table.c.run)).scalars())
    assert runs == {result.run_id}

    # drift that cannot be repaired: the board is full, an item archived by hand cannot be made again
    person.archive(greyson[3].id)
    fake.boards[BOARD].item_limit = fake.items_count(BOARD)
    failed = reconcile(instance, order_platform, monday)
    assert not failed.success
    checks = board_checks(failed)
    assert not checks["GREYSON"].passed and checks["TITLE NINE"].passed
    assert "drift" in (checks["GREYSON"].description or "")
    with order_platform.pipeline().store.engine.connect() as conn:
        actions = conn.execute(
            sa.select(drift_table.c.action).where(
                drift_table.c.run == failed.run_id, drift_table.c.customer == "GREYSON"
            )
        ).scalars()
        assert list(actions) == ["reported"]  # found, recorded, not repaired


def test_without_a_token_the_reconcile_says_it_cannot_read_the_board(sync, server, order_platform, instance):
    from order_platform.defs.monday.resources import MondayResource

    result = reconcile(instance, order_platform, MondayResource(api_url=server.url))
    assert result.success and server.fake.stats.requests == 0
    assert board_checks(result) == {}  # not evaluated: nothing was compared
    logs = [e.message for e in instance.all_logs(result.run_id) if e.message]
    assert any("cannot be read without MONDAY_API_TOKEN" in m for m in logs)
