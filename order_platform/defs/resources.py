"""The ORDER_LIST platform resource: database, workbook source and blob store, read at run time.

No URL, path or secret is a field of the resource: Dagster stores resource config in the job
snapshot (run storage) and shows it on the Resources page, and the database URL carries a password
in production. Everything comes from the ORDER_PLATFORM_* environment when a run or a sensor tick
uses the resource (`PlatformSettings`), never when the code location is imported.
"""

from __future__ import annotations

import dagster as dg
from pydantic import Field

from order_platform.load.factory import PipelineSpec
from order_platform.load.pipeline import OrderListPipeline
from order_platform.settings import PlatformSettings
from order_platform.workers.process import WorkerLimits


class OrderPlatformResource(dg.ConfigurableResource):
    """Where ORDER_LIST's layers live; the connectors (SharePoint, Azure) are chosen by their own settings."""

    workers: int | None = Field(
        default=None, description="Processes loading customers side by side; default ORDER_PLATFORM_WORKERS."
    )

    def settings(self) -> PlatformSettings:
        return PlatformSettings()

    def worker_count(self) -> int:
        return self.workers or self.settings().worker_count

    def worker_limits(self) -> WorkerLimits:
        return WorkerLimits.from_settings(self.settings())

    def spec(self) -> PipelineSpec:
        return PipelineSpec.from_settings(self.settings())

    def pipeline(self) -> OrderListPipeline:
        return self.spec().build()

    def release_run_holdings(self, run_id: str) -> None:
        """What a dead run held outside Dagster: the monday.com board lease."""
        from order_platform.monday.state.board_lease import release_leases_of

        release_leases_of(self.pipeline().store.engine, run_id)


@dg.definitions
def resources() -> dg.Definitions:
    from order_platform.defs.monday.resources import MondayResource
    from order_platform.monday import load_board_config
    from order_platform.staging.customers import customer_directory

    # The configuration files, read once as the code location loads (the schema already is, by the tables):
    # a mistyped key or a mapped column ORDER_LIST does not have stops the load with one line naming the
    # file and the key, rather than failing the first run that reads it.
    load_board_config()
    customer_directory()
    return dg.Definitions(
        resources={"order_platform": OrderPlatformResource(), "monday": MondayResource()},
        # One process per run: the ORDER_LIST step forks its own workers, and a run's customers share
        # one database connection pool and one paced monday.com client.
        executor=dg.in_process_executor,
    )
