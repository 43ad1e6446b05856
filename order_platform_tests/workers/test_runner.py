"""The worker pool: a customer that crashes, exhausts its memory, hangs or is killed fails alone.

Real worker processes, real workbooks, real SQLite; the crashes are real (a reader aborting on a
far cell, signals sent to the worker), found through the worker's own log line with its pid.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook

from order_platform.workers.process import WorkerLimits
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import line, workbook_name, write_workbook

PID = re.compile(r"loading in worker process (\d+)")


def far_cell_workbook(path: Path, rows: int = 20) -> Path:
    """A valid sheet of `rows` lines plus one value at XFD1048576 (a 6 KB file; the grid is 17 billion cells)."""
    write_workbook(path, [line(f"GRE-{i}", "A") for i in range(rows)])
    book = load_workbook(path)
    book["MASTER"]["XFD1048576"] = "far away"
    book.save(path)
    return path


def good_customers(source: Path, rows: int = 5) -> None:
    write_workbook(source / workbook_name("TITLE 9"), [line(f"TIT-{i}", "A") for i in range(rows)])
    write_workbook(source / workbook_name("RHONE"), [line(f"RHO-{i}", "A") for i in range(rows)])


def load_record(platform, customer: str) -> dict:
    record = platform.pipeline.store.last_load(customer)
    assert record is not None
    return record


class Logs:
    """on_log: every record, and optionally an action on a worker's first line (its pid)."""

    def __init__(self, action=None) -> None:
        self.records: list[tuple[str, int, str]] = []
        self.pids: dict[str, int] = {}
        self.action = action

    def __call__(self, customer: str, level: int, message: str) -> None:
        self.records.append((customer, level, message))
        match = PID.search(message)
        if match:
            self.pids[customer] = int(match.group(1))
            if self.action:
                self.action(customer, int(match.group(1)))

    def of(self, customer: str) -> list[str]:
        return [m for c, _level, m in self.records if c == customer]


def test_a_far_cell_is_refused_before_reading_and_the_others_publish(platform):
    far_cell_workbook(platform.source / workbook_name("GREYSON"))
    good_customers(platform.source)
    started = time.monotonic()
    reports = {r.customer: r for r in run_customers(platform.spec, ["GREYSON", "TITLE NINE", "RHONE"], workers=2)}
    assert time.monotonic() - started < 30
    assert reports["TITLE NINE"].ok and reports["RHONE"].ok and reports["RHONE"].published_rows == 5
    error = reports["GREYSON"].error
    assert "GREYSON ORDER LIST (M3).xlsx" in error and "sheet 'MASTER'" in error and "XFD1048576" in error
    assert "ORDER_PLATFORM_MAX_SHEET_CELLS" in error
    record = load_record(platform, "GREYSON")
    assert record["status"] == "failed" and "XFD1048576" in record["error"]


def test_a_reader_that_exhausts_its_memory_fails_its_customer_alone(platform, monkeypatch):
    """With the declared-size guard off, calamine asks for 512 GB and aborts: the worker dies, not the run."""
    monkeypatch.setenv("ORDER_PLATFORM_MAX_SHEET_CELLS", str(10**12))
    far_cell_workbook(platform.source / workbook_name("GREYSON"))
    good_customers(platform.source)
    logs = Logs()
    reports = {
        r.customer: r
        for r in run_customers(
            platform.spec,
            ["GREYSON", "TITLE NINE", "RHONE"],
            workers=2,
            limits=WorkerLimits(memory_mb=1024, time_seconds=120),
            on_log=logs,
            log_level=logging.DEBUG,
        )
    }
    assert reports["TITLE NINE"].ok and reports["RHONE"].ok
    error = reports["GREYSON"].error
    assert error.startswith("over the 1024 MB memory limit reading 'GREYSON ORDER LIST (M3).xlsx'"), error
    record = load_record(platform, "GREYSON")  # written by the main process: the worker could not
    assert record["status"] == "failed" and record["error"] == error
    assert record["source_path"] == "GREYSON ORDER LIST (M3).xlsx"
    assert any("memory allocation of" in m for m in logs.of("GREYSON"))  # the reader's own last words


def test_a_killed_worker_fails_its_customer_and_nothing_is_read_again(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), [line(f"GRE-{i}", "A") for i in range(2000)])
    good_customers(platform.source)
    logs = Logs(lambda customer, pid: os.kill(pid, signal.SIGKILL) if customer == "GREYSON" else None)
    reports = {
        r.customer: r
        for r in run_customers(platform.spec, ["GREYSON", "TITLE NINE", "RHONE"], on_log=logs, log_level=logging.DEBUG)
    }
    assert reports["TITLE NINE"].ok and reports["RHONE"].ok
    assert reports["GREYSON"].error.startswith("the worker crashed (SIGKILL) starting to load 'GREYSON ORDER LIST")
    # a fresh process after the crash, kept for the next customer after a clean run
    assert logs.pids["TITLE NINE"] != logs.pids["GREYSON"] and logs.pids["RHONE"] == logs.pids["TITLE NINE"]
    assert load_record(platform, "GREYSON")["error"] == reports["GREYSON"].error
    assert platform.pipeline.store.published_count("xGREYSON_ORDER_LIST_RAW") == 0  # not re-read here


def test_a_hung_customer_is_stopped_at_its_time_limit(platform):
    write_workbook(platform.source / workbook_name("GREYSON"), [line(f"GRE-{i}", "A") for i in range(2000)])
    good_customers(platform.source)
    logs = Logs(lambda customer, pid: os.kill(pid, signal.SIGSTOP) if customer == "GREYSON" else None)
    started = time.monotonic()
    reports = {
        r.customer: r
        for r in run_customers(
            platform.spec,
            ["GREYSON", "TITLE NINE", "RHONE"],
            workers=2,
            limits=WorkerLimits(memory_mb=2048, time_seconds=2),
            on_log=logs,
            log_level=logging.DEBUG,
        )
    }
    assert time.monotonic() - started < 20
    assert reports["TITLE NINE"].ok and reports["RHONE"].ok
    assert reports["GREYSON"].error.startswith("over the 2 s time limit"), reports["GREYSON"].error
    assert "GREYSON ORDER LIST (M3).xlsx" in reports["GREYSON"].error
    assert load_record(platform, "GREYSON")["status"] == "failed"
    assert not _alive(logs.pids["GREYSON"])


def test_closing_the_generator_kills_running_workers_and_starts_no_more(platform):
    sizes = {"GREYSON": 3000, "TITLE 9": 1000, "RHONE": 500, "AJE": 100}  # largest first: GREYSON, TITLE NINE
    for name, rows in sizes.items():
        write_workbook(platform.source / workbook_name(name), [line(f"{name[:3]}-{i}", "A") for i in range(rows)])
    logs = Logs(lambda customer, pid: os.kill(pid, signal.SIGSTOP) if customer == "GREYSON" else None)
    started: list[str] = []
    runs = run_customers(
        platform.spec,
        ["AJE", "RHONE", "TITLE NINE", "GREYSON"],
        workers=2,
        on_start=started.append,
        on_log=logs,
        log_level=logging.DEBUG,
    )
    first = next(runs)
    assert first.customer == "TITLE NINE" and first.ok
    stopping = time.monotonic()
    runs.close()
    assert time.monotonic() - stopping < 2
    assert not _alive(logs.pids["GREYSON"])
    assert started == ["GREYSON", "TITLE NINE"]  # RHONE and AJE never started
    assert "interrupted" in load_record(platform, "GREYSON")["error"]
    assert platform.pipeline.store.last_load("RHONE") is None


class Terminated(Exception):
    """What Dagster (or Ctrl-C) raises in the main thread to stop a run."""


def test_an_interrupt_while_waiting_kills_the_workers_within_a_second(platform):
    for name in ("GREYSON", "TITLE 9", "RHONE"):
        write_workbook(platform.source / workbook_name(name), [line(f"{name[:3]}-{i}", "A") for i in range(500)])
    logs = Logs(lambda customer, pid: os.kill(pid, signal.SIGSTOP))  # every worker hangs
    raised_at: list[float] = []

    def terminate(_signum, _frame):
        raised_at.append(time.monotonic())
        raise Terminated

    previous = signal.signal(signal.SIGALRM, terminate)
    signal.setitimer(signal.ITIMER_REAL, 3.0)
    started: list[str] = []
    try:
        with pytest.raises(Terminated):
            list(
                run_customers(
                    platform.spec,
                    ["GREYSON", "TITLE NINE", "RHONE"],
                    workers=2,
                    on_start=started.append,
                    on_log=logs,
                    log_level=logging.DEBUG,
                )
            )
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert time.monotonic() - raised_at[0] < 1.5  # the workers were killed and reaped meanwhile
    assert len(started) == 2 and len(logs.pids) == 2
    assert not [pid for pid in logs.pids.values() if _alive(pid)]


def _alive(pid: int) -> bool:
    """True while the process exists and is not a zombie."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def test_logs_of_a_worker_reach_on_log_tagged_with_the_customer_traceback_included(platform):
    good_customers(platform.source)
    store = platform.pipeline.store
    with store.engine.begin() as conn:  # a view where the raw table goes: the load fails unexpectedly
        conn.exec_driver_sql('CREATE VIEW "xRHONE_ORDER_LIST_RAW" AS SELECT 1 AS x')
    logs = Logs()
    reports = {
        r.customer: r
        for r in run_customers(platform.spec, ["TITLE NINE", "RHONE"], workers=2, on_log=logs, log_level=logging.DEBUG)
    }
    assert reports["TITLE NINE"].ok
    rhone = reports["RHONE"]
    assert not rhone.ok and "Traceback (most recent call last)" in rhone.traceback
    assert "write_raw" in rhone.traceback
    assert any("Traceback" in m and "RHONE" in m for m in logs.of("RHONE"))
    assert any(level >= logging.ERROR for c, level, _m in logs.records if c == "RHONE")
    assert not any("RHONE" in m for m in logs.of("TITLE NINE"))


def _descendants(pid: int) -> list[int]:
    """Every process below `pid` (children, grandchildren...), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [pid]
    while frontier:
        children = [child for child, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_killing_the_main_process_leaves_no_process_behind(platform, tmp_path):
    """kill -9 of the run's process, its workers stopped mid-load: every process it started ends."""
    for name in ("GREYSON", "TITLE 9"):
        write_workbook(platform.source / workbook_name(name), [line(f"{name[:3]}-{i}", "A") for i in range(3000)])
    script = (
        "import os, sys, signal\n"
        "from order_platform.load.factory import PipelineSpec\n"
        "from order_platform.workers.runner import run_customers\n"
        f"spec = PipelineSpec({platform.spec.database_url!r}, {platform.spec.source_dir!r}, "
        f"{platform.spec.blob_dir!r})\n"
        "def on_log(customer, level, message):\n"
        "    if 'loading in worker process' in message:\n"
        "        pid = int(message.rsplit(' ', 1)[1])\n"
        "        os.kill(pid, signal.SIGSTOP)  # keep it busy for ever\n"
        "        print('WORKER', pid, flush=True)\n"
        "for report in run_customers(spec, ['GREYSON', 'TITLE NINE'], workers=2, on_log=on_log, log_level=10):\n"
        "    print('REPORT', report.customer, flush=True)\n"
    )
    with (tmp_path / "stderr").open("w") as stderr:
        main = subprocess.Popen(
            [sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=tmp_path
        )
    pids: list[int] = []
    try:
        assert main.stdout is not None
        workers = []
        for text in main.stdout:
            words = text.split()
            if words[0] == "WORKER":
                workers.append(int(words[1]))
            if len(workers) == 2:
                break
        pids = _descendants(main.pid)  # the workers and whatever else it started (the fork server)
        assert set(workers) < set(pids), (tmp_path / "stderr").read_text()[-3000:]
        assert all(_alive(p) for p in pids)
        main.send_signal(signal.SIGKILL)
        main.wait(timeout=10)
        deadline = time.monotonic() + 10
        while any(_alive(p) for p in pids) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in pids if _alive(p)], "left behind after kill -9 of the main process"
    finally:
        main.kill()
        for pid in pids:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)


def test_one_customer_with_limits_runs_in_a_worker_process(platform):
    good_customers(platform.source)
    logs = Logs()
    (report,) = run_customers(platform.spec, ["RHONE"], workers=1, on_log=logs, log_level=logging.DEBUG)
    assert report.ok and report.published_rows == 5
    assert logs.pids["RHONE"] != os.getpid()


def test_workers_never_run_the_main_script(platform, tmp_path):
    """The main script (the `dagster` or `order-platform` command: a second of imports) runs once, in
    the main process: neither the fork server nor a worker imports it again."""
    good_customers(platform.source)
    marks = tmp_path / "imports"
    script = tmp_path / "main_script.py"
    script.write_text(
        "import os\n"
        f"with open({str(marks)!r}, 'a') as f:\n"
        "    f.write(f'{os.getpid()}\\n')\n"
        "from order_platform.load.factory import PipelineSpec\n"
        "from order_platform.workers.runner import run_customers\n"
        "if __name__ == '__main__':\n"
        f"    spec = PipelineSpec({platform.spec.database_url!r}, {platform.spec.source_dir!r}, "
        f"{platform.spec.blob_dir!r})\n"
        "    reports = list(run_customers(spec, ['TITLE NINE', 'RHONE'], workers=2))\n"
        "    print('LOADED', sorted(r.customer for r in reports if r.ok))\n"
    )
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert "LOADED ['RHONE', 'TITLE NINE']" in done.stdout, done.stderr[-3000:]
    assert len(marks.read_text().split()) == 1
