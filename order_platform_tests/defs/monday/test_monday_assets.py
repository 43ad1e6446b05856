"""monday_board_items through Dagster: dry run, live sync against the fake board, honest failures."""

from typing import Any

import dagster as dg
import sqlalchemy as sa

from order_platform.defs.customer_layers import build_customer_layers
from order_platform.defs.jobs import monday_sync_job
from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS, NO_FAILED_RECORDS
from order_platform.defs.monday.resources import MondayResource
from order_platform.defs.monday.sensors import monday_automation_sensor
from order_platform.monday.state import sync_state as st
from order_platform_tests.defs.monday.conftest import BOARD, CUSTOMERS, TOKEN, live_monday, order_list_slice

NODE = "customer_layers"


def materialized(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    """partition -> metadata values of the run's materialisations."""
    return {
        str(event.partition): {k: v.value for k, v in event.metadata.items()}
        for event in result.asset_materializations_for_node(NODE)
    }


def observed(result: dg.ExecuteInProcessResult) -> dict[str, dict[str, Any]]:
    return {
        str(event.partition): {k: v.value for k, v in event.metadata.items()}
        for event in result.asset_observations_for_node(NODE)
    }


def check_results(result: dg.ExecuteInProcessResult) -> dict[str, bool]:
    """customer -> passed, one evaluation per customer of the run."""
    return {
        str(e.partition): e.passed for e in result.get_asset_check_evaluations() if e.check_name == NO_FAILED_RECORDS
    }


def check_passed(result: dg.ExecuteInProcessResult) -> bool:
    results = check_results(result)
    return bool(results) and all(results.values())


def failure_text(result: dg.ExecuteInProcessResult) -> str:
    failure = result.failure_data_for_node(NODE)
    assert failure is not None
    return failure.user_failure_data.description if failure.user_failure_data else str(failure.error)


def assert_no_token(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, token: str) -> None:
    assert token not in str(instance.get_run_by_id(result.run_id))  # run config and tags
    for entry in instance.all_logs(result.run_id):
        assert token not in str(entry)


def test_dry_run_plans_everything_and_sends_nothing(sync, server, order_platform, instance):
    dry = MondayResource(api_url=server.url)  # no token: dry run, even with a reachable board
    result = sync(dry)
    assert result.success and check_passed(result)
    assert server.fake.stats.requests == 0 and not server.fake.items
    by_customer = materialized(result)
    assert set(by_customer) == set(CUSTOMERS)
    for customer, metadata in by_customer.items():
        lines = len(order_list_slice(order_platform, customer))
        assert metadata["status"] == "dry_run" and metadata["dry_run"] is True
        assert (metadata["lines"], metadata["created"], metadata["failed"]) == (lines, lines, 0)
        assert (metadata["requests"], metadata["mutations"]) == (0, 0)
        assert metadata["planned_operations"] > lines  # an item plus its size subitems per line
        sample = metadata["sample_payloads"][0]
        assert sample["action"] == "create" and sample["group_title"].startswith(customer.split()[0])
        assert "planned (dry run, nothing sent)" in metadata["summary"]
    with order_platform.pipeline().store.engine.connect() as conn:
        planned = conn.execute(sa.select(sa.func.count()).select_from(st.plan_table)).scalar_one()
    assert planned == sum(m["lines"] for m in by_customer.values())


def test_live_sync_creates_every_line_then_reruns_unchanged(sync, server, order_platform, instance):
    monday = live_monday(server)
    first = sync(monday)
    assert first.success and check_passed(first)
    by_customer = materialized(first)
    total = 0
    for customer, metadata in by_customer.items():
        lines = len(order_list_slice(order_platform, customer))
        total += lines
        assert metadata["status"] == "success"
        assert (metadata["created"], metadata["updated"], metadata["failed"], metadata["skipped"]) == (
            lines,
            0,
            0,
            0,
        )
        assert metadata["requests"] > 0 and metadata["complexity_spent"] > 0
        assert metadata["sample_payloads"] and "variables" in metadata["sample_payloads"][0]
    assert set(by_customer) == set(CUSTOMERS)
    assert len(server.fake.active_items(BOARD)) == total
    assert instance.get_materialized_partitions(MONDAY_BOARD_ITEMS) == set(CUSTOMERS)

    requests_before = server.fake.stats.requests
    second = sync(monday, "GREYSON")
    assert second.success and check_passed(second)
    [metadata] = materialized(second).values()
    lines = len(order_list_slice(order_platform, "GREYSON"))
    assert (metadata["unchanged"], metadata["created"], metadata["updated"]) == (lines, 0, 0)
    assert (metadata["mutations"], metadata["requests"]) == (0, 0)
    assert server.fake.stats.requests == requests_before
    assert_no_token(instance, first, TOKEN)
    assert_no_token(instance, second, TOKEN)


def test_a_failed_record_fails_the_check_and_the_run_after_the_others_sync(sync, server, order_platform, instance):
    greyson = order_list_slice(order_platform, "GREYSON")
    bad = str(greyson["record_uuid"].iloc[0])
    with order_platform.pipeline().store.engine.begin() as conn:  # a line without a line id: not sent
        conn.execute(sa.text("UPDATE \"ORDER_LIST\" SET record_uuid = ' ' WHERE record_uuid = :id"), {"id": bad})
    result = sync(live_monday(server))
    assert not result.success and check_results(result) == {"GREYSON": False, "TITLE NINE": True}
    text = failure_text(result)
    assert "GREYSON: partial" in text and "failed 1" in text and "MISSING_LINE_ID" in text
    assert "TITLE NINE" not in text
    assert set(materialized(result)) == {"TITLE NINE"}  # the clean customer is materialised
    greyson_obs = observed(result)["GREYSON"]  # the partial one is observed, not materialised
    assert (greyson_obs["status"], greyson_obs["failed"], greyson_obs["created"]) == (
        "partial",
        1,
        len(greyson) - 1,
    )
    assert greyson_obs["failures"][0]["code"] == "MISSING_LINE_ID"
    assert not server.fake.items_with_value(BOARD, "text_line_id", bad)
    assert instance.get_materialized_partitions(MONDAY_BOARD_ITEMS) == {"TITLE NINE"}


def test_a_rejected_token_fails_every_customer_without_showing_it(sync, server, instance):
    wrong = "wrong-token-must-not-leak"
    result = sync(live_monday(server, token=wrong))
    assert not result.success and not check_passed(result)
    assert not materialized(result)
    assert {m["status"] for m in observed(result).values()} == {"failed"}
    text = failure_text(result)
    assert "2 of 2 customer(s)" in text and wrong not in text
    assert_no_token(instance, result, wrong)


def test_a_customer_without_a_published_slice_fails_clearly(sync, server, instance):
    instance.add_dynamic_partitions("customer", ["NOBODY"])
    result = sync(live_monday(server), "NOBODY")
    assert not result.success and check_results(result) == {"NOBODY": False}
    assert "NOBODY: monday.com: no published ORDER_LIST slice" in failure_text(result)
    assert server.fake.stats.requests == 0


def test_definitions_wire_the_asset_job_and_automation():
    layers = build_customer_layers()
    defs = dg.Definitions(
        assets=[layers],
        jobs=[monday_sync_job],
        sensors=[monday_automation_sensor],
        resources={"monday": MondayResource(), "order_platform": dg.ResourceDefinition.none_resource()},
    )
    defs.validate_loadable(defs)
    graph = defs.resolve_asset_graph()
    node = graph.get(MONDAY_BOARD_ITEMS)
    assert node.parent_keys == {dg.AssetKey("order_list")}
    assert node.automation_condition is not None and node.group_name == "delivery"
    assert node.partitions_def is not None and node.partitions_def.name == "customer"
    assert dg.AssetCheckKey(MONDAY_BOARD_ITEMS, NO_FAILED_RECORDS) in graph.asset_check_keys
    assert layers.op.pool == "order_platform_load"
    assert defs.resolve_job_def("monday_sync").partitions_def is not None
    assert monday_automation_sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_eager_condition_follows_each_order_list_refresh():
    none = dg.ResourceDefinition.none_resource()
    defs = dg.Definitions(assets=[build_customer_layers()], resources={"order_platform": none, "monday": none})
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions("customer", list(CUSTOMERS))
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    assert evaluation.total_requested == 0  # nothing published yet: nothing to sync
    instance.report_runless_asset_event(dg.AssetMaterialization("order_list", partition="GREYSON"))
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=evaluation.cursor)
    assert evaluation.get_requested_partitions(MONDAY_BOARD_ITEMS) == {"GREYSON"}
    evaluation = dg.evaluate_automation_conditions(defs=defs, instance=instance, cursor=evaluation.cursor)
    assert evaluation.total_requested == 0  # requested once per refresh, not on every tick


def test_a_targeted_sync_from_run_config_sends_only_the_lines_asked_for(server, order_platform, instance):
    greyson = order_list_slice(order_platform, "GREYSON")
    field, column = next(
        (f, c)
        for f, c in (("po_number", "PO NUMBER"), ("customer_season", "CUSTOMER SEASON"), ("aag_season", "AAG SEASON"))
        if greyson[c].nunique() > 1
    )
    value = str(greyson[column].iloc[0])
    wanted = int((greyson[column].astype(str) == value).sum())
    result = dg.materialize(
        [build_customer_layers()],
        selection=[MONDAY_BOARD_ITEMS],
        partition_key="GREYSON",
        instance=instance,
        resources={"order_platform": order_platform, "monday": live_monday(server)},
        run_config={"ops": {NODE: {"config": {field: value}}}},
    )
    assert result.success
    assert not materialized(result)  # part of the slice: observed, it does not stand for the partition
    [metadata] = observed(result).values()
    assert metadata["created"] == wanted < len(greyson)
    assert len(server.fake.active_items(BOARD)) == wanted
