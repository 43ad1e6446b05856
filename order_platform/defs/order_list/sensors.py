"""The workbook sensor: adds new customers as partitions and runs only customers whose workbook changed."""

from __future__ import annotations

import hashlib

import dagster as dg

from order_platform.defs.order_list.jobs import order_list_job
from order_platform.defs.order_list.runs import contiguous_ranges, range_run_request, refresh_run_config
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.ingest.changes import changed_customers

# Above this many changed customers, one run over the whole range (unchanged ones skip by hash).
BATCH_THRESHOLD = 4


@dg.sensor(
    job=order_list_job,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Lists the workbook source; new customers become partitions, changed workbooks get a run.",
)
def workbook_sensor(context: dg.SensorEvaluationContext, order_platform: OrderPlatformResource):
    pipeline = order_platform.pipeline()
    listing = pipeline.workbooks()
    known = set(context.instance.get_dynamic_partitions(customer_partitions.name))
    new = sorted(set(listing) - known)
    changes = changed_customers(listing, pipeline.store.latest_loads())
    if not changes:
        return dg.SensorResult(
            dynamic_partitions_requests=[customer_partitions.build_add_request(new)] if new else [],
            skip_reason=None if new else dg.SkipReason(f"{len(listing)} workbook(s), none changed"),
        )
    order = [*context.instance.get_dynamic_partitions(customer_partitions.name), *new]
    version_key = ",".join(f"{c}={v}" for c, v in sorted(changes.items()))
    if len(changes) > BATCH_THRESHOLD:
        requests = [
            range_run_request(
                first,
                last,
                force=False,
                run_key=f"{first}..{last}:{hashlib.sha1(version_key.encode()).hexdigest()[:12]}",
            )
            for first, last in contiguous_ranges(order, set(changes))
        ]
    else:
        requests = [
            dg.RunRequest(
                partition_key=customer,
                run_key=f"{customer}:{version}",
                run_config=refresh_run_config(force=False),
                tags={"order_platform/trigger": "workbook_sensor"},
            )
            for customer, version in sorted(changes.items())
        ]
    context.log.info(f"changed: {sorted(changes)}; new partitions: {new}")
    return dg.SensorResult(
        run_requests=requests,
        dynamic_partitions_requests=[customer_partitions.build_add_request(new)] if new else [],
    )
