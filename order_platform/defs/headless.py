"""Running the ORDER_LIST job without the UI, into the same Dagster instance the UI reads."""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import dagster as dg
import sqlalchemy as sa

from order_platform.defs.order_list.runs import RANGE_END, RANGE_START, contiguous_ranges, refresh_run_config
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import order_platform_resource
from order_platform.runner import start_worker_server
from order_platform.settings import PlatformSettings
from order_platform.staging.customers import customer_directory

# The terminal gets one line per customer and problems; every event is still in the instance (UI).
CONSOLE_INFO = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
REPO_INSTANCE_YAML = Path(__file__).resolve().parents[2] / "dagster.yaml"


def ensure_dagster_home(settings: PlatformSettings) -> Path:
    """DAGSTER_HOME from the environment, else <ORDER_PLATFORM_HOME>/dagster with the repo's dagster.yaml."""
    home = Path(os.environ.get("DAGSTER_HOME") or settings.dagster_home).absolute()
    home.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = str(home)
    if not (home / "dagster.yaml").exists() and REPO_INSTANCE_YAML.exists():
        shutil.copyfile(REPO_INSTANCE_YAML, home / "dagster.yaml")
    return home


class UnknownCustomerError(ValueError):
    pass


@dataclass
class RefreshOutcome:
    started: datetime
    customers: list[str]
    loads: list[dict]
    run_ids: list[str] = field(default_factory=list)
    runs_failed: int = 0
    monday: dict[str, dict] = field(default_factory=dict)  # customer -> its latest MONDAY_SYNC_RUN row
    monday_runs_failed: int = 0

    @property
    def failed(self) -> list[dict]:
        return [load for load in self.loads if load["status"] != "published"]

    @property
    def unchanged(self) -> list[str]:
        loaded = {load["customer"] for load in self.loads}
        return [c for c in self.customers if c not in loaded]

    @property
    def ok(self) -> bool:
        return not self.failed and self.runs_failed == 0 and self.monday_runs_failed == 0


def register_customers(instance: dg.DagsterInstance, customers: list[str]) -> list[str]:
    known = set(instance.get_dynamic_partitions(customer_partitions.name))
    new = [c for c in customers if c not in known]
    if new:
        instance.add_dynamic_partitions(customer_partitions.name, new)
    return new


def refresh(
    names: list[str] | None = None,
    *,
    force: bool = True,
    monday: bool = True,
    settings: PlatformSettings | None = None,
) -> RefreshOutcome:
    """Materialise the ORDER_LIST layers for the named customers (default: every workbook in the source),
    then the monday.com sync (a dry run without MONDAY_API_TOKEN) for the customers that were published."""
    settings = settings or PlatformSettings()
    ensure_dagster_home(settings)
    from order_platform.definitions import build_definitions  # after DAGSTER_HOME is set

    defs = build_definitions(settings)
    resource = order_platform_resource(settings)
    listing = resource.pipeline().workbooks()
    if names:
        directory = customer_directory()
        wanted = {directory.partition_key(n) for n in names}
        missing = sorted(w for w in wanted if w not in listing)
        if missing:
            raise UnknownCustomerError(
                f"no workbook for {missing} in {resource.source_dir}; customers there: {sorted(listing)}"
            )
    else:
        wanted = set(listing)
    if resource.workers > 1 and len(wanted) > 1:
        start_worker_server()  # its imports overlap with Dagster planning the run
    started = datetime.now()
    instance = dg.DagsterInstance.get()
    register_customers(instance, sorted(listing))
    order = instance.get_dynamic_partitions(customer_partitions.name)
    job = defs.resolve_job_def("order_list_refresh")
    outcome = RefreshOutcome(started, sorted(wanted), [])
    for first, last in contiguous_ranges(order, wanted):
        result = job.execute_in_process(
            instance=instance,
            run_config={**refresh_run_config(force), **CONSOLE_INFO},
            tags={RANGE_START: first, RANGE_END: last, "order_platform/trigger": "cli"},
            raise_on_error=False,
        )
        outcome.run_ids.append(result.run_id)
        outcome.runs_failed += 0 if result.success else 1
    store = resource.pipeline().store
    outcome.loads = [load for load in store.loads_since(started) if load["customer"] in wanted]
    published = {load["customer"] for load in outcome.loads if load["status"] == "published"}
    if monday and published:
        monday_job = defs.resolve_job_def("monday_sync")
        for first, last in contiguous_ranges(order, published):
            result = monday_job.execute_in_process(
                instance=instance,
                run_config=CONSOLE_INFO,
                tags={RANGE_START: first, RANGE_END: last, "order_platform/trigger": "cli"},
                raise_on_error=False,
            )
            outcome.run_ids.append(result.run_id)
            outcome.monday_runs_failed += 0 if result.success else 1
        outcome.monday = monday_runs_since(store.engine, started)
    return outcome


def monday_runs_since(engine: sa.Engine, started: datetime) -> dict[str, dict]:
    from order_platform.monday.state import run_table

    query = sa.select(run_table).where(run_table.c.started_at >= started).order_by(run_table.c.started_at)
    with engine.connect() as conn:
        return {row["customer"]: dict(row) for row in conn.execute(query).mappings()}
