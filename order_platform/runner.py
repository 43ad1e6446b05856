"""Run many customers at once: a small process pool, largest workbooks first, reports as they finish.

Reading and typing workbooks is CPU work in Python; two cores do it in about half the time.
Each worker builds its own pipeline from a picklable `PipelineSpec`, and only the small
`CustomerReport` travels back, so memory stays bounded by the largest customer per worker.
"""

from __future__ import annotations

import gc
import logging
import multiprocessing
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache

from order_platform.ingest.source import WorkbookRef
from order_platform.pipeline import LAYERS, OrderListPipeline
from order_platform.report import CustomerReport, report_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PipelineSpec:
    """Everything a process needs to build the pipeline: a picklable recipe, not live clients."""

    database_url: str
    source_dir: str
    blob_dir: str

    def build(self) -> OrderListPipeline:
        return _build(self)


@cache
def _build(spec: PipelineSpec) -> OrderListPipeline:
    from order_platform.factory import build_pipeline

    return build_pipeline(spec.database_url, spec.source_dir, spec.blob_dir)


@contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while one customer loads.

    A load allocates millions of short-lived objects; the collector's generation scans over them
    cost ~6% of a load and find almost nothing (reference counting frees the data). Cycles made
    meanwhile are collected after the customer, so memory stays bounded by one customer.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _run_one(
    spec: PipelineSpec,
    customer: str,
    layers: frozenset[str],
    force: bool,
    listing: dict[str, list[WorkbookRef]],
) -> CustomerReport:
    with _cycle_collector_paused():
        return report_for(spec.build().run_customer(customer, layers, force=force, listing=listing))


_PRELOAD = ["order_platform.runner", "order_platform.factory"]


def _worker_context() -> multiprocessing.context.BaseContext:
    # Not fork: Dagster's process runs threads. A fork server starts clean, imports the pipeline
    # once, and forks the workers from there, so they do not each import pandas & co. again.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    return context


def start_worker_server() -> None:
    """Start the fork server now (it imports the pipeline once, ~1 s), so a run that follows finds it
    ready: the headless refresh calls this before Dagster plans the run, and the two overlap."""
    from multiprocessing import forkserver

    _worker_context()
    forkserver.ensure_running()


def run_customers(
    spec: PipelineSpec,
    customers: list[str],
    *,
    layers: frozenset[str] = frozenset(LAYERS),
    force: bool = True,
    workers: int = 1,
    listing: dict[str, list[WorkbookRef]] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_log: Callable[[str, int, str], None] | None = None,
) -> Iterator[CustomerReport]:
    """Yield one report per customer as each finishes; a failing customer never stops the others."""
    pipeline = spec.build()
    listing = listing if listing is not None else pipeline.workbooks()

    def size(customer: str) -> int:
        return max((r.size for r in listing.get(customer, [])), default=0)

    ordered = sorted(customers, key=size, reverse=True)
    if workers <= 1 or len(ordered) <= 1:
        for customer in ordered:
            if on_start:
                on_start(customer)
            yield _run_one(spec, customer, layers, force, listing)
        return
    context = _worker_context()
    finished: set[str] = set()
    try:
        with ProcessPoolExecutor(max_workers=min(workers, len(ordered)), mp_context=context) as pool:
            futures = {pool.submit(_run_one, spec, c, layers, force, listing): c for c in ordered}
            for future in as_completed(futures):
                report = future.result()
                finished.add(futures[future])
                yield report
    except BrokenProcessPool as exc:
        # A worker died (killed, out of memory) or could not start (e.g. __main__ read from stdin).
        # Loads are idempotent, so the customers not yet reported run again here, one by one.
        log.warning("worker processes failed (%s); loading the remaining customers in this process", exc)
        for customer in ordered:
            if customer not in finished:
                yield _run_one(spec, customer, layers, force, listing)
