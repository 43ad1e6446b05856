"""A run's messages: one failure message per run (none for a run Dagster retries: its retry reports), each
message claimed once, and never an exception into the data run."""

from __future__ import annotations

import logging

from order_platform.load.factory import build_store
from order_platform.notify import records
from order_platform.notify.cards import FailedCustomer
from order_platform.notify.notices import RunFacts, messages_for, notify_run
from order_platform.notify.settings import NotifySettings


def test_one_failure_message_per_run_and_none_for_a_run_that_is_retried(tmp_path):
    store = build_store(f"sqlite:///{tmp_path / 'op.db'}")
    failed = [FailedCustomer("RHONE", "USA/RHONE ORDER LIST (M3).xlsx", "not a workbook")]
    facts = RunFacts("run-1", failures=failed, run_failed=True)
    (message,) = messages_for(store.engine, store.changes, facts, NotifySettings())
    assert message.kind == "failure" and "RHONE: RHONE ORDER LIST (M3).xlsx: not a workbook" in message.text
    retried = RunFacts("run-2", failures=failed, run_failed=True, will_retry=True)
    assert messages_for(store.engine, store.changes, retried, NotifySettings()) == []

    logged: list[tuple[int, str]] = []
    settings = NotifySettings(teams_webhook_url=None)
    first = notify_run(store.engine, store.changes, facts, settings, lambda level, text: logged.append((level, text)))
    again = notify_run(store.engine, store.changes, facts, settings, lambda level, text: logged.append((level, text)))
    assert [n.status for n in first] == ["logged"] and [n.status for n in again] == ["already"]
    assert len(logged) == 1 and logged[0][0] == logging.INFO and "RHONE" in logged[0][1]
    assert records.of_run(store.engine, "run-1")["failure"]["status"] == "logged"


def test_a_broken_database_is_logged_not_raised(tmp_path):
    store = build_store(f"sqlite:///{tmp_path / 'op.db'}")
    store.engine.dispose()
    (tmp_path / "op.db").unlink()
    (tmp_path / "op.db").mkdir()  # the database file is now a folder: every query fails
    logged: list[str] = []
    notices = notify_run(
        store.engine,
        store.changes,
        RunFacts("run-3", load_ids={"X": "l"}),
        NotifySettings(),
        lambda level, text: logged.append(text),
    )
    assert [n.status for n in notices] == ["failed"] and "notification not prepared" in logged[0]


def test_board_drift_the_runs_reconcile_repaired_or_reported_is_in_the_summary(tmp_path):
    import datetime as dt

    import sqlalchemy as sa

    from order_platform.monday.reconcile.drift import create_drift_table, drift_table

    store = build_store(f"sqlite:///{tmp_path / 'op.db'}")
    create_drift_table(store.engine)
    row = {"board_id": "1", "item_id": "9", "column_name": "Ex Factory", "found_at": dt.datetime.now()}
    with store.engine.begin() as conn:
        conn.execute(
            sa.insert(drift_table),
            [
                {**row, "customer": "GREYSON", "action": "restored", "run": "run-9"},
                {**row, "customer": "GREYSON", "action": "moved", "run": "run-9"},
                {**row, "customer": "GREYSON", "action": "reported", "run": "run-9"},
                {**row, "customer": "RHONE", "action": "restored", "run": "another-run"},
            ],
        )
    (summary,) = messages_for(store.engine, store.changes, RunFacts("run-9"), NotifySettings())
    assert summary.kind == "changes" and "board issues for 1" in summary.title
    assert "GREYSON: 2 board change(s) by hand repaired; 1 difference(s) reported" in summary.text
    assert "RHONE" not in summary.text
