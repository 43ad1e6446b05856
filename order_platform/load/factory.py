"""Builds the pipeline's parts from settings: local defaults, or the production connectors when configured."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from order_platform.ingest.connectors import build_blob_store, build_source, load_connector_settings
from order_platform.ingest.workbook_guard import WorkbookLimits
from order_platform.load.pipeline import OrderListPipeline
from order_platform.schema import order_list_schema
from order_platform.settings import PlatformSettings
from order_platform.staging.customers import customer_directory
from order_platform.warehouse.engine import make_engine
from order_platform.warehouse.store import OrderStore


def build_store(database_url: str) -> OrderStore:
    store = OrderStore(make_engine(database_url), order_list_schema())
    store.ensure_tables()
    return store


def build_pipeline(
    database_url: str, source_dir: str, blob_dir: str, limits: WorkbookLimits | None = None
) -> OrderListPipeline:
    """The pipeline on the configured connectors (ORDER_PLATFORM_SOURCE / _BLOB), local folders by default;
    workbooks refused past `limits` (default: the ORDER_PLATFORM_MAX_* settings, read here)."""
    store = build_store(database_url)
    connectors = load_connector_settings()
    return OrderListPipeline(
        build_source(connectors, store.engine, Path(source_dir)),
        build_blob_store(connectors, Path(blob_dir)),
        store,
        order_list_schema(),
        customer_directory(),
        limits or WorkbookLimits.from_settings(PlatformSettings()),
    )


@dataclass(frozen=True)
class PipelineSpec:
    """Everything a process needs to build the pipeline: a picklable recipe, not live clients.

    Built from the settings once where a command, a resource or a test starts (`from_settings`); a worker
    process builds the same pipeline from it. `limits` None: the process reads ORDER_PLATFORM_MAX_*."""

    database_url: str
    source_dir: str
    blob_dir: str
    limits: WorkbookLimits | None = None

    @classmethod
    def from_settings(cls, settings: PlatformSettings) -> PipelineSpec:
        return cls(
            str(settings.database_url),
            str(settings.source_dir),
            str(settings.blob_dir),
            WorkbookLimits.from_settings(settings),
        )

    def build(self) -> OrderListPipeline:
        """The pipeline of this spec, built once per process."""
        return _build(self)


@cache
def _build(spec: PipelineSpec) -> OrderListPipeline:
    return build_pipeline(spec.database_url, spec.source_dir, spec.blob_dir, spec.limits)
