"""The user's path through Dagster's own command: `dagster asset materialize --select '*' --partition X`
materialises every layer of one customer (and the unpartitioned report beside them) in one green run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from order_platform_tests.workbooks import line, workbook_name, write_workbook

MODULE = ["-m", "order_platform.definitions"]


def test_materialize_everything_for_one_customer_from_the_command_line(platform, dagster_home: Path) -> None:
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    env = {**os.environ, "ORDER_PLATFORM_WORKERS": "1"}
    bin_dir = Path(sys.executable).parent
    # the customer's partition exists once its workbook has been seen (the CLI's refresh, or the sensor)
    first = subprocess.run(
        [str(bin_dir / "order-platform"), "refresh", "--customer", "GREYSON"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr[-2000:]
    done = subprocess.run(
        [str(bin_dir / "dagster"), "asset", "materialize", "--select", "*", "--partition", "GREYSON", *MODULE],
        env=env,
        capture_output=True,
        text=True,
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log[-3000:]
    assert "RUN_SUCCESS" in log and "STEP_SKIPPED" not in log
    assert "did not yield" not in log and "ERROR" not in log
    for asset in (
        "source_workbook",
        "blob_workbook",
        "raw_order_list",
        "staged_order_list",
        "order_list",
        "monday_board_items",
        "daily_change_report",
    ):
        assert f"Materialized value {asset}." in log, asset
    assert log.count("ASSET_CHECK_EVALUATION") >= 7
