"""The code location: ORDER_LIST assets and checks, monday.com delivery, sensors, schedules, resources."""

import dagster as dg

from order_platform.defs.monday.assets import monday_board_items
from order_platform.defs.monday.jobs import monday_sync_job
from order_platform.defs.monday.resources import monday_resource
from order_platform.defs.monday.sensors import monday_automation_sensor
from order_platform.defs.order_list.assets import order_list_layers
from order_platform.defs.order_list.jobs import order_list_job
from order_platform.defs.order_list.schedules import build_schedules
from order_platform.defs.order_list.sensors import workbook_sensor
from order_platform.defs.resources import order_platform_resource
from order_platform.settings import PlatformSettings


def build_definitions(settings: PlatformSettings) -> dg.Definitions:
    per_run = settings.backfill_partitions_per_run
    order_list = (
        order_list_layers.with_attributes(backfill_policy=dg.BackfillPolicy.multi_run(per_run))
        if per_run
        else order_list_layers
    )
    return dg.Definitions(
        assets=[order_list, monday_board_items],
        jobs=[order_list_job, monday_sync_job],
        schedules=build_schedules(settings.timezone),
        sensors=[workbook_sensor, monday_automation_sensor],
        resources={"order_platform": order_platform_resource(settings), "monday": monday_resource()},
        executor=dg.in_process_executor,
    )


defs = build_definitions(PlatformSettings())
