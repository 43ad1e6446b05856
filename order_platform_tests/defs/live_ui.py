"""A running `dagster dev` (webserver and daemon) on a fresh instance, driven through the webserver's
GraphQL API as the UI drives it: launching runs and backfills, reading what the UI reads."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from order_platform.defs.instance import kept_instance_yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
LOCATION = "order_platform"
REPOSITORY = "__repository__"
CHECKED_ASSETS = ("staged_order_list", "order_list", "monday_board_items")

CHECK_STATUSES = """
query CheckStatuses($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) {
    __typename
    ... on AssetNode {
      assetChecksOrError {
        __typename
        ... on AssetChecks {
          checks {
            name
            executionForLatestMaterialization { status partition evaluation { severity } }
            partitionStatuses {
              __typename
              ... on AssetCheckDefaultPartitionStatuses {
                succeededPartitions failedPartitions inProgressPartitions skippedPartitions
                executionFailedPartitions
              }
            }
          }
        }
      }
    }
  }
}
"""

ASSET_JOBS = """
query AssetJobs($assetKey: AssetKeyInput!) {
  assetNodeOrError(assetKey: $assetKey) { ... on AssetNode { jobNames } }
}
"""

LAUNCH_RUN = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

LAUNCH_BACKFILL = """
mutation LaunchPartitionBackfill($backfillParams: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $backfillParams) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
    ... on PartitionSetNotFoundError { message }
    ... on PartitionKeysNotFoundError { message }
  }
}
"""

RUNS = """
query Runs($filter: RunsFilter) {
  runsOrError(filter: $filter) {
    ... on Runs { results { runId jobName status creationTime startTime endTime tags { key value } } }
  }
}
"""

RUN_LOGS = """
query RunLogs($runId: ID!) {
  logsForRun(runId: $runId) {
    ... on EventConnection { events { __typename ... on MessageEvent { message level timestamp } } }
  }
}
"""

CHECKS_OF = {
    "staged_order_list": [
        "key_columns_present",
        "no_cell_issues",
        "no_unknown_headers",
        "rows_accounted_for",
        "total_qty_matches_sizes",
    ],
    "order_list": ["published_matches_staged"],
    "monday_board_items": ["no_failed_records"],
}
STATUS_FIELDS = {
    "succeededPartitions": "SUCCEEDED",
    "failedPartitions": "FAILED",
    "inProgressPartitions": "IN_PROGRESS",
    "skippedPartitions": "SKIPPED",
    "executionFailedPartitions": "EXECUTION_FAILED",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LiveUI:
    url: str
    home: Path
    source: Path
    log: Path

    def graphql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables or {}}).encode()
        request = urllib.request.Request(
            f"{self.url}/graphql", data=body, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=60) as answer:
            result = json.loads(answer.read())
        assert not result.get("errors"), result["errors"]
        return result["data"]

    # -- what the UI reads ----------------------------------------------------------------------------
    def check_statuses(self, asset: str) -> dict[str, dict[str, str]]:
        """check name -> customer -> status, from the check's `partitionStatuses` (its Partitions tab)."""
        data = self.graphql(CHECK_STATUSES, {"assetKey": {"path": [asset]}})
        checks = data["assetNodeOrError"]["assetChecksOrError"]["checks"]
        shown: dict[str, dict[str, str]] = {}
        for check in checks:
            statuses = check["partitionStatuses"] or {}
            shown[check["name"]] = {
                customer: status
                for field, status in STATUS_FIELDS.items()
                for customer in statuses.get(field) or []
            }
        return shown

    def all_check_statuses(self) -> dict[str, dict[str, str]]:
        """`asset:check` -> customer -> status, for every check."""
        return {
            f"{asset}:{name}": statuses
            for asset in CHECKED_ASSETS
            for name, statuses in self.check_statuses(asset).items()
        }

    def job_names(self, asset: str) -> list[str]:
        return self.graphql(ASSET_JOBS, {"assetKey": {"path": [asset]}})["assetNodeOrError"]["jobNames"]

    # -- what the UI launches -------------------------------------------------------------------------
    def launch_run(self, job: str, assets: list[str], partition: str) -> str:
        """A run as the asset page's Materialize launches it for one partition (the assets' checks too)."""
        checks = [{"assetKey": {"path": [a]}, "name": c} for a in assets for c in CHECKS_OF.get(a, [])]
        params = {
            "mode": "default",
            "executionMetadata": {"tags": [{"key": "dagster/partition", "value": partition}]},
            "runConfigData": "{}",
            "selector": {
                "repositoryLocationName": LOCATION,
                "repositoryName": REPOSITORY,
                "pipelineName": job,
                "assetSelection": [{"path": [a]} for a in assets],
                "assetCheckSelection": checks,
            },
        }
        answer = self.graphql(LAUNCH_RUN, {"executionParams": params})["launchPipelineExecution"]
        assert answer["__typename"] == "LaunchRunSuccess", answer
        return str(answer["run"]["runId"])

    def launch_backfill(self, job: str, assets: list[str], partitions: list[str]) -> str:
        """A backfill as the launch dialog starts it when the assets' first job is a visible job."""
        params = {
            "tags": [],
            "assetSelection": [{"path": [a]} for a in assets],
            "partitionNames": partitions,
            "fromFailure": False,
            "selector": {
                "partitionSetName": f"{job}_partition_set",
                "repositorySelector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY},
            },
        }
        answer = self.graphql(LAUNCH_BACKFILL, {"backfillParams": params})["launchPartitionBackfill"]
        assert answer["__typename"] == "LaunchBackfillSuccess", answer
        return str(answer["backfillId"])

    def runs(self, tags: list[dict[str, str]] | None = None, run_ids: list[str] | None = None) -> list[dict]:
        run_filter: dict[str, Any] = {}
        if tags:
            run_filter["tags"] = tags
        if run_ids:
            run_filter["runIds"] = run_ids
        return self.graphql(RUNS, {"filter": run_filter})["runsOrError"]["results"]

    def wait_for_runs(
        self, *, run_ids: list[str] | None = None, backfill: str | None = None, timeout: float = 240
    ) -> list[dict]:
        tags = [{"key": "dagster/backfill", "value": backfill}] if backfill else None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(tags=tags, run_ids=run_ids)
            finished = runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs)
            if finished and (backfill is None or self._backfill_done(backfill)):
                return runs
            time.sleep(0.5)
        raise AssertionError(f"runs not finished in {timeout} s: {self.runs(tags=tags, run_ids=run_ids)}")

    def _backfill_done(self, backfill: str) -> bool:
        query = (
            "query B($id: String!) { partitionBackfillOrError(backfillId: $id) "
            "{ ... on PartitionBackfill { status } } }"
        )
        status = self.graphql(query, {"id": backfill})["partitionBackfillOrError"]["status"]
        return status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED")

    def run_messages(self, run_id: str) -> list[tuple[str, str]]:
        """(level, message) of every event of the run, in order."""
        return [(e.get("level") or "", e.get("message") or "") for e in self.run_events(run_id)]

    def run_events(self, run_id: str) -> list[dict[str, Any]]:
        return list(self.graphql(RUN_LOGS, {"runId": run_id})["logsForRun"]["events"])

    def start_times(self, run_id: str) -> dict[str, float]:
        """Seconds from the run's creation to: leaving the queue (STARTING), its process started, RUN_START."""
        [run] = self.runs(run_ids=[run_id])
        created = run["creationTime"]
        marks: dict[str, float] = {}
        for event in self.run_events(run_id):
            kind, at = event["__typename"], float(event.get("timestamp") or 0) / 1000
            if kind == "RunStartingEvent":
                marks.setdefault("dequeued", at - created)
            elif kind == "EngineEvent" and "Started process for run" in (event.get("message") or ""):
                marks.setdefault("process", at - created)
            elif kind == "RunStartEvent":
                marks.setdefault("started", at - created)
        return marks


def _environment(home: Path, source: Path, board_config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORDER_PLATFORM_", "MONDAY_", "DAGSTER_"))}
    env.update(
        DAGSTER_HOME=str(home / "dagster"),
        ORDER_PLATFORM_HOME=str(home),
        ORDER_PLATFORM_SOURCE_DIR=str(source),
        ORDER_PLATFORM_WORKERS="1",
        MONDAY_BOARD_CONFIG=str(board_config),
        PYTHONUNBUFFERED="1",
    )
    return env


@contextmanager
def live_ui(home: Path, source: Path, board_config: Path, customers: list[str]) -> Iterator[LiveUI]:
    """`dagster dev` on a fresh instance under `home` (the repository's dagster.yaml), its customers
    registered and its sensors stopped, so that only the test launches runs."""
    (home / "dagster").mkdir(parents=True, exist_ok=True)
    (home / "dagster" / "dagster.yaml").write_text(kept_instance_yaml(), encoding="utf-8")
    env = _environment(home, source, board_config)
    setup = (
        "import dagster as dg, sys; i = dg.DagsterInstance.get(); "
        "i.add_dynamic_partitions('customer', sys.argv[1:])"
    )
    subprocess.run([sys.executable, "-c", setup, *customers], env=env, check=True, cwd=ROOT)
    for sensor in ("workbook_sensor", "monday_automation"):
        subprocess.run(
            [str(BIN / "dagster"), "sensor", "stop", sensor, "-w", "workspace.yaml"],
            env=env,
            check=True,
            cwd=ROOT,
            capture_output=True,
        )
    port = free_port()
    log = home / "dagster_dev.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [str(BIN / "dagster"), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ui = LiveUI(f"http://127.0.0.1:{port}", home, source, log)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if ui.graphql("{ version }"):
                    break
            except OSError:
                pass
            assert server.poll() is None, log.read_text(errors="replace")[-3000:]
            assert time.monotonic() < deadline, "dagster dev did not answer in 120 s"
            time.sleep(0.5)
        yield ui
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
