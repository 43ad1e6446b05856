"""The daily change report: one partition per day collecting the changes of every customer published that
day (counts per customer, the most significant changes, a CSV), refreshed at 06:00 for the day before by
its schedule; it also prunes the change history past its retention (ORDER_PLATFORM_CHANGES_RETENTION_DAYS)."""

from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from order_platform.defs.order_list.metadata import CHANGE_COLUMNS, markdown_table
from order_platform.defs.resources import OrderPlatformResource
from order_platform.settings import PlatformSettings
from order_platform.warehouse.changes.reads import changes_of
from order_platform.warehouse.changes.report import by_customer, write_csv
from order_platform.warehouse.changes.retention import prune_changes

DAILY_CHANGE_REPORT = dg.AssetKey("daily_change_report")
FIRST_DAY = "2026-01-01"
SHOWN = 40


def _local(moment: datetime) -> datetime:
    """A partition boundary (aware, in the schedules' time zone) as the naive local time changes are stamped in."""
    return moment.astimezone().replace(tzinfo=None)


def build_daily_report(timezone: str) -> tuple[dg.AssetsDefinition, Any, Any]:
    days = dg.DailyPartitionsDefinition(start_date=FIRST_DAY, timezone=timezone)

    @dg.asset(
        key=DAILY_CHANGE_REPORT,
        partitions_def=days,
        group_name="reports",
        kinds={"csv"},
        description="The day's ORDER_LIST changes of every customer: lines added, removed and changed per "
        "customer, the most significant changes first (quantities, dates, prices, order type), and a CSV of "
        "them all in <ORDER_PLATFORM_HOME>/reports/. Also prunes changes older than the retention.",
    )
    def daily_change_report(
        context: dg.AssetExecutionContext, order_platform: OrderPlatformResource
    ) -> dg.MaterializeResult:
        window = context.partition_time_window
        store = order_platform.pipeline().store
        rows = changes_of(store.engine, store.changes, since=_local(window.start), until=_local(window.end))
        groups = by_customer(rows)
        settings = PlatformSettings()
        path = settings.home / "reports" / f"order_list_changes_{context.partition_key}.csv"
        written = write_csv(rows, path)
        keep = datetime.now() - timedelta(days=settings.changes_retention_days)
        pruned = prune_changes(store.engine, store.changes, keep)
        first = [c for group in groups for c in group.changes[:5]][:SHOWN]
        return dg.MaterializeResult(
            metadata={
                "customers_with_changes": len(groups),
                "changes": written,
                "by_customer": dg.MetadataValue.json({g.customer: g.counts() for g in groups}),
                "most_significant": markdown_table(
                    [{"customer": c["customer"], **c} for c in first], ["customer", *CHANGE_COLUMNS]
                )
                if first
                else "no changes that day",
                "csv": dg.MetadataValue.path(str(path)),
                "pruned_changes": pruned,
                "retention_days": settings.changes_retention_days,
            }
        )

    job = dg.define_asset_job("daily_change_report_job", selection=[DAILY_CHANGE_REPORT])
    schedule = dg.build_schedule_from_partitioned_job(
        job,
        name="daily_change_report_0600",
        hour_of_day=6,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="06:00: the day before's change report (every customer), and the history pruned.",
    )
    return daily_change_report, job, schedule


@dg.definitions
def daily_report() -> dg.Definitions:
    asset, job, schedule = build_daily_report(PlatformSettings().timezone)
    return dg.Definitions(assets=[asset], jobs=[job], schedules=[schedule])
