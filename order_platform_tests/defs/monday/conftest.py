"""Fixtures: ORDER_LIST slices published by the real pipeline, a fake monday.com board, Dagster runs.

The ORDER_LIST database is built once per module (two customers' sample workbooks through every
layer) and copied for each test, so every test starts from the same published slices and empty
monday state.
"""

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest

from order_platform.defs.customer_layers import build_customer_layers
from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.monday.resources import MondayResource
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.load.factory import PipelineSpec
from order_platform.monday import load_board_config
from order_platform.schema import Kind, order_list_schema
from order_platform.workers.runner import run_customers
from stand_ins.monday_server import FakeMondayServer
from stand_ins.sample_data import customer_headers, write_customer_workbook

TOKEN = "delivery-test-token-never-shown"
BOARD = "9609317401"
# partition key -> (name in the file, header set in customer_headers.json, lines)
CUSTOMERS = {"GREYSON": ("GREYSON", "GREYSON", 24), "TITLE NINE": ("TITLE 9", "TITLE_9", 12)}
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
PLATFORM_ENV = ("ORDER_PLATFORM_SOURCE", "ORDER_PLATFORM_BLOB")
MONDAY_ENV = ("MONDAY_API_TOKEN", "MONDAY_API_URL", "MONDAY_BOARD_ID", "MONDAY_API_VERSION")


@dataclass(frozen=True)
class Published:
    """The module's ORDER_LIST database, built by the real pipeline, and its folders."""

    database: Path
    source_dir: Path
    blob_dir: Path


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Local connectors, and no MONDAY_* from the developer's shell (tests say what they want)."""
    for name in (*PLATFORM_ENV, *MONDAY_ENV):
        monkeypatch.delenv(name, raising=False)


def text_fed_number_columns() -> set[str]:
    """ORDER_LIST text columns that feed numeric board columns (DESIGN FEE, DISCOUNT, SURCHARGE FEE).

    The sample generator fills text columns with filler like `DISCOUNT 13`, which the sync rightly
    refuses for a numbers column; these tests want clean slices, so those headers are left out.
    """
    schema = order_list_schema()
    return {
        c.order_list_column
        for c in load_board_config().item_columns
        if c.monday_type == "numbers" and schema.by_name[c.order_list_column].kind is Kind.TEXT
    }


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Published:
    root = tmp_path_factory.mktemp("order_list")
    all_headers = customer_headers()
    skip = text_fed_number_columns()
    for seed, (in_file, header_set, lines) in enumerate(CUSTOMERS.values(), start=11):
        headers = [h for h in all_headers[header_set] if h not in skip]
        write_customer_workbook(in_file, headers, lines, seed, root / "source" / "USA CUSTOMERS")
    database = root / "order_list.db"
    spec = PipelineSpec(f"sqlite:///{database}", str(root / "source"), str(root / "blob"))
    with pytest.MonkeyPatch.context() as env:
        for name in PLATFORM_ENV:
            env.delenv(name, raising=False)
        reports = list(run_customers(spec, list(CUSTOMERS), workers=1))
    assert all(r.ok for r in reports), [r.error for r in reports]
    spec.build().store.engine.dispose()
    return Published(database, root / "source", root / "blob")


@pytest.fixture
def order_platform(published: Published, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> OrderPlatformResource:
    """A private copy of the published database (sqlite3 backup: consistent even with WAL)."""
    database = tmp_path / "order_list.db"
    with sqlite3.connect(published.database) as src, sqlite3.connect(database) as dst:
        src.backup(dst)
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", f"sqlite:///{database}")
    monkeypatch.setenv("ORDER_PLATFORM_SOURCE_DIR", str(published.source_dir))
    monkeypatch.setenv("ORDER_PLATFORM_BLOB_DIR", str(published.blob_dir))
    return OrderPlatformResource(workers=1)


def order_list_slice(resource: OrderPlatformResource, customer: str) -> pd.DataFrame:
    lines = resource.pipeline().store.order_list_for_customer(customer)
    assert lines is not None and len(lines) > 0
    return lines


@pytest.fixture
def server() -> Iterator[FakeMondayServer]:
    with FakeMondayServer(token=TOKEN, budget=1_000_000_000) as fake_server:
        fake_server.fake.seed_from_config(load_board_config())
        yield fake_server


def live_monday(server: FakeMondayServer, token: str = TOKEN) -> MondayResource:
    return MondayResource(api_token=token, api_url=server.url)


@pytest.fixture
def instance() -> dg.DagsterInstance:
    instance = dg.DagsterInstance.ephemeral()
    instance.add_dynamic_partitions(customer_partitions.name or "customer", list(CUSTOMERS))
    return instance


@pytest.fixture
def sync(
    instance: dg.DagsterInstance, order_platform: OrderPlatformResource
) -> Callable[..., dg.ExecuteInProcessResult]:
    """Materialise monday_board_items for one customer (or, by default, all of them in one run)."""

    def run(monday: MondayResource, customer: str | None = None) -> dg.ExecuteInProcessResult:
        keys = list(CUSTOMERS)
        tags: dict[str, Any] = {} if customer else {RANGE_START: keys[0], RANGE_END: keys[-1]}
        return dg.materialize(
            [build_customer_layers()],
            selection=[MONDAY_BOARD_ITEMS],
            partition_key=customer,
            tags=tags,
            instance=instance,
            resources={"order_platform": order_platform, "monday": monday},
            raise_on_error=False,
        )

    return run
