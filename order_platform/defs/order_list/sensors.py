"""The workbook sensor: new customers become partitions, changed workbooks get a refresh run."""

from __future__ import annotations

import hashlib

import dagster as dg

from order_platform.defs.jobs import refresh_job
from order_platform.defs.partitions import CUSTOMER, customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.defs.runs import contiguous_ranges, range_run_request, reap_dead_runs, refresh_run_config
from order_platform.ingest.changes import changed_customers

# Above this many changed customers, one run over their ranges rather than one run each.
BATCH_THRESHOLD = 4


@dg.sensor(
    job=refresh_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the workbook source; new customers become partitions, changed workbooks get a run "
    "(workbook to board). Also marks runs whose process died as failed, freeing their pool slots.",
)
def workbook_sensor(context: dg.SensorEvaluationContext, order_platform: OrderPlatformResource):
    for run_id in reap_dead_runs(context.instance, order_platform.release_run_holdings):
        context.log.warning(f"run {run_id} had died without ending; marked failed and its pool slots freed")
    pipeline = order_platform.pipeline()
    listing = pipeline.workbooks()
    for note in pipeline.listing_notes:
        context.log.warning(f"source listing: {note}")
    pipeline.removed_customers(listing)  # a published customer whose workbook is gone: logged 'source_removed'
    known = set(context.instance.get_dynamic_partitions(CUSTOMER))
    new = sorted(set(listing) - known)
    add = [customer_partitions.build_add_request(new)] if new else []
    changes = changed_customers(listing, pipeline.store.latest_loads())
    if not changes:
        return dg.SensorResult(
            dynamic_partitions_requests=add,
            skip_reason=None if new else dg.SkipReason(f"{len(listing)} workbook(s), none changed"),
        )
    context.log.info(f"changed: {sorted(changes)}; new partitions: {new}")
    return dg.SensorResult(run_requests=changed_run_requests(context, changes, new), dynamic_partitions_requests=add)


def changed_run_requests(
    context: dg.SensorEvaluationContext, changes: dict[str, str], new: list[str]
) -> list[dg.RunRequest]:
    """One run per changed customer (keyed by its version, so a version runs once), or ranges when many."""
    if len(changes) <= BATCH_THRESHOLD:
        return [
            dg.RunRequest(
                partition_key=customer,
                run_key=f"{customer}:{version}",
                run_config=refresh_run_config(force=False),
                tags={"order_platform/trigger": "workbook_sensor"},
            )
            for customer, version in sorted(changes.items())
        ]
    order = [*context.instance.get_dynamic_partitions(CUSTOMER), *new]
    versions = hashlib.sha1(",".join(f"{c}={v}" for c, v in sorted(changes.items())).encode()).hexdigest()[:12]
    return [
        range_run_request(
            first,
            last,
            force=False,
            run_key=f"{first}..{last}:{versions}",
            tags={"order_platform/trigger": "workbook_sensor"},
        )
        for first, last in contiguous_ranges(order, set(changes))
    ]
