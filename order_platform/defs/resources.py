"""Resources: the ORDER_LIST platform (database, workbook source, blob store) and monday.com."""

from __future__ import annotations

import os

import dagster as dg

from order_platform.pipeline import OrderListPipeline
from order_platform.runner import PipelineSpec
from order_platform.settings import PlatformSettings


class OrderPlatformResource(dg.ConfigurableResource):
    """Where ORDER_LIST's layers live. SharePoint/Azure connectors are chosen by their own settings."""

    database_url: str
    source_dir: str
    blob_dir: str
    workers: int = 2

    def spec(self) -> PipelineSpec:
        return PipelineSpec(self.database_url, self.source_dir, self.blob_dir)

    def pipeline(self) -> OrderListPipeline:
        return self.spec().build()


def order_platform_resource(settings: PlatformSettings | None = None) -> OrderPlatformResource:
    settings = settings or PlatformSettings()
    return OrderPlatformResource(
        database_url=str(settings.database_url),
        source_dir=str(settings.source_dir),
        blob_dir=str(settings.blob_dir),
        workers=settings.workers or max(1, min(2, os.cpu_count() or 1)),
    )
