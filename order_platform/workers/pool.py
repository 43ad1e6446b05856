"""The worker processes of a run: forked from a fork server, fed one customer at a time, watched.

`runner.run_customers` drives a `WorkerPool`; everything about processes is here: the fork server
(which imports the pipeline once), starting workers without re-running the main script, reading
their pipes and exit sentinels, time limits, turning a dead worker into its customer's error, and
killing them all when the run stops.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from typing import TYPE_CHECKING

from order_platform.ingest.source import WorkbookRef
from order_platform.load.failures import record_failed_load
from order_platform.load.pipeline import OrderListPipeline
from order_platform.load.report import CustomerReport
from order_platform.workers.process import LAYER, LOG, REPORT, WorkerJob, WorkerLimits, WorkerSetup, worker_main

if TYPE_CHECKING:
    from order_platform.load.factory import PipelineSpec

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # longest wait between looks at interrupts and time limits
STDERR_TAIL = 16_384  # bytes of a worker's C-level output kept for its report and the logs
LogCallback = Callable[[str, int, str], None]

_PRELOAD = [
    "order_platform.workers.runner",
    "order_platform.load.factory",
    "order_platform.load.report",
    "order_platform.workers.warmup",
]


def _worker_context() -> multiprocessing.context.ForkServerContext:
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


def _fork_server_pid() -> int:
    from multiprocessing import forkserver

    start_worker_server()
    return getattr(forkserver._forkserver, "_forkserver_pid", None) or 0


_SPAWN_LOCK = threading.Lock()


@contextmanager
def _without_main_script() -> Iterator[None]:
    """Start workers without re-running the main script in each (multiprocessing's default): they run a
    function of this package, and the main script may be `python -` (no file), or the CLI or pytest,
    whose imports would cost every customer's process a second."""
    from multiprocessing import spawn

    original = spawn.get_preparation_data

    def preparation_data(name: str) -> dict:
        data = original(name)
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
        return data

    with _SPAWN_LOCK:
        spawn.get_preparation_data = preparation_data
        try:
            yield
        finally:
            spawn.get_preparation_data = original


@dataclass
class Worker:
    process: multiprocessing.process.BaseProcess
    conn: Connection  # duplex: jobs in, logs, layers and the report out
    lifeline: Connection
    stderr_path: str
    customer: str | None = None  # the customer it is loading; None: idle
    started: float = 0.0
    stderr_from: int = 0  # where this customer's part of the worker's C-level output starts
    layer: str | None = None
    report: CustomerReport | None = None
    timed_out: bool = False
    closed: bool = False


def _signal_name(code: int) -> str:
    try:
        return signal.Signals(code).name
    except ValueError:
        return f"signal {code}"


class WorkerPool:
    """The worker processes of one `run_customers` call.

    A worker loads one customer at a time and takes the next only after a clean run (a fresh process
    costs ~80 ms, which 46 customers would feel); one whose customer failed, crashed, ran out of memory
    or time is retired and a fresh one forked for the next customer.
    """

    def __init__(
        self,
        spec: PipelineSpec,
        pipeline: OrderListPipeline,
        listing: dict[str, list[WorkbookRef]],
        layers: frozenset[str],
        force: bool,
        limits: WorkerLimits,
        on_log: LogCallback | None,
        log_level: int,
    ) -> None:
        self.spec, self.pipeline, self.listing = spec, pipeline, listing
        self.layers, self.force, self.limits = layers, force, limits
        self.on_log, self.log_level = on_log, log_level
        self.context = _worker_context()
        self.server_pid = _fork_server_pid()
        self.tmp = tempfile.mkdtemp(prefix="order-platform-workers-")
        self.workers: list[Worker] = []
        self.environ = dict(os.environ)
        _LIVE_POOLS.add(self)

    @property
    def busy(self) -> list[Worker]:
        return [w for w in self.workers if w.customer is not None]

    # -- starting ------------------------------------------------------------------------------
    def _fork(self) -> Worker:
        stderr_path = os.path.join(self.tmp, f"{len(os.listdir(self.tmp))}.stderr")
        setup = WorkerSetup(self.limits.memory_mb or 0, self.log_level, stderr_path, self.server_pid)
        mine, theirs = self.context.Pipe(duplex=True)
        life_reader, life_writer = self.context.Pipe(duplex=False)
        process = self.context.Process(
            target=worker_main, args=(setup, theirs, life_reader), name="order-platform worker", daemon=True
        )
        with _without_main_script():
            process.start()
        theirs.close()  # the worker holds the only other end: its death ends the pipe
        life_reader.close()  # and we hold the only lifeline writer: our death ends the worker
        worker = Worker(process, mine, life_writer, stderr_path)
        self.workers.append(worker)
        return worker

    def start(self, customer: str) -> None:
        idle = [w for w in self.workers if w.customer is None and not w.closed and w.process.is_alive()]
        worker = idle[0] if idle else self._fork()
        job = WorkerJob(
            self.spec, customer, self.layers, self.force, {customer: self.listing.get(customer, [])}, self.environ
        )
        worker.customer, worker.started, worker.layer, worker.report = customer, time.monotonic(), None, None
        worker.stderr_from = self._stderr_size(worker)
        try:
            worker.conn.send(job)
        except OSError:  # it died while idle: its end will be reported as this customer's
            worker.closed = True

    # -- waiting -------------------------------------------------------------------------------
    def wait_any(self) -> list[CustomerReport]:
        """Wait up to POLL_SECONDS for messages or exits; the reports of customers that finished."""
        handles: list = []
        for worker in self.workers:
            if not worker.closed:
                handles.append(worker.conn)
            handles.append(worker.process.sentinel)
        timeout = POLL_SECONDS
        busy = self.busy
        if self.limits.time_seconds and busy:
            soonest = min(w.started + self.limits.time_seconds for w in busy)
            timeout = max(0.0, min(timeout, soonest - time.monotonic()))
        ready = set(wait(handles, timeout))
        finished: list[CustomerReport] = []
        for worker in list(self.workers):
            if worker.conn in ready or worker.process.sentinel in ready:
                self._drain(worker)
            ended = worker.process.sentinel in ready or not worker.process.is_alive()
            if worker.customer is None:
                if ended:
                    self._retire(worker)
                continue
            if worker.report is not None:
                finished.append(self._done(worker))
            elif ended:
                self._drain(worker)
                finished.append(self._done(worker))
            elif self.limits.time_seconds and time.monotonic() - worker.started > self.limits.time_seconds:
                worker.timed_out = True
                self._retire(worker)
                self._drain(worker)
                finished.append(self._done(worker))
        return finished

    def _drain(self, worker: Worker) -> None:
        while not worker.closed:
            try:
                if not worker.conn.poll():
                    return
                kind, payload = worker.conn.recv()
            except (EOFError, OSError):
                worker.closed = True
                return
            if kind == LOG:
                self._log(worker.customer or "", *payload)
            elif kind == LAYER:
                worker.layer = payload
            elif kind == REPORT:
                worker.report = payload
                return  # later messages belong to its next customer

    def _log(self, customer: str, level: int, message: str) -> None:
        if self.on_log:
            self.on_log(customer, level, message)
        else:
            log.log(level, "[%s] %s", customer, message)

    # -- finishing -----------------------------------------------------------------------------
    @staticmethod
    def _stderr_size(worker: Worker) -> int:
        try:
            return os.path.getsize(worker.stderr_path)
        except OSError:
            return 0

    def _stderr(self, worker: Worker) -> str:
        try:
            with open(worker.stderr_path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                f.seek(max(worker.stderr_from, size - STDERR_TAIL))
                return f.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""

    def _done(self, worker: Worker) -> CustomerReport:
        """The finished customer's report; the worker is kept only after a clean run."""
        customer = worker.customer or ""
        stderr = self._stderr(worker)
        report = worker.report
        if report is not None:  # done (published, or failed and recorded by the worker itself)
            if stderr:
                self._log(customer, logging.WARNING, f"worker output:\n{stderr}")
            if not report.ok:
                self._retire(worker)
        else:
            error = self._cause(worker, stderr)
            if stderr:
                self._log(customer, logging.ERROR, f"worker output before it ended:\n{stderr}")
            self._log(customer, logging.ERROR, error)
            self._retire(worker)
            report = self._failed(customer, error, time.monotonic() - worker.started)
        worker.customer, worker.report = None, None
        return report

    def _where(self, worker: Worker) -> str:
        refs = self.listing.get(worker.customer or "", [])
        names = ", ".join(repr(r.file_name) for r in refs) or "no workbook"
        if worker.layer == "raw":
            return f"reading {names}"
        if worker.layer is None:
            return f"starting to load {names}"
        return f"in the {worker.layer} layer of {names}"

    def _cause(self, worker: Worker, stderr: str) -> str:
        where = self._where(worker)
        memory = self.limits.memory_mb
        if worker.timed_out:
            return f"over the {self.limits.time_seconds:g} s time limit {where}"
        code = worker.process.exitcode or 0
        allocation = next((line for line in stderr.splitlines() if "memory allocation of" in line), None)
        if allocation or "MemoryError" in stderr:
            limit = f"over the {memory} MB memory limit" if memory else "out of memory"
            return f"{limit} {where}" + (f" ({allocation.strip()})" if allocation else "")
        if code < 0:
            name = _signal_name(-code)
            who = "the reader" if worker.layer == "raw" else "the worker"
            extra = " (killed: by a person, or by the system when memory ran out)" if name == "SIGKILL" else ""
            return f"{who} crashed ({name}) {where}{extra}"
        return f"the worker ended with exit code {code} and no report {where}"

    def _failed(self, customer: str, error: str, seconds: float) -> CustomerReport:
        """The report of a customer whose worker died, and its load record (the worker could not write it)."""
        refs = self.listing.get(customer, [])
        report = CustomerReport(customer, False, error, False, seconds, refs[0].path if len(refs) == 1 else None)
        record_failed_load(self.pipeline.store, customer, refs, error)
        return report

    def _retire(self, worker: Worker) -> None:
        """Kill the worker now (it may be stuck, stopped or out of memory) and reap it."""
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join(timeout=5)
        worker.lifeline.close()
        if worker in self.workers:
            self.workers.remove(worker)

    def stop(self) -> list[str]:
        """End every worker now and record the customers that were still loading as stopped (failed)."""
        _LIVE_POOLS.discard(self)
        stopped = [w.customer for w in self.workers if w.customer is not None]
        for worker in list(self.workers):
            if worker.customer is None and not worker.closed:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)  # an idle worker ends on its own: no half-written output
        for worker in list(self.workers):
            if worker.customer is None:
                worker.process.join(timeout=1)
            self._retire(worker)
            worker.conn.close()
        shutil.rmtree(self.tmp, ignore_errors=True)
        for customer in stopped:
            error = "stopped: the run was interrupted while this customer was loading"
            record_failed_load(self.pipeline.store, customer, self.listing.get(customer, []), error)
            log.warning("%s: %s", customer, error)
        return stopped


# Pools whose generator was abandoned without being closed (an interrupt raised in the consumer's frame
# keeps the suspended generator alive in its traceback): stopped when the process exits, before
# multiprocessing joins its children.
_LIVE_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _stop_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        with contextlib.suppress(Exception):
            pool.stop()
