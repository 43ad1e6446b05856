"""Read-ahead in the fork server: used by a worker only for the very bytes it loads; never once a worker
has been asked for.

Real fork servers and worker processes, real workbooks; whether a worker read the workbook itself is
what its stage clock says (a calamine `read` stage, or none).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from order_platform.ingest.source import WorkbookRef
from order_platform.ingest.workbook_guard import WorkbookLimits
from order_platform.workers import read_ahead
from order_platform.workers.channel import Channel
from order_platform.workers.process import WorkerSetup
from order_platform.workers.read_ahead import ReadAheadRequest
from order_platform.workers.runner import run_customers
from order_platform.workers.server import ForkServer
from order_platform_tests.workbooks import line, workbook_name, write_workbook
from order_platform_tests.workers.test_runner import _alive


def _styles(platform, customer: str = "GREYSON") -> list[str]:
    frame = platform.pipeline.store.order_list_for_customer(customer)
    assert frame is not None
    return sorted(frame["CUSTOMER STYLE"])


def _read_ahead(platform, customers: set[str]) -> read_ahead.ReadAheadHandle:
    pipeline = platform.pipeline
    handle = read_ahead.start(pipeline, pipeline.workbooks(), customers, force=True, memory_mb=4096)
    assert handle is not None
    stats = handle.wait(timeout=60)
    assert stats is not None and stats.workbooks == len(customers), stats
    return handle


def test_a_worker_uses_the_sheet_read_ahead_from_the_same_bytes(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), [line(f"GRE-{i}", f"ST{i}") for i in range(40)])
    write_workbook(platform.source / workbook_name("RHONE"), [line(f"RHO-{i}", "A") for i in range(5)])
    handle = _read_ahead(platform, {"GREYSON"})
    try:
        reports = {r.customer: r for r in run_customers(platform.spec, ["GREYSON", "RHONE"])}
    finally:
        handle.finish()
    assert reports["GREYSON"].ok and reports["RHONE"].ok
    assert "read" not in reports["GREYSON"].stages  # not read again in its worker
    assert "read" in reports["RHONE"].stages  # not read ahead: read as ever
    assert _styles(platform) == sorted(f"ST{i}" for i in range(40))
    assert platform.pipeline.store.last_load("GREYSON")["raw_rows"] == 40


def test_a_workbook_changed_after_it_was_read_ahead_is_read_again_with_its_new_content(platform):
    path = platform.source / workbook_name("GREYSON")
    write_workbook(path, [line(f"GRE-{i}", "OLD") for i in range(30)])
    handle = _read_ahead(platform, {"GREYSON"})
    try:
        write_workbook(path, [line(f"GRE-{i}", "NEW") for i in range(30)])  # same name, same shape, new bytes
        (report,) = run_customers(platform.spec, ["GREYSON"])
    finally:
        handle.finish()
    assert report.ok
    assert "read" in report.stages  # the worker read the workbook itself
    assert _styles(platform) == ["NEW"] * 30


def _cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc (clock ticks of 1/100 s)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / 100


def _queued_books(folder: Path, count: int) -> list[tuple[str, str]]:
    """`count` copies of one 3,000-line workbook (~0.05 s of reading each), as (path, file name)."""
    first = write_workbook(folder / "book.xlsx", [line(f"GRE-{i}", f"ST{i}") for i in range(3_000)])
    books = []
    for i in range(count):
        copy = folder / f"C{i} ORDER LIST (M3).xlsx"
        shutil.copyfile(first, copy)
        books.append((str(copy), copy.name))
    return books


def _wait_until_reading(pid: int, cpu_seconds: float = 0.3) -> None:
    start = _cpu_seconds(pid)
    deadline = time.monotonic() + 60
    while _cpu_seconds(pid) < start + cpu_seconds and time.monotonic() < deadline:
        time.sleep(0.02)


def test_the_server_stops_reading_ahead_at_the_first_fork_and_answers_it_promptly(tmp_path):
    books = _queued_books(tmp_path, 60)  # ~3 s of reading queued
    server = ForkServer()
    try:
        ready = ReadAheadRequest(1, books[:1], WorkbookLimits(), 10**9, 0)
        server.read_ahead(ready)  # once it answers this one, its imports are done and it is in its loop
        deadline = time.monotonic() + 60
        while server.read_ahead_stats is None and time.monotonic() < deadline:
            server.wait_message(0.1)
        assert server.read_ahead_stats is not None and server.read_ahead_stats.workbooks == 1

        server.read_ahead(ReadAheadRequest(2, tuple(books), WorkbookLimits(), 10**9, 0))
        _wait_until_reading(server.pid)
        mine, theirs = Channel.pair()
        asked = time.monotonic()
        pid = server.fork(WorkerSetup(0, logging.INFO, str(tmp_path / "worker.stderr")), theirs)
        answered = time.monotonic() - asked
        theirs.close()

        stats = server.read_ahead_stats
        assert stats is not None and stats.request == 2
        assert 1 <= stats.workbooks < len(books)  # it read some, then stopped
        assert answered < 1.5  # at most the workbook it was reading (~0.1 s) stood between
        stopped_at = _cpu_seconds(server.pid)
        time.sleep(1.0)
        assert _cpu_seconds(server.pid) - stopped_at < 0.1  # and it reads no more
        mine.send(None)  # the worker ends
        assert server.wait_exit(pid, timeout=10) == 0
    finally:
        server.close()


def test_kill_9_of_the_main_process_while_its_server_reads_ahead_ends_the_server(tmp_path):
    books = _queued_books(tmp_path, 150)  # ~7 s of reading queued
    script = (
        "import json, sys, time\n"
        "from order_platform.ingest.workbook_guard import WorkbookLimits\n"
        "from order_platform.workers.read_ahead import ReadAheadRequest\n"
        "from order_platform.workers.server import fork_server\n"
        "books = tuple(map(tuple, json.loads(sys.argv[1])))\n"
        "server = fork_server()\n"
        "server.read_ahead(ReadAheadRequest(1, books, WorkbookLimits(), 10**9, 0))\n"
        "print('SERVER', server.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    main = subprocess.Popen([sys.executable, "-c", script, json.dumps(books)], stdout=subprocess.PIPE, text=True)
    server_pid = 0
    try:
        assert main.stdout is not None
        server_pid = int(main.stdout.readline().split()[1])
        _wait_until_reading(server_pid)
        main.send_signal(signal.SIGKILL)
        main.wait(timeout=10)
        deadline = time.monotonic() + 2  # one workbook's read, not the queue's
        while _alive(server_pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(server_pid), "the fork server went on reading ahead after its main process died"
    finally:
        main.kill()
        if server_pid and _alive(server_pid):
            os.kill(server_pid, signal.SIGKILL)


def test_the_cli_asks_for_the_refresh_s_workbooks_before_its_own_imports(platform, monkeypatch):
    write_workbook(platform.source / workbook_name("GREYSON"), [line(f"GRE-{i}", "A") for i in range(40)])
    write_workbook(platform.source / workbook_name("RHONE"), [line(f"RHO-{i}", "A") for i in range(5)])
    handle = read_ahead.start_for_refresh(["GREYSON"], force=False)  # `refresh --customer GREYSON`
    assert handle is not None
    try:
        stats = handle.wait(timeout=60)
    finally:
        handle.finish()
    assert stats is not None and (stats.workbooks, stats.rows) == (1, 40)  # the named customer's only
    monkeypatch.setenv("ORDER_PLATFORM_READ_AHEAD", "false")
    assert read_ahead.start_for_refresh(None, force=False) is None


def test_a_workbook_too_large_to_read_before_the_first_fork_is_left_to_its_worker(platform):
    def ref(name: str, size: int) -> WorkbookRef:
        return WorkbookRef(name, f"{name} ORDER LIST.xlsx", size, datetime.now(), f"v{size}")

    listing = {"BIG": [ref("BIG", 9_000_000)], "MID": [ref("MID", 6_000_000)], "SMALL": [ref("SMALL", 3_000_000)]}
    request = read_ahead.plan(platform.pipeline, listing, set(listing), force=True, memory_mb=4096)
    assert request is not None
    # largest first, but none the first fork would wait long for: a read cannot be interrupted
    assert [name for _, name in request.workbooks] == ["MID ORDER LIST.xlsx", "SMALL ORDER LIST.xlsx"]
