"""The command line as an operator meets it: one-line errors, --debug, source removed, retire."""

from __future__ import annotations

import dagster as dg
import pandas as pd
import sqlalchemy as sa
from click.testing import CliRunner

from order_platform.cli.main import main
from order_platform.defs.instance import ensure_dagster_home
from order_platform.ingest.blob import last_good
from order_platform.settings import PlatformSettings
from order_platform.workers.runner import run_customers
from order_platform_tests.workbooks import line, workbook_name, write_workbook


def test_a_settings_error_is_one_line_naming_the_variables(platform, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_SOURCE", "sharepoint")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", "s3cret-value-never-shown")
    result = CliRunner().invoke(main, ["summary"])

    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: invalid settings")
    assert "SHAREPOINT_SITE_URL" in lines[0] and "AZURE_TENANT_ID" in lines[0]
    assert "Traceback" not in result.output and "s3cret-value-never-shown" not in result.output
    logged = (platform.home / "order-platform.log").read_text()
    assert "Traceback" in logged and "s3cret-value-never-shown" not in logged


def test_debug_shows_the_traceback(platform, monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_BLOB", "azure")
    result = CliRunner().invoke(main, ["--debug", "summary"])
    assert result.exit_code == 1 and result.exception is not None
    assert type(result.exception).__name__ == "ValidationError"


def _published(platform, monkeypatch, customers=("GREYSON", "TITLE NINE")):
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", platform.spec.database_url)
    monkeypatch.setenv("ORDER_PLATFORM_BLOB_DIR", platform.spec.blob_dir)
    write_workbook(platform.source / "USA" / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("TITLE 9"), [line("TIT-1", "A")])
    assert all(r.ok for r in run_customers(platform.spec, list(customers)))


def test_a_deleted_workbook_is_source_removed_not_failed(platform, monkeypatch):
    _published(platform, monkeypatch)
    (platform.source / "USA" / workbook_name("GREYSON")).unlink()

    (report,) = run_customers(platform.spec, ["GREYSON"])
    assert report.ok and report.status == "source_removed" and "retire" in report.note
    pipeline = platform.pipeline
    assert pipeline.removed_customers() == ["GREYSON"]
    latest = pipeline.store.latest_loads()
    assert latest["GREYSON"]["status"] == "source_removed" and latest["TITLE NINE"]["status"] == "published"
    assert pipeline.store.published_count("xGREYSON_ORDER_LIST_RAW") == 2  # kept until retired

    summary = CliRunner().invoke(main, ["summary"])
    assert summary.exit_code == 0
    row = next(x for x in summary.output.splitlines() if x.startswith("GREYSON"))
    assert "source_removed" in row and "failed" not in row
    assert "1 published, 0 failed, 1 source removed" in summary.output


def test_retire_asks_then_archives_the_slice_tables_and_board_items(platform, monkeypatch):
    monkeypatch.delenv("MONDAY_API_TOKEN", raising=False)
    _published(platform, monkeypatch)
    refused = CliRunner().invoke(main, ["retire", "GREYSON CLOTHIERS", "--yes"])
    assert refused.exit_code == 1 and "still in folder" in refused.output  # workbook still there

    (platform.source / "USA" / workbook_name("GREYSON")).unlink()
    monkeypatch.setenv("DAGSTER_HOME", str(platform.home / "dagster"))
    ensure_dagster_home(PlatformSettings())  # the instance as the CLI sets it up
    dg.DagsterInstance.get().add_dynamic_partitions("customer", ["GREYSON", "TITLE NINE"])
    declined = CliRunner().invoke(main, ["retire", "GREYSON"], input="n\n")
    assert declined.exit_code == 1 and "archive 2 ORDER_LIST rows" in declined.output
    store = platform.pipeline.store
    assert store.published_count("xGREYSON_ORDER_LIST_RAW") == 2  # nothing happened

    done = CliRunner().invoke(main, ["retire", "GREYSON"], input="y\n")
    assert done.exit_code == 0, done.output
    assert "2 rows archived to ORDER_LIST_ARCHIVE" in done.output and "dry run" in done.output
    assert "its Dagster partition removed" in done.output
    assert dg.DagsterInstance.get().get_dynamic_partitions("customer") == ["TITLE NINE"]
    assert store.published_count("xGREYSON_ORDER_LIST_RAW") == 0
    assert store.published_count("xTITLE_NINE_ORDER_LIST_RAW") == 1  # the others untouched
    archived = pd.read_sql_table("ORDER_LIST_ARCHIVE", store.engine)
    assert len(archived) == 2 and set(archived["AAG ORDER NUMBER"]) == {"GRE-1", "GRE-2"}
    assert archived["_ARCHIVED_AT"].notna().all()
    assert not store.table_exists("xGREYSON_ORDER_LIST_RAW") and not store.table_exists(
        "xGREYSON_ORDER_LIST_STAGING"
    )
    assert store.latest_loads()["GREYSON"]["status"] == "retired"
    assert last_good(platform.pipeline.blobs, "GREYSON") is None
    assert platform.pipeline.removed_customers() == []  # retired: no longer reported as removed
    with store.engine.connect() as conn:
        quarantined = sa.text("SELECT count(*) FROM ORDER_LIST_QUARANTINE WHERE customer = 'GREYSON'")
        assert conn.execute(quarantined).scalar() == 0


def test_refresh_leaves_the_shutdown_collections_out_at_exit_only(monkeypatch):
    import atexit
    import gc

    from order_platform.cli.main import exit_without_final_collections

    registered = []
    monkeypatch.setattr(atexit, "register", registered.append)
    exit_without_final_collections()
    assert registered == [gc.freeze] and gc.get_freeze_count() == 0  # nothing frozen before the exit
