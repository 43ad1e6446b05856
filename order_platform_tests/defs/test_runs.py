"""Runs as production meets them: a refresh killed with kill -9, a refresh interrupted, and no secret
in Dagster's storage."""

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import zlib
from pathlib import Path

import dagster as dg
import pytest
import yaml

from order_platform.defs.headless import refresh
from order_platform.defs.runs import reap_dead_runs
from order_platform.monday import load_board_config
from order_platform_tests.workbooks import line, workbook_name, write_workbook
from stand_ins.monday_server import FakeMondayServer
from stand_ins.teams_webhook import SIGNATURE, TeamsWebhookStandIn

CUSTOMERS = ("AJE", "GREYSON", "RHONE", "TELFAR")


def _write_books(source: Path, lines: int) -> None:
    for name in CUSTOMERS:
        rows = [line(f"{name[:3]}-{i}", f"S{i}") for i in range(lines)]
        write_workbook(source / workbook_name(name), rows)


def _start_refresh(*args: str) -> subprocess.Popen:
    code = "from order_platform.cli.main import main; main()"
    return subprocess.Popen(
        [sys.executable, "-c", code, "refresh", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _wait_for_started_run(instance: dg.DagsterInstance, process: subprocess.Popen) -> dg.DagsterRun:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return runs[0]
        assert process.poll() is None, process.stdout.read().decode() if process.stdout else ""
        time.sleep(0.05)
    raise AssertionError("no run started")


@pytest.mark.parametrize("launcher_noticed", [False, True], ids=["run-left-started", "run-marked-failed"])
def test_a_refresh_killed_with_kill_9_never_blocks_the_next(platform, dagster_home, monkeypatch, launcher_noticed):
    monkeypatch.setenv("ORDER_PLATFORM_WORKERS", "1")
    _write_books(platform.source, 1500)
    instance = dg.DagsterInstance.get()
    process = _start_refresh()
    killed = _wait_for_started_run(instance, process)
    time.sleep(0.5)  # inside the load step
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED  # as the kill left it
    storage = instance.event_log_storage
    # A run launched by the daemon holds the pool's only slot while its step runs; a kill leaves it claimed.
    storage.set_concurrency_slots("order_platform_load", 1)
    storage.claim_concurrency_slot("order_platform_load", killed.run_id, "customer_layers")
    if launcher_noticed:  # as a launcher that saw its process die does: the run ends, the slot stays claimed
        instance.report_run_failed(instance.get_run_by_id(killed.run_id))

    started = time.monotonic()
    outcome = refresh()
    assert outcome.reaped_runs == [killed.run_id]
    assert not instance.event_log_storage.get_concurrency_info("order_platform_load").claimed_slots
    assert outcome.ok and sorted(load["customer"] for load in outcome.loads) == list(CUSTOMERS)
    assert time.monotonic() - started < 120  # it did not wait for the dead run's pool slot
    assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE


def _loaded(database: Path) -> set[str]:
    try:
        with sqlite3.connect(database) as conn:
            return {r[0] for r in conn.execute('SELECT customer FROM "ORDER_LIST_LOADS"')}
    except sqlite3.Error:  # not created yet
        return set()


def test_an_interrupted_refresh_stops_within_seconds_and_starts_no_other_customer(platform, dagster_home, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_WORKERS", "2")
    big = load_board_config().with_scope()  # 25,000 lines in all: a board that holds them (the dry run's check)
    big = big.with_boards(big.board.model_copy(update={"item_limit": 100_000}))
    (platform.home.parent / "big_board.json").write_text(big.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("MONDAY_BOARD_CONFIG", str(platform.home.parent / "big_board.json"))
    many = (*CUSTOMERS, "BEYOND YOGA", "EXOTICA", "G FORE", "SUMMERSALT", "WHITE FOX", "TRACK SMITH")
    for name in many:
        write_workbook(platform.source / workbook_name(name), [line(f"{name[:3]}-{i}", f"S{i}") for i in range(2500)])
    instance = dg.DagsterInstance.get()
    database = platform.home / "order_platform.db"
    process = _start_refresh()
    run = _wait_for_started_run(instance, process)
    deadline = time.monotonic() + 120
    while not _loaded(database) and time.monotonic() < deadline:  # the first customer is published
        time.sleep(0.02)
    interrupted = time.monotonic()
    os.kill(process.pid, signal.SIGINT)  # what Dagster's termination and Ctrl-C deliver to the run
    try:
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
    assert time.monotonic() - interrupted < 15
    status = instance.get_run_by_id(run.run_id).status
    assert status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED)
    assert len(_loaded(database)) < len(many) - 2  # customers that had not started were not loaded
    assert refresh().ok  # nothing is left holding the pool


def _texts_in(path: Path) -> list[str]:
    """Every string a file holds, sqlite rows and compressed snapshots included."""
    texts = []
    raw = path.read_bytes()
    texts.append(raw.decode("utf-8", "ignore"))
    if raw.startswith(b"SQLite format 3"):
        with sqlite3.connect(path) as conn:
            tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    for value in row:
                        if isinstance(value, bytes):
                            with contextlib.suppress(zlib.error):
                                value = zlib.decompress(value)
                            value = value.decode("utf-8", "ignore")
                        texts.append(str(value))
    return texts


def test_no_secret_reaches_dagster_storage_or_logs(platform, dagster_home, monkeypatch, tmp_path, capfd):
    password = "Db-Pa55word-never-stored"
    token = "monday-token-never-stored"
    database = platform.home / "secret.db"
    monkeypatch.setenv(
        "ORDER_PLATFORM_DATABASE_URL", f"sqlite:///file:{database}?mode=rwc&password={password}&uri=true"
    )
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    with FakeMondayServer(token=token, budget=1_000_000_000) as server, TeamsWebhookStandIn() as hook:
        from order_platform.monday import load_board_config

        server.fake.seed_from_config(load_board_config())
        monkeypatch.setenv("MONDAY_API_TOKEN", token)
        monkeypatch.setenv("MONDAY_API_URL", server.url)
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", hook.url)
        outcome = refresh()
        assert outcome.ok and not outcome.monday["GREYSON"]["dry_run"]  # live: the token was used
        assert len(server.fake.active_items(load_board_config().board.id)) == 2
        write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A", s=11, total=31)])
        assert refresh().ok
        assert len(hook.received) == 1  # the change summary: the webhook URL (with its signature) was used
    assert database.exists()  # the URL with the password was used
    printed = capfd.readouterr()
    files = [p for p in dagster_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    for path in files:
        for text in _texts_in(path):
            assert password not in text and token not in text and SIGNATURE not in text, path
    assert password not in printed.out + printed.err and token not in printed.out + printed.err
    assert SIGNATURE not in printed.out + printed.err


def test_overlapping_refreshes_each_report_only_their_own_customers(platform, dagster_home, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_WORKERS", "1")
    _write_books(platform.source, 300)
    other = _start_refresh("--customer", "AJE", "--customer", "GREYSON")
    mine = refresh(["RHONE", "TELFAR"])
    out, _ = other.communicate(timeout=120)
    printed = out.decode()
    assert sorted(load["customer"] for load in mine.loads) == ["RHONE", "TELFAR"]
    assert "AJE" in printed and "GREYSON" in printed
    assert "RHONE" not in printed and "TELFAR" not in printed
    assert "2 published, 0 failed" in printed


@dg.op(pool="order_platform_load")
def _step() -> None:
    return None


@dg.job
def _one_step() -> None:
    _step()


def test_with_the_daemon_run_monitoring_frees_the_slot_an_ended_run_kept(dagster_home, tmp_path):
    """The repository's dagster.yaml has Dagster free the pool slots of ended runs (the platform's own
    code does it only in the CLI, where no daemon may run): a real `dagster-daemon` frees one."""
    config = yaml.safe_load((dagster_home / "dagster.yaml").read_text())
    monitoring = config["run_monitoring"]
    assert monitoring["enabled"] and monitoring["free_slots_after_run_end_seconds"] > 0
    monitoring.update(poll_interval_seconds=1, free_slots_after_run_end_seconds=1)  # the test's patience
    (dagster_home / "dagster.yaml").write_text(yaml.safe_dump(config))
    instance = dg.DagsterInstance.get()
    ended = _one_step.execute_in_process(instance=instance).run_id
    storage = instance.event_log_storage
    storage.set_concurrency_slots("order_platform_load", 1)
    storage.claim_concurrency_slot("order_platform_load", ended, "_step")  # as a killed step leaves it
    assert storage.get_concurrency_info("order_platform_load").claimed_slots
    assert reap_dead_runs(instance) == []  # the sensor and the run's step leave it to the daemon
    assert storage.get_concurrency_info("order_platform_load").claimed_slots
    with (tmp_path / "daemon.log").open("w") as log:
        daemon = subprocess.Popen(
            [str(Path(sys.executable).with_name("dagster-daemon")), "run", "--empty-workspace"],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 90
        while storage.get_concurrency_info("order_platform_load").claimed_slots and time.monotonic() < deadline:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            time.sleep(0.5)
        assert not storage.get_concurrency_info("order_platform_load").claimed_slots, (
            (tmp_path / "daemon.log").read_text()[-3000:]
        )
    finally:
        daemon.terminate()
        try:
            daemon.wait(timeout=30)
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
