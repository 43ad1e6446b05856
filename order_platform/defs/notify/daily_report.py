"""The daily change report: the changes of every customer published on one day (counts per customer, the
most significant changes, a CSV), refreshed at 06:00 for the day before by its schedule; it also prunes the
change history past its retention (ORDER_PLATFORM_CHANGES_RETENTION_DAYS).

Not partitioned by day: every other asset is partitioned by customer, and `dagster asset materialize
--select '*' --partition <CUSTOMER>` needs one partitions definition among the selected assets. The day is
run config instead (default: yesterday in the schedules' time zone); the schedule names it, one run per day.
"""

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import dagster as dg

from order_platform.defs.order_list.metadata import CHANGE_COLUMNS, markdown_table
from order_platform.defs.resources import OrderPlatformResource
from order_platform.settings import PlatformSettings
from order_platform.warehouse.changes.reads import changes_of
from order_platform.warehouse.changes.report import by_customer, write_csv
from order_platform.warehouse.changes.retention import prune_changes

DAILY_CHANGE_REPORT = dg.AssetKey("daily_change_report")
SHOWN = 40


class DailyReportConfig(dg.Config):
    day: str | None = None  # YYYY-MM-DD; none: yesterday in ORDER_PLATFORM_TIMEZONE


def report_day(day: str | None, timezone: str, now: datetime | None = None) -> date:
    """The day a report covers: the one named, else the day before `now` in the schedules' time zone."""
    if day:
        return date.fromisoformat(day)
    return (now or datetime.now(ZoneInfo(timezone))).astimezone(ZoneInfo(timezone)).date() - timedelta(days=1)


def day_window(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The day's bounds as the naive local times changes are stamped in."""
    start = datetime.combine(day, time(), ZoneInfo(timezone))
    end = start + timedelta(days=1)
    return start.astimezone().replace(tzinfo=None), end.astimezone().replace(tzinfo=None)


def build_daily_report(timezone: str) -> tuple[dg.AssetsDefinition, Any, Any]:
    @dg.asset(
        key=DAILY_CHANGE_REPORT,
        group_name="reports",
        kinds={"csv"},
        description="One day's ORDER_LIST changes of every customer (run config `day`, default yesterday): "
        "lines added, removed and changed per customer, the most significant changes first (quantities, dates, "
        "prices, order type), and a CSV of them all in <ORDER_PLATFORM_HOME>/reports/. Also prunes changes "
        "older than the retention.",
    )
    def daily_change_report(
        context: dg.AssetExecutionContext, config: DailyReportConfig, order_platform: OrderPlatformResource
    ) -> dg.MaterializeResult:
        day = report_day(config.day, timezone)
        since, until = day_window(day, timezone)
        store = order_platform.pipeline().store
        rows = changes_of(store.engine, store.changes, since=since, until=until)
        groups = by_customer(rows)
        settings = PlatformSettings()
        path = settings.home / "reports" / f"order_list_changes_{day.isoformat()}.csv"
        written = write_csv(rows, path)
        keep = datetime.now() - timedelta(days=settings.changes_retention_days)
        pruned = prune_changes(store.engine, store.changes, keep)
        first = [c for group in groups for c in group.changes[:5]][:SHOWN]
        return dg.MaterializeResult(
            metadata={
                "day": day.isoformat(),
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

    @dg.schedule(
        name="daily_change_report_0600",
        cron_schedule="0 6 * * *",
        execution_timezone=timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="06:00: the day before's change report (every customer), and the history pruned.",
    )
    def daily_change_report_0600(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = report_day(None, timezone, context.scheduled_execution_time).isoformat()
        return dg.RunRequest(
            run_key=day,  # one report per day, however often the tick is evaluated
            run_config=dg.RunConfig(ops={"daily_change_report": DailyReportConfig(day=day)}),
            tags={"order_platform/report_day": day},
        )

    return daily_change_report, job, daily_change_report_0600


@dg.definitions
def daily_report() -> dg.Definitions:
    asset, job, schedule = build_daily_report(PlatformSettings().timezone)
    return dg.Definitions(assets=[asset], jobs=[job], schedules=[schedule])
