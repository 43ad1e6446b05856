"""Schedules: a weekday-morning reconcile of changed workbooks, and a Monday full refresh."""

from __future__ import annotations

import dagster as dg

from order_platform.defs.jobs import refresh_job
from order_platform.defs.partitions import CUSTOMER
from order_platform.defs.resources import OrderPlatformResource
from order_platform.defs.runs import contiguous_ranges, range_run_request
from order_platform.ingest.changes import changed_customers
from order_platform.settings import PlatformSettings


def _requests(
    context: dg.ScheduleEvaluationContext,
    customers: set[str],
    *,
    force: bool,
    trigger: str,
    audit: bool = False,
    reconcile: bool = False,
) -> list[dg.RunRequest] | dg.SkipReason:
    order = context.instance.get_dynamic_partitions(CUSTOMER)
    wanted = customers & set(order)
    if not wanted:
        return dg.SkipReason("no customer to refresh" if order else "no customer partitions yet: the sensor adds them")
    return [
        range_run_request(
            first,
            last,
            force=force,
            audit_board=audit,
            reconcile_board=reconcile,
            tags={"order_platform/trigger": trigger},
        )
        for first, last in contiguous_ranges(order, wanted)
    ]


def build_schedules(timezone: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="weekday_reconcile",
        cron_schedule="0 6 * * 1-5",
        job=refresh_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="06:00 on weekdays: the customers whose workbook changed since their last load, in one run "
        "(a catch-up for changes the sensor missed).",
    )
    def weekday_reconcile(context: dg.ScheduleEvaluationContext, order_platform: OrderPlatformResource):
        pipeline = order_platform.pipeline()
        changed = changed_customers(pipeline.workbooks(), pipeline.store.latest_loads())
        return _requests(context, set(changed), force=False, trigger="weekday_reconcile")

    @dg.schedule(
        name="monday_full_refresh",
        cron_schedule="0 4 * * 1",
        job=refresh_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="04:00 on Mondays: every customer with a workbook in the source reloaded, changed or not, and "
        "the board read back and reconciled (what people changed on the platform's columns and items repaired, "
        "recorded in MONDAY_DRIFT).",
    )
    def monday_full_refresh(context: dg.ScheduleEvaluationContext, order_platform: OrderPlatformResource):
        listing = order_platform.pipeline().workbooks()
        return _requests(
            context, set(listing), force=True, trigger="monday_full_refresh", audit=True, reconcile=True
        )

    return [weekday_reconcile, monday_full_refresh]


@dg.definitions
def schedules() -> dg.Definitions:
    return dg.Definitions(schedules=build_schedules(PlatformSettings().timezone))
