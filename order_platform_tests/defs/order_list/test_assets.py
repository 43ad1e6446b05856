"""The Dagster layer as the team uses it: the code location, refreshes of many customers, per-customer
status and checks, the sensor, the schedules, lineage of a rebuilt layer."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest
import sqlalchemy as sa

from order_platform.defs.customer_layers import build_customer_layers
from order_platform.defs.headless import UnknownCustomerError, load_definitions, refresh
from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.order_list.assets import LAYER_OF, ORDER_LIST_SLICE, STAGED_ORDER_LIST
from order_platform.defs.order_list.sensors import workbook_sensor
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.defs.runs import RANGE_END, RANGE_START
from order_platform_tests.workbooks import BASIC_HEADERS, line, workbook_name, write_workbook

ROOT = Path(__file__).resolve().parents[3]
ALL_ASSETS = [*LAYER_OF, MONDAY_BOARD_ITEMS]


def statuses(instance: dg.DagsterInstance, customers: list[str]) -> dict[str, dict[str, str]]:
    """asset -> customer -> the partition status the UI shows (MATERIALIZED, FAILED, ...)."""
    shown: dict[str, dict[str, str]] = {}
    for key in ALL_ASSETS:
        by_partition = instance.get_status_by_partition(key, customers, customer_partitions) or {}
        shown[key.to_user_string()] = {c: s.value if s else "MISSING" for c, s in by_partition.items()}
    return shown


def check_statuses(instance: dg.DagsterInstance, asset: dg.AssetKey, name: str) -> dict[str, str]:
    """customer -> latest status of one partitioned check, as its check page shows it."""
    infos = instance.event_log_storage.get_asset_check_partition_info([dg.AssetCheckKey(asset, name)])
    return {str(i.partition_key): i.latest_execution_status.value for i in infos}


def test_code_location_loads_as_a_dg_project(dagster_home):
    defs = load_definitions()
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
        "daily_change_report": [],
    }
    checks = sorted(f"{k.asset_key.to_user_string()}:{k.name}" for k in graph.asset_check_keys)
    assert checks == [
        "monday_board_items:board_matches_order_list",
        "monday_board_items:no_failed_records",
        "order_list:published_matches_staged",
        "staged_order_list:key_columns_present",
        "staged_order_list:no_cell_issues",
        "staged_order_list:no_unknown_headers",
        "staged_order_list:rows_accounted_for",
        "staged_order_list:total_qty_matches_sizes",
    ]
    assert all(graph.get_check_spec(k).partitions_def is not None for k in graph.asset_check_keys)
    assert {s.name for s in defs.schedules} == {"weekday_reconcile", "weekly_full_refresh", "daily_change_report_0600"}
    assert {s.name for s in defs.sensors} == {
        "workbook_sensor",
        "monday_automation",
        "notify_after_success",
        "notify_after_failure",
    }


def test_dg_check_defs_passes_in_a_fresh_clone_with_nothing_set():
    """As a newcomer runs it: no DAGSTER_HOME, no ORDER_PLATFORM_* (Dagster then reads the project's
    dagster.yaml with storage in a temporary folder); only PATH and the venv the tests run in."""
    venv = Path(sys.executable).parents[1]
    env = {"PATH": os.pathsep.join([str(venv / "bin"), os.defpath]), "VIRTUAL_ENV": str(venv)}
    checked = subprocess.run(
        [str(Path(sys.executable).parent / "dg"), "check", "defs"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert checked.returncode == 0 and "All definitions loaded successfully" in checked.stdout, checked.stderr
    assert not list(ROOT.glob(".tmp_dagster_home_*"))  # Dagster's temporary instance, removed after


def test_backfills_can_be_split_into_parallel_runs(monkeypatch):
    def layers(defs: dg.Definitions) -> dg.AssetsDefinition:
        return next(a for a in defs.assets if ORDER_LIST_SLICE in a.keys)

    assert layers(load_definitions()).backfill_policy.max_partitions_per_run is None
    monkeypatch.setenv("ORDER_PLATFORM_BACKFILL_PARTITIONS_PER_RUN", "8")
    assert layers(load_definitions()).backfill_policy.max_partitions_per_run == 8


def test_one_bad_workbook_is_red_alone_and_the_board_follows_the_others_in_the_same_run(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A")])
    (platform.source / workbook_name("TITLE 9")).write_bytes(b"")
    outcome = refresh()
    assert not outcome.ok and outcome.runs_failed == 1 and len(outcome.run_ids) == 1
    status = {load["customer"]: load for load in outcome.loads}
    assert status["GREYSON"]["published_rows"] == 2 and status["RHONE"]["published_rows"] == 1
    assert status["TITLE NINE"]["status"] == "failed" and "empty (0 bytes)" in status["TITLE NINE"]["error"]
    assert sorted(outcome.monday) == ["GREYSON", "RHONE"]  # same run, dry run
    assert outcome.monday["GREYSON"]["dry_run"] and outcome.monday["GREYSON"]["created"] == 2
    assert outcome.worker_peak_mb > 20  # the loading workers' peak memory reaches the outcome (the bench's figure)

    instance = dg.DagsterInstance.get()
    customers = ["GREYSON", "RHONE", "TITLE NINE"]
    shown = statuses(instance, customers)
    # the empty file was fetched and copied (source, blob), then could not be read: red from raw on
    assert shown["blob_workbook"]["TITLE NINE"] == "MATERIALIZED"
    for asset in ("raw_order_list", "staged_order_list", "order_list", "monday_board_items"):
        assert shown[asset] == {"GREYSON": "MATERIALIZED", "RHONE": "MATERIALIZED", "TITLE NINE": "FAILED"}, asset
    # TITLE NINE never reached staging: its check was planned by the failed run, not evaluated
    assert check_statuses(instance, STAGED_ORDER_LIST, "rows_accounted_for") == {
        "GREYSON": "SUCCEEDED",
        "RHONE": "SUCCEEDED",
        "TITLE NINE": "PLANNED",
    }

    # the default of the CLI and the reconcile: unchanged workbooks skipped; a failing run of them
    # leaves the unchanged customers green, the failed one red
    again = refresh(force=False)
    assert again.runs_failed == 1 and sorted(again.unchanged) == ["GREYSON", "RHONE"]
    assert [load["customer"] for load in again.loads] == ["TITLE NINE"]
    shown = statuses(instance, customers)
    assert shown["order_list"] == {"GREYSON": "MATERIALIZED", "RHONE": "MATERIALIZED", "TITLE NINE": "FAILED"}
    assert shown["monday_board_items"]["GREYSON"] == "MATERIALIZED"
    # not read again, the unchanged customers keep their checks' last results (not "execution failed"
    # because TITLE NINE failed the run), carried onto their new materialisation
    assert check_statuses(instance, STAGED_ORDER_LIST, "rows_accounted_for") == {
        "GREYSON": "SUCCEEDED",
        "RHONE": "SUCCEEDED",
        "TITLE NINE": "PLANNED",
    }
    infos = instance.event_log_storage.get_asset_check_partition_info(
        [dg.AssetCheckKey(STAGED_ORDER_LIST, "rows_accounted_for")], partition_keys=["GREYSON"]
    )
    assert [info.is_current for info in infos] == [True]  # it targets the latest materialisation

    fixed = platform.source / workbook_name("TITLE 9")
    write_workbook(fixed, [line("TIT-1", "A", **{"CUSTOMER NAME": "TITLE 9"})])
    assert refresh(["title 9"], force=False).ok
    assert statuses(instance, customers)["monday_board_items"]["TITLE NINE"] == "MATERIALIZED"


def test_every_check_fails_for_its_own_customer_only(platform, dagster_home):
    no_style = [h for h in BASIC_HEADERS if h != "CUSTOMER STYLE"]
    write_workbook(platform.source / workbook_name("AJE"), [line("AJE-1", "A")], headers=no_style)
    write_workbook(
        platform.source / workbook_name("BEYOND YOGA"),
        [line("BEY-1", "A", s=1, m=1, total=9, **{"CUSTOMER PRICE": "V137"})],  # a cell that cannot be typed
    )
    write_workbook(
        platform.source / workbook_name("GREYSON"),
        [line("GRE-1", "A", **{"ORIGINAL PO NUMBER": "X1"})],
        headers=[*BASIC_HEADERS, "ORIGINAL PO NUMBER"],
    )
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A"), line("DROP-1", "B")])
    write_workbook(platform.source / workbook_name("TELFAR"), [line("TEL-1", "A")])
    database = platform.home / "order_platform.db"  # the refresh's database (ORDER_PLATFORM_HOME)
    OrderPlatformResource().pipeline().store.ensure_tables()
    with sqlite3.connect(database) as conn:  # the database itself loses a row: publish must notice
        conn.execute(
            'CREATE TRIGGER lose_a_row AFTER INSERT ON "ORDER_LIST" WHEN NEW."AAG ORDER NUMBER" = \'DROP-1\' '
            'BEGIN DELETE FROM "ORDER_LIST" WHERE rowid = NEW.rowid; END'
        )
    outcome = refresh()
    status = {load["customer"]: load["status"] for load in outcome.loads}
    assert status == {
        "AJE": "failed",
        "BEYOND YOGA": "published",
        "GREYSON": "published",
        "RHONE": "failed",
        "TELFAR": "published",
    }
    instance = dg.DagsterInstance.get()
    assert check_statuses(instance, STAGED_ORDER_LIST, "key_columns_present") == {
        "AJE": "FAILED",
        "BEYOND YOGA": "SUCCEEDED",
        "GREYSON": "SUCCEEDED",
        "RHONE": "SUCCEEDED",
        "TELFAR": "SUCCEEDED",
    }
    assert check_statuses(instance, STAGED_ORDER_LIST, "total_qty_matches_sizes")["BEYOND YOGA"] == "FAILED"
    cells = check_statuses(instance, STAGED_ORDER_LIST, "no_cell_issues")
    assert cells["BEYOND YOGA"] == "FAILED" and cells["GREYSON"] == "SUCCEEDED"  # a warning: still published
    unknown = check_statuses(instance, STAGED_ORDER_LIST, "no_unknown_headers")
    assert unknown["GREYSON"] == "FAILED" and unknown["TELFAR"] == "SUCCEEDED"
    published = check_statuses(instance, ORDER_LIST_SLICE, "published_matches_staged")
    assert published["RHONE"] == "FAILED" and published["TELFAR"] == "SUCCEEDED"
    # the rolled-back publish left RHONE without a slice; warnings did not stop the others
    assert OrderPlatformResource().pipeline().store.order_list_for_customer("RHONE") is None
    shown = statuses(instance, ["AJE", "BEYOND YOGA", "GREYSON", "RHONE", "TELFAR"])["order_list"]
    assert shown == {
        "AJE": "FAILED",
        "BEYOND YOGA": "MATERIALIZED",
        "GREYSON": "MATERIALIZED",
        "RHONE": "FAILED",
        "TELFAR": "MATERIALIZED",
    }


def test_rebuilding_order_list_alone_records_the_staging_it_rewrote(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    assert refresh().ok
    instance = dg.DagsterInstance.get()
    result = dg.materialize(
        [build_customer_layers()],
        selection=[ORDER_LIST_SLICE],
        partition_key="GREYSON",
        instance=instance,
        resources={"order_platform": OrderPlatformResource(), "monday": dg.ResourceDefinition.none_resource()},
    )
    assert result.success
    recorded = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert recorded == {"staged_order_list", "order_list"}


def test_refresh_of_an_unknown_customer_is_a_clear_error(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    with pytest.raises(UnknownCustomerError, match="NOBODY"):
        refresh(["nobody"])


def _tick(instance: dg.DagsterInstance) -> dg.SensorResult:
    context = dg.build_sensor_context(instance=instance, resources={"order_platform": OrderPlatformResource()})
    result = workbook_sensor(context)
    assert isinstance(result, dg.SensorResult)
    return result


def test_sensor_requests_changed_customers_and_a_touched_workbook_once(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A")])
    instance = dg.DagsterInstance.get()
    first = _tick(instance)
    assert [list(r.partition_keys) for r in first.dynamic_partitions_requests] == [["GREYSON", "RHONE"]]
    assert sorted(r.partition_key for r in first.run_requests) == ["GREYSON", "RHONE"]
    assert refresh().ok
    instance = dg.DagsterInstance.get()  # as the daemon's next tick: it sees the partitions refresh added
    assert not _tick(instance).run_requests  # nothing changed since the loads

    path = platform.source / workbook_name("RHONE")
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))  # touched, same bytes
    touched = _tick(instance)
    assert [r.partition_key for r in touched.run_requests] == ["RHONE"]
    assert touched.run_requests[0].run_config["ops"]["customer_layers"]["config"]["force"] is False
    job = load_definitions().resolve_job_def("Refresh")
    request = touched.run_requests[0]
    assert job.execute_in_process(
        instance=instance, partition_key=request.partition_key, run_config=request.run_config
    ).success
    assert not _tick(instance).run_requests  # noticed once, not on every tick

    write_workbook(path, [line("RHO-1", "A", s=99, total=119)])
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 10))
    assert [r.partition_key for r in _tick(instance).run_requests] == ["RHONE"]


def test_reconcile_requests_only_changed_customers_and_full_refresh_all(platform, dagster_home):
    for name in ("AJE", "GREYSON", "RHONE"):
        write_workbook(platform.source / workbook_name(name), [line(f"{name[:3]}-1", "A")])
    assert refresh().ok
    path = platform.source / workbook_name("GREYSON")
    write_workbook(path, [line("GRE-1", "A", s=1, total=21)])
    os.utime(path, (path.stat().st_atime, path.stat().st_mtime + 5))
    instance = dg.DagsterInstance.get()
    schedules = {s.name: s for s in load_definitions().schedules}
    resources = {"order_platform": OrderPlatformResource()}

    def requests(name: str) -> list[dg.RunRequest]:
        # as a context manager: it sets the instance's defs-state storage for this process and must reset it
        with dg.build_schedule_context(instance=instance, resources=resources) as context:
            return list(schedules[name].evaluate_tick(context).run_requests or [])

    [reconcile] = requests("weekday_reconcile")
    assert (reconcile.tags[RANGE_START], reconcile.tags[RANGE_END]) == (
        "GREYSON",
        "GREYSON",
    )
    assert reconcile.run_config["ops"]["customer_layers"]["config"]["force"] is False
    [full] = requests("weekly_full_refresh")
    assert (full.tags[RANGE_START], full.tags[RANGE_END]) == (
        "AJE",
        "RHONE",
    )
    assert full.run_config["ops"]["customer_layers"]["config"]["force"] is True
    assert full.run_config["ops"]["customer_layers"]["config"]["reconcile_board"] is True  # the weekly read-back
    assert "reconcile_board" not in reconcile.run_config["ops"]["customer_layers"]["config"]


def test_a_plain_refresh_finishes_a_board_sync_that_was_interrupted(platform, dagster_home):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A")])
    assert refresh().ok
    engine = OrderPlatformResource().pipeline().store.engine
    with engine.begin() as conn:  # GREYSON's sync as a kill -9 leaves it: started, never finished
        conn.execute(
            sa.text("UPDATE MONDAY_SYNC_RUN SET status = 'running', finished_at = NULL WHERE customer = 'GREYSON'")
        )
    again = refresh(force=False)
    assert again.ok and sorted(again.unchanged) == ["GREYSON", "RHONE"]
    assert sorted(again.monday) == ["GREYSON"]  # only the board that was behind is synced again
    assert refresh(force=False).monday == {}  # and now it is in step
