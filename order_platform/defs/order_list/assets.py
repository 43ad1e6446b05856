"""The ORDER_LIST layers as assets, one partition per customer.

The five layers are separate assets (own keys, metadata, checks, lineage) computed by one
subsettable op: a backfill of every customer is one run, customers are loaded side by side, and a
customer whose workbook is bad fails alone: the others are materialised, its previous ORDER_LIST
slice stays, and the run fails naming it.
"""

from collections import defaultdict
from collections.abc import Iterator

import dagster as dg

from order_platform.defs.order_list.metadata import (
    blob_metadata,
    check_result_metadata,
    order_list_metadata,
    raw_metadata,
    source_metadata,
    staging_metadata,
    table_column_schema,
)
from order_platform.defs.partitions import customer_partitions
from order_platform.defs.resources import OrderPlatformResource
from order_platform.report import CustomerReport
from order_platform.runner import run_customers
from order_platform.schema import order_list_schema
from order_platform.staging.checks import (
    KEY_COLUMNS,
    ROWS_ACCOUNTED,
    TOTAL_QTY_MATCHES,
    UNKNOWN_HEADERS,
    CheckOutcome,
)
from order_platform.warehouse.tables import ORDER_LIST as ORDER_LIST_TABLE
from order_platform.warehouse.tables import platform_metadata

SOURCE = dg.AssetKey("source_workbook")
BLOB = dg.AssetKey("blob_workbook")
RAW = dg.AssetKey("raw_order_list")
STAGED = dg.AssetKey("staged_order_list")
ORDER_LIST = dg.AssetKey("order_list")
LAYER_OF = {SOURCE: "source", BLOB: "blob", RAW: "raw", STAGED: "staging", ORDER_LIST: "order_list"}
METADATA_OF = {
    SOURCE: source_metadata,
    BLOB: blob_metadata,
    RAW: raw_metadata,
    STAGED: staging_metadata,
    ORDER_LIST: order_list_metadata,
}
PUBLISHED_MATCHES_STAGED = "published_matches_staged"
# Staging tables hold the ORDER_LIST columns a customer's file feeds, typed the same: one schema for both.
ORDER_LIST_COLUMNS = table_column_schema(platform_metadata(order_list_schema()).tables[ORDER_LIST_TABLE])
DB_POOL = "order_platform_database"

SPECS = [
    dg.AssetSpec(
        SOURCE,
        group_name="ingest",
        description="The customer's `<CUSTOMER> ORDER LIST (M3).xlsx` in SharePoint (or the local source folder): "
        "path, size, modified time, content hash.",
        kinds={"excel"},
    ),
    dg.AssetSpec(
        BLOB,
        deps=[SOURCE],
        group_name="ingest",
        description="The workbook's copy in blob storage, with its content hash and source in the metadata; "
        "unchanged content is not uploaded again.",
        kinds={"azure"},
    ),
    dg.AssetSpec(
        RAW,
        deps=[BLOB],
        group_name="ingest",
        description="x<CUSTOMER>_ORDER_LIST_RAW: every header of the order sheet as text, plus source file, "
        "sheet, row number and load time.",
        kinds={"sql"},
    ),
    dg.AssetSpec(
        STAGED,
        deps=[RAW],
        group_name="transform",
        description="x<CUSTOMER>_ORDER_LIST_STAGING: canonical typed columns, canonical customer names, stable "
        "line ids; rows that cannot be loaded go to ORDER_LIST_QUARANTINE with file, sheet, row, column, reason.",
        kinds={"sql", "pandas"},
        metadata={"dagster/column_schema": ORDER_LIST_COLUMNS},
    ),
    dg.AssetSpec(
        ORDER_LIST,
        deps=[STAGED],
        group_name="transform",
        description="The customer's slice of the production ORDER_LIST table, swapped in one transaction.",
        kinds={"sql"},
        metadata={"dagster/column_schema": ORDER_LIST_COLUMNS},
    ),
]

CHECK_SPECS = [
    dg.AssetCheckSpec(
        ROWS_ACCOUNTED,
        asset=STAGED,
        blocking=True,
        description="Every data row of the workbook is staged or quarantined: raw = staged + quarantined.",
    ),
    dg.AssetCheckSpec(
        KEY_COLUMNS,
        asset=STAGED,
        blocking=True,
        description="AAG ORDER NUMBER, PLANNED DELIVERY METHOD and CUSTOMER STYLE are present; line ids unique.",
    ),
    dg.AssetCheckSpec(
        TOTAL_QTY_MATCHES,
        asset=STAGED,
        description="TOTAL QTY equals the sum of the size columns (a warning: the line is still loaded).",
    ),
    dg.AssetCheckSpec(
        UNKNOWN_HEADERS,
        asset=STAGED,
        description="Every header maps to ORDER_LIST (a warning: unknown headers are kept in _EXTRA_COLUMNS).",
    ),
    dg.AssetCheckSpec(
        PUBLISHED_MATCHES_STAGED,
        asset=ORDER_LIST,
        blocking=True,
        description="The published slice has exactly the staged rows: staged = published.",
    ),
]


class RefreshConfig(dg.Config):
    force: bool = True
    """Reload even when the workbook's content hash equals the last published load's."""


@dg.multi_asset(
    specs=SPECS,
    check_specs=CHECK_SPECS,
    partitions_def=customer_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    can_subset=True,
    pool=DB_POOL,
    name="order_list_layers",
)
def order_list_layers(
    context: dg.AssetExecutionContext, config: RefreshConfig, order_platform: OrderPlatformResource
) -> Iterator[dg.AssetMaterialization | dg.AssetCheckResult]:
    selected = set(context.selected_asset_keys)
    layers = frozenset(LAYER_OF[k] for k in selected)
    customers = list(context.partition_keys)
    context.log.info(f"{len(customers)} customer(s), layers {sorted(layers)}, force={config.force}")
    outcomes: dict[str, dict[str, CheckOutcome]] = defaultdict(dict)
    failed: dict[str, str] = {}
    unchanged: list[str] = []
    for report in run_customers(
        order_platform.spec(), customers, layers=layers, force=config.force, workers=order_platform.workers
    ):
        if report.unchanged:
            unchanged.append(report.customer)
            context.log.info(f"{report.customer}: workbook unchanged since its last published load, skipped")
            continue
        for key in (SOURCE, BLOB, RAW, STAGED, ORDER_LIST):
            if key in selected and LAYER_OF[key] in report.layers:
                yield dg.AssetMaterialization(
                    asset_key=key, partition=report.customer, metadata=METADATA_OF[key](report)
                )
        _collect_checks(report, outcomes)
        if report.ok:
            context.log.info(f"{report.customer}: {_summary(report)}")
        else:
            failed[report.customer] = report.error or "failed"
            context.log.error(f"{report.customer}: {report.error}")
    yield from _check_results(set(context.selected_asset_check_keys), outcomes, failed)
    if failed:
        raise dg.Failure(
            description=f"{len(failed)} of {len(customers)} customer(s) failed: "
            + "; ".join(f"{c}: {e}" for c, e in sorted(failed.items())),
            metadata={"failed_customers": failed, "unchanged_customers": unchanged},
        )


def _summary(report: CustomerReport) -> str:
    parts = [
        f"{name} {layer.rows} rows in {layer.seconds:.2f}s"
        for name, layer in report.layers.items()
        if layer.rows
    ]
    if report.quarantined_rows:
        parts.append(f"{report.quarantined_rows} quarantined")
    return ", ".join(parts) or "done"


def _collect_checks(report: CustomerReport, outcomes: dict[str, dict[str, CheckOutcome]]) -> None:
    for check in report.checks:
        outcomes[check.name][report.customer] = check
    staged = report.layers.get("staging")
    published = report.layers.get("order_list")
    if staged and published:
        ok = staged.rows == published.rows
        outcomes[PUBLISHED_MATCHES_STAGED][report.customer] = CheckOutcome(
            PUBLISHED_MATCHES_STAGED, ok, True, f"staged {staged.rows}, published {published.rows}"
        )


def _check_results(
    selected: set[dg.AssetCheckKey], outcomes: dict[str, dict[str, CheckOutcome]], failed: dict[str, str]
) -> Iterator[dg.AssetCheckResult]:
    """One result per selected check, over every customer the run evaluated."""
    for spec in CHECK_SPECS:
        if spec.key not in selected:
            continue
        per_customer = outcomes.get(spec.name, {})
        metadata = check_result_metadata(per_customer)
        if failed:
            metadata["customers_not_evaluated"] = failed
        yield dg.AssetCheckResult(
            asset_key=spec.asset_key,
            check_name=spec.name,
            passed=all(o.passed for o in per_customer.values())
            and not (spec.blocking and not per_customer and failed),
            severity=dg.AssetCheckSeverity.ERROR if spec.blocking else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )
