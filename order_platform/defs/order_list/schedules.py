"""Schedules: a weekday-morning reconcile (changed workbooks only) and a Monday full refresh."""

from __future__ import annotations

import dagster as dg

from order_platform.defs.order_list.jobs import order_list_job
from order_platform.defs.order_list.runs import range_run_request
from order_platform.defs.partitions import customer_partitions


def _all_customers(context: dg.ScheduleEvaluationContext, force: bool) -> dg.RunRequest | dg.SkipReason:
    keys = context.instance.get_dynamic_partitions(customer_partitions.name)
    if not keys:
        return dg.SkipReason("no customer partitions yet: the workbook sensor adds them")
    trigger = "monday_full_refresh" if force else "weekday_reconcile"
    return range_run_request(keys[0], keys[-1], force=force, tags={"order_platform/trigger": trigger})


def build_schedules(timezone: str) -> list[dg.ScheduleDefinition]:
    @dg.schedule(
        name="weekday_reconcile",
        cron_schedule="0 6 * * 1-5",
        job=order_list_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="06:00 on weekdays: every customer in one run; unchanged workbooks are skipped by content hash.",
    )
    def weekday_reconcile(context: dg.ScheduleEvaluationContext):
        return _all_customers(context, force=False)

    @dg.schedule(
        name="monday_full_refresh",
        cron_schedule="0 4 * * 1",
        job=order_list_job,
        execution_timezone=timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="04:00 on Mondays: reload every customer, changed or not.",
    )
    def monday_full_refresh(context: dg.ScheduleEvaluationContext):
        return _all_customers(context, force=True)

    return [weekday_reconcile, monday_full_refresh]
