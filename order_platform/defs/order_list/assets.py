"""The five ORDER_LIST layers of a customer as asset specs, and the metadata each materialisation carries.

They are computed, together with the customer's monday.com items, by one subsettable op
(`defs/customer_layers.py`); the logic of each layer is plain Python: source and blob in `ingest/`,
raw in `ingest/workbook.py` + `warehouse/store.py`, staging in `staging/transform.py`, ORDER_LIST in
`warehouse/store.py` (`publish`), driven per customer by `pipeline.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import dagster as dg

from order_platform.defs.order_list.metadata import (
    blob_metadata,
    order_list_metadata,
    raw_metadata,
    source_metadata,
    staging_metadata,
    table_column_schema,
)
from order_platform.load.report import CustomerReport
from order_platform.schema import order_list_schema
from order_platform.warehouse.tables import ORDER_LIST as ORDER_LIST_TABLE
from order_platform.warehouse.tables import platform_metadata

SOURCE_WORKBOOK = dg.AssetKey("source_workbook")
BLOB_WORKBOOK = dg.AssetKey("blob_workbook")
RAW_ORDER_LIST = dg.AssetKey("raw_order_list")
STAGED_ORDER_LIST = dg.AssetKey("staged_order_list")
ORDER_LIST_SLICE = dg.AssetKey("order_list")

# asset -> the pipeline's name of the layer (pipeline.LAYERS)
LAYER_OF: dict[dg.AssetKey, str] = {
    SOURCE_WORKBOOK: "source",
    BLOB_WORKBOOK: "blob",
    RAW_ORDER_LIST: "raw",
    STAGED_ORDER_LIST: "staging",
    ORDER_LIST_SLICE: "order_list",
}
METADATA_OF: dict[dg.AssetKey, Callable[[CustomerReport], dict[str, Any]]] = {
    SOURCE_WORKBOOK: source_metadata,
    BLOB_WORKBOOK: blob_metadata,
    RAW_ORDER_LIST: raw_metadata,
    STAGED_ORDER_LIST: staging_metadata,
    ORDER_LIST_SLICE: order_list_metadata,
}


def _columns() -> dg.TableSchema:
    return table_column_schema(platform_metadata(order_list_schema()).tables[ORDER_LIST_TABLE])


def order_list_specs() -> list[dg.AssetSpec]:
    """Built when the code location loads (not at import): the column schema is read from the config."""
    # Under an ordinary key, the 440-column schema is listed with the definition's other metadata
    # instead of filling the top of the asset's overview page (`dagster/column_schema` would).
    columns = {"columns (SQL Server types)": _columns(), "ddl": dg.MetadataValue.path("sql/order_list.sql")}
    return [
        dg.AssetSpec(
            SOURCE_WORKBOOK,
            group_name="ingest",
            description="The customer's `<CUSTOMER> ORDER LIST (M3).xlsx` in SharePoint (or the local source "
            "folder): path, size, modified time, version, content hash.",
            kinds={"excel"},
            skippable=True,
        ),
        dg.AssetSpec(
            BLOB_WORKBOOK,
            deps=[SOURCE_WORKBOOK],
            group_name="ingest",
            description="The workbook's copy in blob storage, with its content hash and source in the metadata; "
            "unchanged content is not uploaded again.",
            kinds={"azure"},
            skippable=True,
        ),
        dg.AssetSpec(
            RAW_ORDER_LIST,
            deps=[BLOB_WORKBOOK],
            group_name="ingest",
            description="Table `x<CUSTOMER>_ORDER_LIST_RAW`: every header of the order sheet as text, plus "
            "source file, sheet, row number and load time.",
            kinds={"sql"},
            skippable=True,
        ),
        dg.AssetSpec(
            STAGED_ORDER_LIST,
            deps=[RAW_ORDER_LIST],
            group_name="transform",
            description="Table `x<CUSTOMER>_ORDER_LIST_STAGING`: canonical typed columns, canonical customer "
            "names, stable line ids. Rows that are not order lines go to `ORDER_LIST_QUARANTINE` with file, "
            "sheet, row, column and reason (see the partition's quarantine sample).",
            kinds={"sql", "pandas"},
            metadata=columns,
            skippable=True,
        ),
        dg.AssetSpec(
            ORDER_LIST_SLICE,
            deps=[STAGED_ORDER_LIST],
            group_name="transform",
            description="The customer's slice of the production `ORDER_LIST` table, swapped in one transaction "
            "(readers see the old slice or the new one, never half).",
            kinds={"sql"},
            metadata=columns,
            skippable=True,
        ),
    ]
