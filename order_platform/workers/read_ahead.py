"""Read-ahead: the fork server reads the run's largest workbooks into cell text while the CLI's refresh
is still starting its Dagster run.

Why: from the listing until the step holds its pool slot (~2 s: Dagster loads the definitions, creates
the run, stores its planned events) only the main process works, while the fork server (server.py) has
long finished its imports and the second core idles. Nothing may be written before the step holds its
slot, but reading a workbook into cell text writes nothing. So the CLI's refresh (only it: not the
daemon's, the UI's or the sensor's runs) asks the server to read ahead the workbooks this refresh will
load, local folder only, largest first (the order the workers take them in). The server reads one
workbook between control messages and stops for good at the first "fork": from then on the run's
workers have the cores. They inherit what it read (ingest/read_ahead.py) and use a sheet only when
the bytes they load are the same.

Memory: a workbook's cell text takes ~12x its file size in Python objects (measured on the demo:
GREYSON's 6.3 MB -> 69 MB), and every worker inherits it, counted in its RLIMIT_DATA memory limit. So
at most BUDGET_BYTES of workbooks (16 MB: ~200 MB held, 5% of the default 4 GB worker limit; less under
a lower limit, WORKER_SHARE of it). The demo's start-up window reads ~10 MB, so the budget is a bound
for larger sources, not a tuning knob. Each read runs under the workers' own memory limit, so a
workbook that would exhaust a worker fails here quietly (not kept) and in its worker as today.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import os
import pickle
import resource
import stat
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from order_platform.ingest import read_ahead as sheets
from order_platform.ingest.blob import content_hash
from order_platform.ingest.source import LocalFolderSource, WorkbookRef
from order_platform.ingest.workbook import read_order_sheet
from order_platform.ingest.workbook_guard import WorkbookLimits, stored_size_refusal
from order_platform.load import stages
from order_platform.load.pipeline import OrderListPipeline, read_before
from order_platform.schema import order_list_schema
from order_platform.workers import collector

if TYPE_CHECKING:
    from order_platform.settings import PlatformSettings
    from order_platform.workers.process import WorkerLimits
    from order_platform.workers.server import ForkServer

log = logging.getLogger(__name__)

BUDGET_BYTES = 16_000_000  # workbook bytes read ahead at most (see the module's docstring)
# A read cannot be interrupted, so the first fork waits for the one under way: a workbook larger than this
# (~2 s to read on the bench VM: GREYSON's 6.3 MB took 1.5 s, a 14 MB one 4 s) is left to its worker.
MAX_WORKBOOK_BYTES = 8_000_000
CELL_TEXT_PER_BYTE = 12  # memory held per workbook byte, measured
WORKER_SHARE = 20  # what is held stays under 1/20 of the workers' memory limit
MAX_WORKBOOKS = 64  # per request: far more than a start-up reads, and a control message far under 64 KB
MAX_REQUEST_BYTES = 32_768

_ids = itertools.count(1)


@dataclass(frozen=True)
class ReadAheadRequest:
    """What the fork server is asked to read, largest first (pickled over its control socket)."""

    id: int
    workbooks: tuple[tuple[str, str], ...]  # (full path, file name)
    limits: WorkbookLimits  # the workers' pipeline's workbook limits (the same settings)
    budget_bytes: int
    memory_mb: int  # the workers' memory limit; 0: none


@dataclass(frozen=True)
class ReadAheadStats:
    """What the fork server read ahead for one request, before the first worker started."""

    request: int = 0
    workbooks: int = 0
    rows: int = 0
    bytes: int = 0
    cpu_seconds: float = 0.0
    wall_seconds: float = 0.0
    not_kept: list[str] = field(default_factory=list)  # file names that failed to read (their worker reads them)


def budget_bytes(memory_mb: int) -> int:
    """Workbook bytes to read ahead at most under the workers' memory limit (0: none)."""
    if not memory_mb:
        return BUDGET_BYTES
    return min(BUDGET_BYTES, memory_mb * 1024 * 1024 // (WORKER_SHARE * CELL_TEXT_PER_BYTE))


# -- the main process: what to ask for -------------------------------------------------------------------
def plan(
    pipeline: OrderListPipeline,
    listing: dict[str, list[WorkbookRef]],
    customers: set[str],
    *,
    force: bool,
    memory_mb: int,
) -> ReadAheadRequest | None:
    """The workbooks this refresh will read, largest first within the budget; None when there is nothing
    to read ahead (not a local folder: a SharePoint download is the run's to do, as is its error)."""
    source = pipeline.source
    if not isinstance(source, LocalFolderSource):
        return None
    refs = []
    for customer in customers:
        found = listing.get(customer, [])
        if len(found) != 1:  # none, or several: the customer fails without reading
            continue
        ref = found[0]
        if not force and read_before(pipeline.store.last_load(customer, status="published"), ref):
            continue  # the load leaves it unopened
        refs.append(ref)
    budget = budget_bytes(memory_mb)
    chosen: list[tuple[str, str]] = []
    left = budget
    for ref in sorted(refs, key=lambda r: r.size, reverse=True):
        if ref.size <= min(left, MAX_WORKBOOK_BYTES) and len(chosen) < MAX_WORKBOOKS:
            chosen.append((str(source.root / ref.path), ref.file_name))
            left -= ref.size
    request = ReadAheadRequest(next(_ids), tuple(chosen), pipeline.workbook_limits, budget, memory_mb)
    while chosen and len(pickle.dumps(request)) > MAX_REQUEST_BYTES:  # very long paths
        chosen.pop()
        request = ReadAheadRequest(request.id, tuple(chosen), request.limits, budget, memory_mb)
    return request if chosen else None


class ReadAheadHandle:
    """The main process's end of one read-ahead: its figures, and the end of it."""

    def __init__(self, server: ForkServer, request: ReadAheadRequest) -> None:
        self.server, self.request = server, request
        server.read_ahead(request)

    def stats(self) -> ReadAheadStats | None:
        """What the server read ahead, once it has said (at the first fork, or when it ran out of work)."""
        self.server.poll()
        stats = self.server.read_ahead_stats
        return stats if isinstance(stats, ReadAheadStats) and stats.request == self.request.id else None

    def wait(self, timeout: float) -> ReadAheadStats | None:
        """Wait until the server has read everything it was asked to (tests)."""
        deadline = time.monotonic() + timeout
        while (stats := self.stats()) is None and self.server.alive() and time.monotonic() < deadline:
            self.server.wait_message(min(0.05, max(0.0, deadline - time.monotonic())))
        return stats

    def finish(self) -> ReadAheadStats | None:
        """Stop reading ahead and release what is held in the server (the workers that used it are done)."""
        stats = self.stats()
        with contextlib.suppress(Exception):  # the server may be gone: so is what it held
            self.server.read_ahead(None)
        return stats


# -- the fork server: reading ----------------------------------------------------------------------------
class ReadAhead:
    """One request, in the fork server: `step` reads the next workbook; `stop` ends it for good."""

    def __init__(self, request: ReadAheadRequest) -> None:
        self.request = request  # the server has forgotten the last read-ahead's sheets (sheets.clear)
        self.queue = list(request.workbooks)
        self.schema = order_list_schema()  # the workers' pipeline's (the cached one they inherit)
        self.left = request.budget_bytes
        self.workbooks = self.rows = self.bytes = 0
        self.cpu = self.wall = 0.0
        self.not_kept: list[str] = []

    @property
    def pending(self) -> bool:
        return bool(self.queue)

    def step(self) -> None:
        """Read the next workbook and keep its sheet; one that fails to read is not kept."""
        path, file_name = self.queue.pop(0)
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            with collector.paused():  # as a worker's load: millions of cells, freed by reference counting
                kept = self._read(path, file_name)
        except BaseException as exc:  # a panic in the reader too (pyo3's PanicException): its worker reports it
            if isinstance(exc, (KeyboardInterrupt, SystemExit)):
                raise
            kept = False
        if not kept:
            self.not_kept.append(file_name)
        stages.take()  # the reader's stage clock: not the workers' figures
        self.wall += time.perf_counter() - wall
        self.cpu += time.process_time() - cpu

    def _read(self, path: str, file_name: str) -> bool:
        data = _read_file(path)
        if data is None or len(data) > self.left or stored_size_refusal(path, len(data), self.request.limits):
            return False
        with _memory_limit(self.request.memory_mb), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            sheet = read_order_sheet(data, file_name, self.schema, self.request.limits)
        if caught:  # a warning belongs in the run's log: the worker reads this one itself
            return False
        sheets.keep(content_hash(data), file_name, self.schema, self.request.limits, sheet)
        self.left -= len(data)
        self.workbooks += 1
        self.bytes += len(data)
        self.rows += len(sheet.row_numbers)
        return True

    def stop(self) -> ReadAheadStats:
        """Read no more (the run's workers are starting); what was read stays for them."""
        self.queue.clear()
        return ReadAheadStats(
            self.request.id, self.workbooks, self.rows, self.bytes, self.cpu, self.wall, list(self.not_kept)
        )


def _read_file(path: str) -> bytes | None:
    """A regular file's bytes, never blocking (a FIFO is not opened for a read that would wait)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            return None
        return f.read()


@contextlib.contextmanager
def _memory_limit(memory_mb: int) -> Iterator[None]:
    """The workers' memory limit around one read (the server has none of its own, and forks with none)."""
    if not memory_mb:
        yield
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
    limit = memory_mb * 1024 * 1024
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, (soft, hard))


def start(
    pipeline: OrderListPipeline,
    listing: dict[str, list[WorkbookRef]],
    customers: set[str],
    *,
    force: bool,
    memory_mb: int,
) -> ReadAheadHandle | None:
    """Ask this process's fork server to read ahead what this refresh will load; None: nothing asked."""
    from order_platform.workers.server import ServerGone, fork_server

    request = plan(pipeline, listing, customers, force=force, memory_mb=memory_mb)
    if request is None:
        return None
    try:
        return ReadAheadHandle(fork_server(), request)
    except ServerGone:  # the run starts a new server for its workers; nothing read ahead
        return None


def should_read_ahead(settings: PlatformSettings, workers: int, limits: WorkerLimits) -> bool:
    """Whether to read ahead: when set (ORDER_PLATFORM_READ_AHEAD) and the run's customers load in worker
    processes forked from the fork server, not in the run's own process (`runner.run_customers`: one
    worker without limits loads in process)."""
    return settings.read_ahead and (workers > 1 or limits.any)


def start_for_refresh(names: list[str] | None, *, force: bool) -> ReadAheadHandle | None:
    """The CLI's refresh asks right after starting the fork server, before its own Dagster imports: the
    server reads from the moment its imports are done (~1 s earlier than the refresh's own listing
    would ask). The same workbooks `defs/headless.refresh` would ask for, from the same settings; None
    when there is nothing to read ahead, or anything is wrong (the refresh meets it and reports it)."""
    from order_platform.load.factory import PipelineSpec
    from order_platform.settings import PlatformSettings
    from order_platform.staging.customers import customer_directory
    from order_platform.workers.process import WorkerLimits

    try:
        settings = PlatformSettings()
        limits = WorkerLimits.from_settings(settings)
        if not should_read_ahead(settings, settings.worker_count, limits):
            return None
        pipeline = PipelineSpec.from_settings(settings).build()
        listing = pipeline.workbooks()
        wanted = {customer_directory().partition_key(n) for n in names} & set(listing) if names else set(listing)
        return start(pipeline, listing, wanted, force=force, memory_mb=limits.memory_mb)
    except Exception:
        log.debug("no early read-ahead", exc_info=True)
        return None

