"""Builds the pipeline's parts from settings: local defaults, or the production connectors when configured."""

from __future__ import annotations

from pathlib import Path

from order_platform.lib.blob import BlobStore, LocalBlobStore
from order_platform.lib.customers import customer_directory
from order_platform.lib.db_engine import make_engine
from order_platform.lib.pipeline import OrderListPipeline
from order_platform.lib.schema import order_list_schema
from order_platform.lib.source import LocalFolderSource, WorkbookSource
from order_platform.lib.store import OrderStore


def build_source(source_dir: str, store: OrderStore) -> WorkbookSource:
    return LocalFolderSource(Path(source_dir))


def build_blobs(blob_dir: str) -> BlobStore:
    return LocalBlobStore(Path(blob_dir))


def build_store(database_url: str) -> OrderStore:
    store = OrderStore(make_engine(database_url), order_list_schema())
    store.ensure_tables()
    return store


def build_pipeline(database_url: str, source_dir: str, blob_dir: str) -> OrderListPipeline:
    store = build_store(database_url)
    return OrderListPipeline(
        build_source(source_dir, store), build_blobs(blob_dir), store, order_list_schema(), customer_directory()
    )
