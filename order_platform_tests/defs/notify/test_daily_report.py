"""The daily change report: the day's changes of every customer, a CSV, and the history pruned past its
retention without touching newer changes."""

from __future__ import annotations

import csv
import datetime as dt

import dagster as dg
import sqlalchemy as sa

from order_platform.defs.headless import load_definitions
from order_platform.defs.notify.daily_report import build_daily_report
from order_platform.defs.resources import OrderPlatformResource
from order_platform.warehouse.tables import CHANGES
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import line, workbook_name, write_workbook


def test_the_days_changes_of_every_customer_and_old_changes_pruned(platform, dagster_home, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", platform.spec.database_url)
    monkeypatch.setenv("ORDER_PLATFORM_BLOB_DIR", platform.spec.blob_dir)
    monkeypatch.setenv("ORDER_PLATFORM_CHANGES_RETENTION_DAYS", "30")
    greyson, rhone = platform.source / workbook_name("GREYSON"), platform.source / workbook_name("RHONE")
    write_workbook(greyson, [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(rhone, [line("RHO-1", "A")])
    assert all(r.ok for r in run_customers(platform.spec, ["GREYSON", "RHONE"]))
    write_workbook(greyson, [line("GRE-1", "A", s=11, total=31), line("GRE-2", "B")])
    write_workbook(rhone, [line("RHO-1", "A", **{"ORDER TYPE": "CANCELLED"})])
    assert all(r.ok for r in run_customers(platform.spec, ["GREYSON", "RHONE"]))
    engine = sa.create_engine(platform.spec.database_url)
    yesterday = dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)
    with engine.begin() as conn:  # the edits were published yesterday (local time); one change 31 days ago
        noon = dt.datetime.combine(yesterday, dt.time(12), dt.UTC).astimezone().replace(tzinfo=None)
        conn.execute(sa.text(f"UPDATE {CHANGES} SET changed_at = :at"), {"at": noon})
        conn.execute(
            sa.text(
                f"INSERT INTO {CHANGES} (load_id, customer, record_uuid, change_kind, column_name, old_value, "
                "new_value, significance, changed_at) VALUES ('old', 'GREYSON', 'x', 'changed', 'S', '1', '2', 1, :at)"
            ),
            {"at": dt.datetime.now() - dt.timedelta(days=31)},
        )

    asset, _, _ = build_daily_report("UTC")
    result = dg.materialize(
        [asset],
        run_config=dg.RunConfig(ops={"daily_change_report": {"config": {"day": yesterday.isoformat()}}}),
        resources={"order_platform": OrderPlatformResource()},
        instance=dg.DagsterInstance.get(),
    )
    assert result.success
    (materialization,) = result.asset_materializations_for_node("daily_change_report")
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    assert metadata["customers_with_changes"] == 2 and metadata["changes"] == 3
    assert metadata["by_customer"]["GREYSON"] == {"added": 0, "removed": 0, "changed_lines": 1, "changed_cells": 2}
    assert metadata["by_customer"]["RHONE"]["changed_cells"] == 1
    assert "CANCELLED" in metadata["most_significant"] and metadata["pruned_changes"] == 1
    with open(metadata["csv"], newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["customer"], r["column_name"], r["new_value"]) for r in rows] == [
        ("GREYSON", "S", "11"),
        ("GREYSON", "TOTAL QTY", "31"),
        ("RHONE", "ORDER TYPE", "CANCELLED"),
    ]
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {CHANGES}")).scalar() == 3
    assert metadata["day"] == yesterday.isoformat()
    # the 06:00 schedule asks for the day before's report, once per day
    resolved = load_definitions().resolve_schedule_def("daily_change_report_0600")
    assert resolved.cron_schedule == "0 6 * * *" and resolved.default_status == dg.DefaultScheduleStatus.RUNNING
    tick = dt.datetime(2026, 12, 5, 6, tzinfo=dt.UTC)
    with dg.build_schedule_context(scheduled_execution_time=tick) as context:
        (request,) = [resolved.evaluate_tick(context).run_requests or []][0]
    assert request.run_key == "2026-12-04"
    assert request.run_config["ops"]["daily_change_report"]["config"]["day"] == "2026-12-04"
