"""Run many customers at once: in worker processes, largest workbooks first, reports as they finish.

Reading and typing workbooks is CPU work in Python; two cores do it in about half the time. Each
customer runs in a worker process (see pool.py), forked from a fork server (server.py) that has
imported the pipeline once, so a workbook that crashes the reader, exhausts its memory limit or hangs past its
time limit fails that customer alone: the main process reports it (and records the failed load when
the worker could not) and goes on with the others. Nothing is ever re-read in the main process.

The main process waits on the workers' pipes and exit sentinels in short timeouts, so an interrupt
(the consumer closing the generator, Ctrl-C, Dagster terminating the run) kills every worker within
about a second and starts no new customer.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable, Generator, Iterator
from contextlib import contextmanager

from order_platform.ingest.source import WorkbookRef
from order_platform.load.factory import PipelineSpec
from order_platform.load.failures import record_failed_load
from order_platform.load.pipeline import LAYERS
from order_platform.load.report import CustomerReport, report_for
from order_platform.workers.pool import LogCallback, WorkerPool
from order_platform.workers.process import WorkerLimits
from order_platform.workers.server import start_worker_server

__all__ = ["PipelineSpec", "WorkerLimits", "run_customers", "start_worker_server"]

log = logging.getLogger(__name__)


@contextmanager
def _logs_to(on_log: LogCallback | None, customer: str, level: int) -> Iterator[None]:
    """In-process runs: the customer's log records go to `on_log` too, as from a worker."""
    if on_log is None:
        yield
        return
    send = on_log

    class Handler(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            send(customer, record.levelno, self.format(record))

    handler = Handler(level)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("order_platform")
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)


def _run_in_process(
    spec: PipelineSpec,
    customer: str,
    layers: frozenset[str],
    force: bool,
    listing: dict[str, list[WorkbookRef]],
    on_log: LogCallback | None,
    level: int,
) -> CustomerReport:
    with _logs_to(on_log, customer, level):
        try:
            return report_for(spec.build().run_customer(customer, layers, force=force, listing=listing))
        except Exception as exc:  # run_customer reports its own errors; this is a broken database
            error = f"{type(exc).__name__}: {exc}"
            record_failed_load(spec.build().store, customer, listing.get(customer, []), error)
            return CustomerReport(customer, False, error, False, 0.0, traceback=traceback.format_exc())


def run_customers(
    spec: PipelineSpec,
    customers: list[str],
    *,
    layers: frozenset[str] = frozenset(LAYERS),
    force: bool = True,
    workers: int = 1,
    listing: dict[str, list[WorkbookRef]] | None = None,
    on_start: Callable[[str], None] | None = None,
    on_log: LogCallback | None = None,
    limits: WorkerLimits | None = None,
    log_level: int = logging.INFO,
    start_next_first: bool = False,
) -> Generator[CustomerReport, None, None]:
    """Yield one report per customer as each finishes; a failing customer never stops the others.

    Every customer runs in a worker process, under `limits` (default: the settings'
    ORDER_PLATFORM_WORKER_MEMORY_MB and ORDER_PLATFORM_CUSTOMER_TIMEOUT_SECONDS), `workers` at a time,
    largest workbook first; a worker takes another customer only after a clean run. Only with both
    limits off (0) and `workers=1` does it run in this process (no isolation: for debugging).
    A customer whose worker dies or overruns gets a report with ok=False and an error naming its file
    and the cause, and a failed load in ORDER_LIST_LOADS; nothing is re-read in this process.
    `on_log(customer, level, message)` receives every log record the customer's work emits, as it runs.
    Closing the generator (or an exception while it waits) kills the running workers and starts no more.
    `start_next_first`: a freed worker takes its next customer before the finished reports are handed
    on, so no worker waits while the caller handles a report (Dagster storing its events: a tenth of
    a second per customer on SQLite); closing the generator then also stops the customers so started
    (mid-load; their published slices stay as they were).
    """
    pipeline = spec.build()
    listing = listing if listing is not None else pipeline.workbooks()
    limits = limits if limits is not None else WorkerLimits.from_settings()

    def size(customer: str) -> int:
        return max((r.size for r in listing.get(customer, [])), default=0)

    pending = sorted(customers, key=size, reverse=True)
    if not pending:
        return
    if workers <= 1 and not limits.any:
        for customer in pending:
            if on_start:
                on_start(customer)
            yield _run_in_process(spec, customer, layers, force, listing, on_log, log_level)
        return
    pool = WorkerPool(spec, pipeline, listing, layers, force, limits, on_log, log_level)
    pending.reverse()  # pop() from the end: largest first

    def fill() -> None:
        while pending and len(pool.busy) < max(1, workers):
            customer = pending.pop()
            if on_start:
                on_start(customer)
            pool.start(customer)

    try:
        while pending or pool.busy:
            fill()
            finished = pool.wait_any()
            if start_next_first:
                fill()
            yield from finished
    finally:
        pool.stop()
