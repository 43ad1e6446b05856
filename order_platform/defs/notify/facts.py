"""What a finished run did, read from its own records in the Dagster instance: the loads it published
(ORDER_LIST materialisations), its board syncs, and the customers it failed with their workbooks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from order_platform.defs.monday.assets import MONDAY_BOARD_ITEMS
from order_platform.defs.order_list.assets import ORDER_LIST_SLICE
from order_platform.notify.cards import FailedCustomer
from order_platform.notify.notices import RunFacts

TRIGGER_TAG = "order_platform/trigger"
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster on a failed run it is about to retry
_EVENTS = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_OBSERVATION,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.RUN_FAILURE,
}


def run_facts(instance: dg.DagsterInstance, run: dg.DagsterRun) -> RunFacts:
    facts = RunFacts(run.run_id, run_failed=run.status == dg.DagsterRunStatus.FAILURE)
    trigger = run.tags.get(TRIGGER_TAG)
    facts.where = f" ({trigger or run.job_name})"
    facts.will_retry = run.tags.get(WILL_RETRY_TAG) == "true"
    failed: dict[str, str] = {}
    workbooks: dict[str, str] = {}
    errors: list[str] = []
    for entry in instance.all_logs(run.run_id, of_type=_EVENTS):
        event = entry.dagster_event
        if event is None:
            continue
        if event.event_type == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.step_materialization_data.materialization
            _note(facts, materialization.asset_key, materialization.partition, materialization.metadata)
        elif event.event_type == dg.DagsterEventType.ASSET_OBSERVATION:
            observation = event.asset_observation_data.asset_observation
            _note(facts, observation.asset_key, observation.partition, observation.metadata)
        elif event.event_type == dg.DagsterEventType.STEP_FAILURE:
            data = event.step_failure_data
            metadata = data.user_failure_data.metadata if data.user_failure_data else {}
            named = metadata.get("failed_customers")
            if named is not None and isinstance(named.value, dict):
                failed.update({str(c): str(e) for c, e in named.value.items()})
                paths = metadata.get("failed_workbooks")
                if paths is not None and isinstance(paths.value, dict):
                    workbooks.update({str(c): str(p) for c, p in paths.value.items()})
            elif data.error is not None:
                errors.append(data.error.message)
        elif event.event_type == dg.DagsterEventType.RUN_FAILURE and entry.user_message:
            errors.append(entry.user_message)
    facts.failures = [FailedCustomer(c, workbooks.get(c), e) for c, e in sorted(failed.items())]
    facts.run_error = errors[0] if errors else None
    return facts


def _note(facts: RunFacts, key: dg.AssetKey, partition: str | None, metadata: Mapping[str, Any]) -> None:
    if not partition:
        return
    if key == ORDER_LIST_SLICE and "load_id" in metadata:
        facts.load_ids[partition] = str(metadata["load_id"].value)
    elif key == MONDAY_BOARD_ITEMS and "sync_run_id" in metadata:
        facts.sync_run_ids[partition] = int(str(metadata["sync_run_id"].value))
