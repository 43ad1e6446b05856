"""The inside of one worker process: customers one at a time, under limits, logs sent to the main process.

The fork server (server.py) forks a worker per `WorkerPool` slot; the worker
- dies with the run: the kernel kills it when the fork server ends (PR_SET_PDEATHSIG), and the fork
  server kills its workers and ends when the main process does;
- runs under a memory limit (RLIMIT_DATA: heap and anonymous mappings, what a workbook costs;
  RLIMIT_AS would count the tens of reserved-but-unused arenas and thread stacks of numpy & co.);
- sends every log record (ours, warnings, tracebacks) to the main process as it is emitted, tagged
  with nothing but level and text: the main process knows which customer the channel belongs to;
- writes C-level output (a Rust panic, "memory allocation of N bytes failed") to a file the main
  process reads when the worker dies, so a crash is reported with its cause.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import resource
import signal
import socket
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from order_platform.ingest.source import WorkbookRef
from order_platform.workers import collector
from order_platform.workers.channel import Channel, ChannelClosed

if TYPE_CHECKING:
    from order_platform.load.factory import PipelineSpec
    from order_platform.settings import PlatformSettings

# Messages on the worker -> main channel: (kind, payload)
LOG, LAYER, REPORT = "log", "layer", "report"
_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class WorkerLimits:
    """Per worker process and per customer. 0 (or None) means no limit."""

    memory_mb: int = 4096
    time_seconds: float = 900.0

    @classmethod
    def from_settings(cls, settings: PlatformSettings | None = None) -> WorkerLimits:
        from order_platform.settings import PlatformSettings

        settings = settings or PlatformSettings()  # None: run_customers' default only; the edges pass theirs
        return cls(settings.worker_memory_mb, settings.customer_timeout_seconds)

    @property
    def any(self) -> bool:
        return bool(self.memory_mb) or bool(self.time_seconds)


@dataclass(frozen=True)
class WorkerSetup:
    """How a worker process is set up once (pickled to the fork server's child)."""

    memory_mb: int
    log_level: int
    stderr_path: str


@dataclass
class WorkerJob:
    """One customer for a worker (sent over its pipe; `None` asks the worker to end)."""

    spec: PipelineSpec
    customer: str
    layers: frozenset[str]
    force: bool
    listing: dict[str, list[WorkbookRef]]
    environ: dict[str, str] = field(default_factory=dict)


class _PipeHandler(logging.Handler):
    """Sends each record, formatted with its traceback, over the worker's pipe."""

    def __init__(self, send: Any) -> None:
        super().__init__()
        self._send = send
        self.setFormatter(logging.Formatter("%(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):  # the main process is gone or the pipe broke: nothing to tell
            self._send((LOG, (record.levelno, self.format(record))))


def _die_with_parent(parent_pid: int) -> None:
    """SIGKILL this process when its parent (the fork server) ends, even if it is stopped or stuck in C."""
    if sys.platform != "linux":
        return
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if parent_pid and os.getppid() != parent_pid:  # the parent died before the death signal was armed
        os._exit(1)


def _limit_memory(memory_mb: int) -> None:
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crashed multi-GB reader must not dump core
    if memory_mb:
        limit = memory_mb * 1024 * 1024
        _soft, hard = resource.getrlimit(resource.RLIMIT_DATA)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (limit, hard))


def _redirect_stderr(path: str) -> None:
    sys.stderr.flush()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 2)
    os.close(fd)


def worker_main(setup: WorkerSetup, sock: socket.socket, server_pid: int) -> None:
    """Entry point of a worker process (forked by the fork server): customers until told to end.

    The main process retires a worker after any customer that did not succeed, so a worker only goes
    on after clean runs; a crash, a memory or time limit ends the process with its customer.
    """
    _die_with_parent(server_pid)
    _limit_memory(setup.memory_mb)
    _redirect_stderr(setup.stderr_path)
    conn = Channel(sock)
    send = conn.send  # thread-safe: a whole message at a time

    root = logging.getLogger()
    root.handlers[:] = [_PipeHandler(send)]
    root.setLevel(max(setup.log_level, logging.WARNING))  # libraries: warnings and errors (Azure logs requests)
    logging.getLogger("order_platform").setLevel(setup.log_level)  # ours: from the run's level
    logging.captureWarnings(True)
    while True:
        try:
            job = conn.recv()
        except (ChannelClosed, OSError):
            job = None
        if job is None:
            break
        send((REPORT, _run_job(job, setup, send)))
    conn.close()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # skip freeing the last customer's heap object by object: the process ends here


def _run_job(job: WorkerJob, setup: WorkerSetup, send: Any) -> Any:
    from order_platform.load.failures import record_failed_load
    from order_platform.load.report import CustomerReport, report_for

    os.environ.clear()  # the run's environment, not the one the fork server started with
    os.environ.update(job.environ)
    log = logging.getLogger("order_platform.worker")
    log.debug("%s: loading in worker process %d", job.customer, os.getpid())
    # The cycle collector's scans over a load's millions of short-lived objects cost ~6% and find almost
    # nothing (reference counting frees the data); it runs again between customers.
    _reset_peak_memory()
    with collector.paused():
        try:
            pipeline = job.spec.build()
            pipeline.memory_limit_mb = setup.memory_mb or None
            pipeline.on_layer = lambda layer: send((LAYER, layer))
            report = report_for(
                pipeline.run_customer(job.customer, job.layers, force=job.force, listing=job.listing)
            )
        except BaseException as exc:  # run_customer reports its own errors; this is a bug or a broken database
            text = traceback.format_exc()
            log.error("%s: %s", job.customer, text)
            error = f"{type(exc).__name__}: {exc}"
            report = CustomerReport(job.customer, False, error, False, 0.0, traceback=text)
            with contextlib.suppress(BaseException):
                record_failed_load(job.spec.build().store, job.customer, job.listing.get(job.customer, []), error)
    report.peak_memory_mb = _peak_memory_mb()
    return report


def _reset_peak_memory() -> None:
    """Start this customer's peak resident memory from now (Linux: /proc/self/clear_refs, value 5)."""
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")


def _peak_memory_mb() -> float | None:
    """Peak resident memory since the last reset (VmHWM), in MB."""
    try:
        for text in Path("/proc/self/status").read_text().splitlines():
            if text.startswith("VmHWM:"):
                return int(text.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
