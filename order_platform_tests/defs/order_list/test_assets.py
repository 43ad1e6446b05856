"""The Dagster layer: the asset graph, a headless refresh into an instance, the sensor, schedules."""

import os

import dagster as dg
import pytest

from order_platform.definitions import build_definitions
from order_platform.defs.headless import UnknownCustomerError, refresh
from order_platform.defs.order_list.sensors import workbook_sensor
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import order_platform_resource
from order_platform.settings import PlatformSettings
from order_platform_tests.workbooks import line, workbook_name, write_workbook


@pytest.fixture
def dagster_home(tmp_path, monkeypatch):
    home = tmp_path / "dagster"
    home.mkdir()
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


def test_asset_graph_snapshot():
    defs = build_definitions(PlatformSettings())
    graph = defs.resolve_asset_graph()
    deps = {
        k.to_user_string(): sorted(p.to_user_string() for p in graph.get(k).parent_keys)
        for k in graph.get_all_asset_keys()
    }
    assert deps == {
        "source_workbook": [],
        "blob_workbook": ["source_workbook"],
        "raw_order_list": ["blob_workbook"],
        "staged_order_list": ["raw_order_list"],
        "order_list": ["staged_order_list"],
        "monday_board_items": ["order_list"],
    }
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert checks == [
        "monday_board_items:no_failed_records",
        "order_list:published_matches_staged",
        "staged_order_list:key_columns_present",
        "staged_order_list:no_unknown_headers",
        "staged_order_list:rows_accounted_for",
        "staged_order_list:total_qty_matches_sizes",
    ]
    assert {s.name for s in defs.schedules} == {"weekday_reconcile", "monday_full_refresh"}
    assert {s.name for s in defs.sensors} == {"workbook_sensor", "monday_automation"}


def test_headless_refresh_materialises_good_customers_and_fails_the_bad_one(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A")])
    (platform.source / workbook_name("TITLE 9")).write_bytes(b"")
    outcome = refresh()
    # one ORDER_LIST run for all three, then one monday.com run (a dry run) for the two published
    assert not outcome.ok and outcome.runs_failed == 1 and len(outcome.run_ids) == 2
    assert sorted(outcome.monday) == ["GREYSON", "RHONE"]
    assert outcome.monday["GREYSON"]["dry_run"] and outcome.monday["GREYSON"]["created"] == 2
    status = {load["customer"]: load for load in outcome.loads}
    assert status["GREYSON"]["published_rows"] == 2 and status["RHONE"]["published_rows"] == 1
    assert status["TITLE NINE"]["status"] == "failed" and "empty (0 bytes)" in status["TITLE NINE"]["error"]

    instance = dg.DagsterInstance.get()
    assert sorted(instance.get_dynamic_partitions("customer")) == ["GREYSON", "RHONE", "TITLE NINE"]
    materialized = instance.get_materialized_partitions(dg.AssetKey("order_list"))
    assert materialized == {"GREYSON", "RHONE"}
    event = instance.get_latest_materialization_event(dg.AssetKey("staged_order_list"))
    assert event is not None and event.asset_materialization.metadata["quarantined_rows"].value == 0
    check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
        [dg.AssetCheckKey(dg.AssetKey("staged_order_list"), "rows_accounted_for")]
    )
    assert check

    # a second refresh of the good customers alone succeeds and keeps the ids
    again = refresh(["GREYSON CLOTHIERS", "rhone"])
    assert again.ok and len(again.loads) == 2
    # the CLI's default: workbooks that did not change are skipped, the failed one is tried again
    changed_only = refresh(force=False)
    assert changed_only.unchanged == ["GREYSON", "RHONE"]
    assert [load["customer"] for load in changed_only.loads] == ["TITLE NINE"]


def test_refresh_of_an_unknown_customer_is_a_clear_error(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    with pytest.raises(UnknownCustomerError, match="NOBODY"):
        refresh(["nobody"])


def test_sensor_adds_partitions_and_requests_only_changed_customers(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A")])
    resource = order_platform_resource(PlatformSettings())
    instance = dg.DagsterInstance.get()

    def tick():
        context = dg.build_sensor_context(instance=instance, resources={"order_platform": resource})
        return workbook_sensor(context)

    first = tick()
    assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["GREYSON", "RHONE"]]
    assert sorted(r.partition_key for r in first.run_requests) == ["GREYSON", "RHONE"]
    instance.add_dynamic_partitions(customer_partitions.name, ["GREYSON", "RHONE"])
    assert refresh().ok
    assert not tick().run_requests  # nothing changed since the loads

    path = platform.source / workbook_name("RHONE")
    write_workbook(path, [line("RHO-1", "A", s=99, total=119)])
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    changed = tick()
    assert [r.partition_key for r in changed.run_requests] == ["RHONE"]
    assert changed.run_requests[0].run_config["ops"]["order_list_layers"]["config"]["force"] is False

    # running what the sensor asked for touches RHONE only
    store = resource.pipeline().store
    before = store.latest_loads()
    job = build_definitions(PlatformSettings()).resolve_job_def("order_list_refresh")
    request = changed.run_requests[0]
    assert job.execute_in_process(
        instance=instance, partition_key=request.partition_key, run_config=request.run_config
    ).success
    after = store.latest_loads()
    assert after["GREYSON"]["load_id"] == before["GREYSON"]["load_id"]
    assert after["RHONE"]["load_id"] != before["RHONE"]["load_id"] and after["RHONE"]["status"] == "published"
    assert not tick().run_requests


def test_schedules_run_every_customer_in_one_run(platform, dagster_home):
    instance = dg.DagsterInstance.get()
    instance.add_dynamic_partitions(customer_partitions.name, ["A", "B", "C"])
    defs = build_definitions(PlatformSettings())
    schedules = {s.name: s for s in defs.schedules}
    for name, force in [("weekday_reconcile", False), ("monday_full_refresh", True)]:
        request = schedules[name].evaluate_tick(dg.build_schedule_context(instance=instance)).run_requests[0]
        assert request.tags["dagster/asset_partition_range_start"] == "A"
        assert request.tags["dagster/asset_partition_range_end"] == "C"
        assert request.run_config["ops"]["order_list_layers"]["config"]["force"] is force


def test_backfills_can_be_split_into_parallel_runs(monkeypatch):
    def layers(defs: dg.Definitions) -> dg.AssetsDefinition:
        return next(a for a in defs.assets if dg.AssetKey("order_list") in a.keys)

    assert layers(build_definitions(PlatformSettings())).backfill_policy.max_partitions_per_run is None
    monkeypatch.setenv("ORDER_PLATFORM_BACKFILL_PARTITIONS_PER_RUN", "8")
    assert layers(build_definitions(PlatformSettings())).backfill_policy.max_partitions_per_run == 8


def test_typed_column_schemas_are_on_the_definitions() -> None:
    from order_platform.defs.order_list.assets import SPECS

    schemas = {spec.key.path[-1]: spec.metadata.get("dagster/column_schema") for spec in SPECS}
    order_list = {c.name: c.type for c in schemas["order_list"].columns}
    assert order_list["AAG ORDER NUMBER"] == "NVARCHAR(100)" and order_list["_SOURCE_ROW"] == "INTEGER"
    assert len(order_list) == len(schemas["staged_order_list"].columns)
    assert schemas["raw_order_list"] is None  # raw columns are the customer's own headers, all text


def test_bench_prints_every_figure_even_when_a_workbook_is_bad(platform, dagster_home, capsys):
    from order_platform.stand_ins.bench import run_bench

    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A")])
    (platform.source / workbook_name("TITLE 9")).write_bytes(b"")  # the smallest file, and unreadable
    rhone = (platform.source / workbook_name("RHONE")).read_bytes()
    run_bench(platform.source, workers=1)
    out = capsys.readouterr().out
    assert "3 (0.0 MB), 3 data rows" in out
    assert "full refresh through Dagster" in out and "(3 published + 0 quarantined" in out
    assert "ratio to the read floor" in out
    assert "changed workbook (RHONE) sensor tick -> published" in out
    assert "failed customers               1" in out
    assert (platform.source / workbook_name("RHONE")).read_bytes() == rhone  # it changed a copy
