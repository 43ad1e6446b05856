"""Telling the team after every run, by Dagster's run-status sensors (the daemon runs them; no scheduler
of our own): the change summary after a run that published changes, one failure message after a run in
which customers failed. The CLI's in-process runs call `notify_after_run` itself (defs/headless.py); a
message claimed by one is not sent again by the other (PLATFORM_NOTIFICATIONS)."""

from __future__ import annotations

import logging

import dagster as dg

from order_platform.defs.notify.facts import run_facts
from order_platform.defs.resources import OrderPlatformResource
from order_platform.notify.notices import Notice, notify_run


def notify_after_run(instance: dg.DagsterInstance, run: dg.DagsterRun) -> list[Notice]:
    """The run's messages, sent once each; what happened is written into the run's own log."""

    def run_log(level: int, text: str) -> None:
        prefix = "" if level < logging.WARNING else "notification problem: "
        instance.report_engine_event(f"{prefix}{text}", dagster_run=run)

    store = OrderPlatformResource().pipeline().store
    try:
        facts = run_facts(instance, run)
    except Exception as exc:  # never raise into the run (or the sensor) for a notification
        run_log(logging.ERROR, f"notification not prepared: {type(exc).__name__}")
        return []
    return notify_run(store.engine, store.changes, facts, run_log=run_log)


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="notify_after_success",
    description="After a successful run: the change summary to Teams (TEAMS_WEBHOOK_URL) or the run log.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def notify_after_success(context: dg.RunStatusSensorContext) -> None:
    for notice in notify_after_run(context.instance, context.dagster_run):
        context.log.info(f"{notice.kind} message: {notice.status}")


@dg.run_failure_sensor(
    name="notify_after_failure",
    description="After a failed run: one message naming each failed customer, its workbook and error; and the "
    "change summary of the customers it published.",
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
)
def notify_after_failure(context: dg.RunFailureSensorContext) -> None:
    for notice in notify_after_run(context.instance, context.dagster_run):
        context.log.info(f"{notice.kind} message: {notice.status}")


@dg.definitions
def notify_sensors() -> dg.Definitions:
    return dg.Definitions(sensors=[notify_after_success, notify_after_failure])
