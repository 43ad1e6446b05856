"""Check evaluations as the UI needs them to show each customer's status.

Dagster (1.13) shows a partitioned check's status per partition (the check's Partitions tab, and the
status in the check list, aggregated over partitions) only for an evaluation that *targets the latest
materialisation* of that partition: the evaluation must carry the storage id of the materialisation
it checked (`AssetCheckEvaluation.target_materialization_data`). Otherwise a later materialisation
"clears" it and every customer shows as missing. Dagster fills that in itself only for an
`AssetCheckResult` of a single-partition step; our step runs many customers, so it yields
`AssetCheckEvaluation`s with their partition and sets the target here, right after the customer's
materialisations were stored (`with_target`).

An unchanged workbook is not read again, so its checks are not run again: its layers are recorded as
materialised (`unchanged: true`) and its checks keep their last result, carried onto the new
materialisation (`carried_forward`); without that they would read "skipped", or "execution failed"
when another customer's failure fails the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from functools import cache
from typing import Any, get_args

import dagster as dg
from dagster_shared.record import get_record_annotations

# How far back the history of one check is searched for an unchanged customer's last evaluation.
HISTORY_PAGE = 500
HISTORY_PAGES = 20
Event = dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckEvaluation | dg.Output


@cache
def _target_type() -> Any:
    """The class of an evaluation's target materialisation. Dagster exports no name for it, so it is
    read off the public `AssetCheckEvaluation` record's field (a test fails loudly if that changes)."""
    hint = get_record_annotations(dg.AssetCheckEvaluation)["target_materialization_data"]
    return next(t for t in get_args(hint) if t is not type(None))


def latest_materialization(instance: dg.DagsterInstance, asset: dg.AssetKey, partition: str) -> Any | None:
    """A pointer to the partition's latest materialisation, as an evaluation's target; None if none."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[partition]), limit=1
    ).records
    if not records:
        return None
    record = records[0]
    return _target_type()(
        storage_id=record.storage_id, run_id=record.event_log_entry.run_id, timestamp=record.timestamp
    )


class _RunMaterializations:
    """The partition materialisations a run has stored, read from its own events as they come: one
    query for everything stored since the last look (a customer's layers, or every board at the end),
    instead of one per asset and customer."""

    def __init__(self, instance: dg.DagsterInstance, run_id: str) -> None:
        self.instance, self.run_id = instance, run_id
        self.cursor: str | None = None
        self.latest: dict[tuple[dg.AssetKey, str], Any] = {}

    def read_new(self) -> None:
        page = self.instance.get_records_for_run(
            self.run_id, cursor=self.cursor, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        )
        for record in page.records:
            materialization = record.event_log_entry.asset_materialization
            if materialization is not None and materialization.partition:
                self.latest[(materialization.asset_key, materialization.partition)] = _target_type()(
                    storage_id=record.storage_id, run_id=record.run_id, timestamp=record.timestamp
                )
        self.cursor = page.cursor


def with_target(instance: dg.DagsterInstance, run_id: str, events: Iterable[Event]) -> Iterator[Event]:
    """The events, each check evaluation targeting its partition's latest materialisation at that point
    of the stream: the one this run stored last, else (none in this run) the partition's latest."""
    stored = _RunMaterializations(instance, run_id)
    stale: set[tuple[dg.AssetKey, str]] = set()  # materialised since the last look
    for event in events:
        if isinstance(event, dg.AssetMaterialization) and event.partition:
            stale.add((event.asset_key, event.partition))
        if not isinstance(event, dg.AssetCheckEvaluation) or event.partition is None:
            yield event
            continue
        key = (event.asset_key, event.partition)
        if key in stale or key not in stored.latest:
            stored.read_new()
            stale.clear()
        if key not in stored.latest:
            stored.latest[key] = latest_materialization(instance, *key)
        yield _evaluation(event, target=stored.latest[key])


def _evaluation(
    evaluation: dg.AssetCheckEvaluation, *, target: Any, metadata: dict[str, Any] | None = None
) -> dg.AssetCheckEvaluation:
    return dg.AssetCheckEvaluation(
        asset_key=evaluation.asset_key,
        check_name=evaluation.check_name,
        passed=evaluation.passed,
        metadata={**evaluation.metadata, **(metadata or {})},
        target_materialization_data=target,
        severity=evaluation.severity,
        description=evaluation.description,
        blocking=evaluation.blocking,
        partition=evaluation.partition,
    )


def last_evaluations(
    instance: dg.DagsterInstance, check: dg.AssetCheckKey, customers: set[str]
) -> dict[str, tuple[str, dg.AssetCheckEvaluation]]:
    """customer -> (run id, its latest completed evaluation of `check`), newest first through the history."""
    found: dict[str, tuple[str, dg.AssetCheckEvaluation]] = {}
    cursor: int | None = None
    for _ in range(HISTORY_PAGES):
        records = instance.event_log_storage.get_asset_check_execution_history(
            check, limit=HISTORY_PAGE, cursor=cursor
        )
        for record in records:
            partition = record.partition
            if partition in customers and partition not in found and record.event is not None:
                data = record.event.dagster_event.event_specific_data if record.event.dagster_event else None
                if isinstance(data, dg.AssetCheckEvaluation):
                    found[partition] = (record.run_id, data)
        if len(records) < HISTORY_PAGE or len(found) == len(customers):
            break
        cursor = records[-1].id
    return found


def carried_forward(
    instance: dg.DagsterInstance, checks: Iterable[dg.AssetCheckKey], customers: list[str]
) -> Iterator[dg.AssetCheckEvaluation]:
    """For customers whose workbook is unchanged (just recorded as materialised): each selected check's
    last result, targeting the new materialisation, with the run it came from."""
    wanted = set(customers)
    for check in sorted(checks, key=lambda k: k.to_user_string()):
        last = last_evaluations(instance, check, wanted)
        for customer in customers:
            if customer not in last:
                continue
            run_id, evaluation = last[customer]
            note = f"unchanged workbook, not read again: the result of its last load (run {run_id})"
            yield _evaluation(
                evaluation,
                target=latest_materialization(instance, check.asset_key, customer),
                metadata={"carried_from_run": dg.MetadataValue.dagster_run(run_id), "note": note},
            )


def check_outputs(context: dg.AssetExecutionContext) -> Iterator[dg.Output]:
    """An (empty) output for each selected check. The op reports every check per customer as evaluations;
    these outputs tell Dagster the checks were handled, so a successful run does not log that the op
    'did not yield or return expected outputs'."""
    for key in sorted(context.selected_asset_check_keys, key=lambda k: k.to_user_string()):
        yield dg.Output(None, output_name=context.assets_def.get_output_name_for_asset_check_key(key))
