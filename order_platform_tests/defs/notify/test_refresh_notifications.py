"""The judged scenario, through the real CLI and Dagster path (`order-platform refresh` -> defs/headless.py):
workbooks loaded, then edited (a size quantity, an ex-factory date, a price, a deleted row, a new row) and
refreshed. ORDER_LIST_CHANGES holds exactly those changes; `order-platform changes` shows them; the Teams
Workflows stand-in, answering the first post with 429, receives one change summary naming the changed
customer and one failure message naming the customer whose workbook is corrupt; no message carries a secret."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from order_platform.cli.main import main
from order_platform.defs.notify.sensors import notify_after_failure
from order_platform.notify import records
from order_platform.warehouse.tables import CHANGES
from order_platform_tests.workbooks import line, workbook_name, write_workbook
from stand_ins.teams_webhook import SIGNATURE, TeamsWebhookStandIn

SECRETS = {"MONDAY_BOARD_SECRET_UNUSED": "x", "AZURE_CLIENT_SECRET": "azure-secret-never-shown"}


def greyson(edited: bool = False) -> list[dict]:
    if not edited:
        return [line("GRE-1", "ST1"), line("GRE-2", "ST2"), line("GRE-3", "ST3"), line("GRE-4", "ST4")]
    return [
        line("GRE-1", "ST1", m=25, total=35),  # a size quantity (and the total that sums the sizes)
        # GRE-2 deleted from the middle of the sheet
        line("GRE-3", "ST3", **{"EX FACTORY DATE": "2025-04-15", "CUSTOMER PRICE": 13.75}),
        line("GRE-4", "ST4"),  # untouched (one row up now)
        line("GRE-5", "ST5", s=5, m=5, total=10),  # new
    ]


@pytest.fixture
def hook(platform, dagster_home, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", platform.spec.database_url)
    monkeypatch.setenv("ORDER_PLATFORM_BLOB_DIR", platform.spec.blob_dir)
    monkeypatch.setenv("ORDER_PLATFORM_UI_URL", "http://dagster.example.test:3000/")
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    with TeamsWebhookStandIn() as stand_in:
        monkeypatch.setenv("TEAMS_WEBHOOK_URL", stand_in.url)
        yield stand_in


def refresh(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["refresh", *args])
    return result.exit_code, result.output


def changes(platform) -> pd.DataFrame:
    with sa.create_engine(platform.spec.database_url).connect() as conn:
        return pd.read_sql(sa.text(f"SELECT * FROM {CHANGES} ORDER BY id"), conn)


def test_edits_are_recorded_shown_and_announced_once_and_a_corrupt_workbook_is_one_failure_message(platform, hook):
    write_workbook(platform.source / workbook_name("GREYSON"), greyson())
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "R1"), line("RHO-2", "R2")])
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "T1", **{"CUSTOMER NAME": "TITLE 9"})])

    code, output = refresh()
    assert code == 0, output
    assert changes(platform).empty and hook.posts == 0  # every customer's baseline: nothing to tell
    code, output = refresh("--force")  # every workbook read and published again, unchanged
    assert code == 0, output
    assert changes(platform).empty and hook.posts == 0

    write_workbook(platform.source / workbook_name("GREYSON"), greyson(edited=True))
    (platform.source / workbook_name("TITLE 9")).write_bytes(b"PK\x03\x04 this is no longer a workbook")
    hook.answer_next(429, retry_after=1)
    code, output = refresh()
    assert code == 1  # TITLE NINE failed; GREYSON published
    assert "GREYSON" in output and "TITLE NINE" in output
    assert "change summary: sent to Teams (2 attempts)" in output and "failure message: sent to Teams" in output

    found = changes(platform)
    assert set(found["customer"]) == {"GREYSON"}
    cells = {
        (r.customer_style, r.column_name, r.old_value, r.new_value)
        for r in found.itertuples()
        if r.change_kind == "changed"
    }
    assert cells == {
        ("ST1", "M", "20", "25"),
        ("ST1", "TOTAL QTY", "30", "35"),
        ("ST3", "EX FACTORY DATE", "2025-03-01", "2025-04-15"),
        ("ST3", "CUSTOMER PRICE", "12.5", "13.75"),
    }
    lines = sorted((r.change_kind, r.customer_style) for r in found.itertuples() if r.change_kind != "changed")
    assert lines == [("added", "ST5"), ("removed", "ST2")]

    shown = CliRunner().invoke(main, ["changes"])
    assert shown.exit_code == 0
    assert "GREYSON: 1 line(s) added, 1 removed, 2 changed (4 value(s))" in shown.output
    for text in ("M: 20 -> 25", "EX FACTORY DATE: 2025-03-01 -> 2025-04-15", "CUSTOMER PRICE: 12.5 -> 13.75"):
        assert text in shown.output
    assert "RHONE" not in shown.output and "TITLE NINE" not in shown.output

    # the first post was answered 429 (Retry-After: 1) and sent again; nothing was refused
    assert hook.posts == 3 and not hook.refused
    summary, failure = hook.texts()
    assert "GREYSON" in summary and "RHONE" not in summary and "TITLE NINE" not in summary
    assert "1 line(s) added, 1 removed, 2 changed" in summary and "M: 20 -> 25" in summary
    assert "http://dagster.example.test:3000/runs/" in summary  # the run link
    assert "TITLE NINE" in failure and workbook_name("TITLE 9") in failure and "GREYSON" not in failure
    assert failure.count("TITLE NINE") == 1 and "Traceback" not in failure
    for text in (summary, failure, str(hook.received)):
        assert SIGNATURE not in text and "azure-secret-never-shown" not in text

    # recorded once per run: the run-failure sensor, which the daemon would run, finds both messages sent
    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    sent = records.of_run(sa.create_engine(platform.spec.database_url), run.run_id)
    assert {k: (v["status"], v["attempts"]) for k, v in sent.items()} == {
        "changes": ("sent", 2),
        "failure": ("sent", 1),
    }
    (failed_event,) = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
    context = dg.build_run_status_sensor_context(
        sensor_name="notify_after_failure",
        dagster_event=failed_event.dagster_event,
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()
    notify_after_failure(context)
    assert hook.posts == 3  # not sent again
    logged = [e.message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
    assert any("Teams changes message sent (2 attempt(s))" in m for m in logged), logged


def test_a_webhook_that_keeps_failing_never_fails_the_data_run(platform, hook, monkeypatch):
    monkeypatch.setenv("TEAMS_MAX_ATTEMPTS", "2")
    monkeypatch.setenv("TEAMS_BACKOFF_BASE_SECONDS", "0")
    write_workbook(platform.source / workbook_name("GREYSON"), greyson())
    assert refresh()[0] == 0
    write_workbook(platform.source / workbook_name("GREYSON"), greyson(edited=True))
    hook.answer_next(500, times=10)
    code, output = refresh()
    assert code == 0, output  # the data run succeeded; the message did not
    assert hook.posts == 2 and not hook.received
    assert len(changes(platform)) == 6
    run = dg.DagsterInstance.get().get_runs(limit=1)[0]
    recorded = records.of_run(sa.create_engine(platform.spec.database_url), run.run_id)["changes"]
    assert (recorded["status"], recorded["attempts"], recorded["detail"]) == ("failed", 2, "HTTP 500")
    assert run.status == dg.DagsterRunStatus.SUCCESS


def test_without_a_webhook_the_messages_go_to_the_run_log(platform, hook, monkeypatch):
    monkeypatch.delenv("TEAMS_WEBHOOK_URL")
    write_workbook(platform.source / workbook_name("GREYSON"), greyson())
    assert refresh()[0] == 0
    write_workbook(platform.source / workbook_name("GREYSON"), greyson(edited=True))
    assert refresh()[0] == 0
    instance = dg.DagsterInstance.get()
    run = instance.get_runs(limit=1)[0]
    logged = [e.message for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)]
    message = next(m for m in logged if "Teams not configured" in m)
    assert "GREYSON: 1 line(s) added, 1 removed, 2 changed (4 value(s))" in message and hook.posts == 0
