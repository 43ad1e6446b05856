"""The worker processes of a run: forked from the fork server, fed one customer at a time, watched.

`runner.run_customers` drives a `WorkerPool`; everything about the run's processes is here: forking
them (server.py), reading their channels and exits, time limits, turning a dead worker into its
customer's error, and killing them all when the run stops.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import shutil
import signal
import tempfile
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import TYPE_CHECKING

from order_platform.ingest.source import WorkbookRef
from order_platform.load.failures import record_failed_load
from order_platform.load.pipeline import OrderListPipeline
from order_platform.load.report import CustomerReport
from order_platform.workers.channel import Channel
from order_platform.workers.process import LAYER, LOG, REPORT, WorkerJob, WorkerLimits, WorkerSetup
from order_platform.workers.server import ForkServer, fork_server

if TYPE_CHECKING:
    from order_platform.load.factory import PipelineSpec

log = logging.getLogger(__name__)

POLL_SECONDS = 0.25  # longest wait between looks at interrupts and time limits
STDERR_TAIL = 16_384  # bytes of a worker's C-level output kept for its report and the logs
LogCallback = Callable[[str, int, str], None]


@dataclass
class Worker:
    pid: int
    conn: Channel  # jobs in; logs, layers and the report out
    stderr_path: str
    server: ForkServer  # the fork server that forked it (and reaps it)
    customer: str | None = None  # the customer it is loading; None: idle
    started: float = 0.0
    stderr_from: int = 0  # where this customer's part of the worker's C-level output starts
    layer: str | None = None
    report: CustomerReport | None = None
    timed_out: bool = False
    exitcode: int | None = None  # how it ended (negative: the signal); None while it runs


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
        self.server: ForkServer = fork_server()
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
        setup = WorkerSetup(self.limits.memory_mb or 0, self.log_level, stderr_path)
        if not self.server.alive():  # it was killed: a new one for the workers to come
            self.server = fork_server()
        mine, theirs = Channel.pair()
        try:
            pid = self.server.fork(setup, theirs)
        finally:
            theirs.close()  # the worker holds the only other end: its death ends the channel
        worker = Worker(pid, mine, stderr_path, self.server)
        self.workers.append(worker)
        return worker

    def start(self, customer: str) -> None:
        idle = [w for w in self.workers if w.customer is None and not w.conn.closed and not self._ended(w)]
        worker = idle[0] if idle else self._fork()
        job = WorkerJob(
            self.spec, customer, self.layers, self.force, {customer: self.listing.get(customer, [])}, self.environ
        )
        worker.customer, worker.started, worker.layer, worker.report = customer, time.monotonic(), None, None
        worker.stderr_from = self._stderr_size(worker)
        with contextlib.suppress(OSError):  # it died while idle: its end will be reported as this customer's
            worker.conn.send(job)

    # -- waiting -------------------------------------------------------------------------------
    def wait_any(self) -> list[CustomerReport]:
        """Wait up to POLL_SECONDS for messages or exits; the reports of customers that finished."""
        handles: list = [w.conn for w in self.workers if not w.conn.closed]
        handles += {id(w.server): w.server for w in self.workers if not w.server.gone}.values()
        timeout = POLL_SECONDS
        busy = self.busy
        if self.limits.time_seconds and busy:
            soonest = min(w.started + self.limits.time_seconds for w in busy)
            timeout = max(0.0, min(timeout, soonest - time.monotonic()))
        if handles:
            wait(handles, timeout)
        finished: list[CustomerReport] = []
        for worker in list(self.workers):
            self._drain(worker)
            ended = self._ended(worker)
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
                finished.append(self._done(worker))
        return finished

    @staticmethod
    def _ended(worker: Worker) -> bool:
        """Whether the worker process has ended (its fork server reaped it, or the server itself is gone)."""
        if worker.exitcode is None:
            worker.exitcode = worker.server.exitcode(worker.pid)
        return worker.exitcode is not None or (worker.server.gone and worker.conn.closed)

    def _drain(self, worker: Worker) -> None:
        """Handle what the worker sent, up to its report (later messages belong to its next customer)."""
        while worker.report is None:
            message = worker.conn.receive()
            if message is None:
                return
            kind, payload = message
            if kind == LOG:
                self._log(worker.customer or "", *payload)
            elif kind == LAYER:
                worker.layer = payload
            elif kind == REPORT:
                worker.report = payload

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
        if worker.exitcode is None:
            return f"the worker ended with no report (its fork server ended) {where}"
        code = worker.exitcode
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
        """Kill the worker now (it may be stuck, stopped or out of memory), reap it, keep what it sent."""
        if not self._ended(worker):
            worker.server.kill(worker.pid)
            worker.exitcode = worker.server.wait_exit(worker.pid, timeout=5)
        self._drain(worker)
        worker.server.forget(worker.pid)
        worker.conn.close()
        if worker in self.workers:
            self.workers.remove(worker)

    def stop(self) -> list[str]:
        """End every worker now and record the customers that were still loading as stopped (failed)."""
        _LIVE_POOLS.discard(self)
        stopped = [w.customer for w in self.workers if w.customer is not None]
        for worker in self.workers:
            if worker.customer is None:
                with contextlib.suppress(OSError):
                    worker.conn.send(None)  # an idle worker ends on its own: no half-written output
            else:
                worker.server.kill(worker.pid)
        deadline = time.monotonic() + 1
        for worker in list(self.workers):
            if worker.customer is None and not self._ended(worker):
                worker.exitcode = worker.server.wait_exit(worker.pid, max(0.0, deadline - time.monotonic()))
            self._retire(worker)
        shutil.rmtree(self.tmp, ignore_errors=True)
        for customer in stopped:
            error = "stopped: the run was interrupted while this customer was loading"
            record_failed_load(self.pipeline.store, customer, self.listing.get(customer, []), error)
            log.warning("%s: %s", customer, error)
        return stopped


# Pools whose generator was abandoned without being closed (an interrupt raised in the consumer's frame
# keeps the suspended generator alive in its traceback): stopped when the process exits.
_LIVE_POOLS: weakref.WeakSet[WorkerPool] = weakref.WeakSet()


@atexit.register
def _stop_live_pools() -> None:
    for pool in list(_LIVE_POOLS):
        with contextlib.suppress(Exception):
            pool.stop()
