"""The ORDER_LIST pipeline on the production connectors: SharePoint (a local Graph stand-in, app-only
MSAL against a local identity server) and Azure Blob (Azurite) give the same ORDER_LIST as the local
folder, and a second, changed-only run downloads just the changed workbook."""

import json

import pandas as pd
import pytest
from azure.storage.blob import BlobServiceClient

from order_platform.ingest.blob import content_blob_name, content_hash, pointer_name
from order_platform.load.factory import PipelineSpec
from order_platform.workers.runner import run_customers
from order_platform_tests.ingest.conftest import CLIENT_ID, CLIENT_SECRET, TENANT
from order_platform_tests.workbooks import line, workbook_name, write_workbook

WORKBOOKS = {
    "USA CUSTOMERS/West": ("GREYSON", [line("GRE-1", "A"), line("GRE-2", "B"), line(None, "C")]),
    "AUS Customers": ("LORNA JANE (AU)", [line("LOR-1", "A", **{"CUSTOMER NAME": "LORNA JANE (AU)"})]),
    "USA CUSTOMERS": ("TITLE 9", [line("TIT-1", "A"), line("TIT-1", "A")]),
}
CUSTOMERS = ["GREYSON", "LORNA JANE", "TITLE NINE"]


def _order_list(spec: PipelineSpec) -> pd.DataFrame:
    frame = pd.read_sql_table("ORDER_LIST", spec.build().store.engine)
    return frame.drop(columns=["_LOAD_ID"]).sort_values("record_uuid").reset_index(drop=True)


@pytest.fixture
def local_source(tmp_path):
    for folder, (customer, rows) in WORKBOOKS.items():
        write_workbook(tmp_path / "local" / folder / workbook_name(customer), rows)
    return tmp_path / "local"


def test_sharepoint_and_azure_give_the_same_order_list(tmp_path, monkeypatch, local_source, identity, graph, azurite):
    for name in ("ORDER_PLATFORM_SOURCE", "ORDER_PLATFORM_BLOB"):
        monkeypatch.delenv(name, raising=False)
    local = PipelineSpec(f"sqlite:///{tmp_path / 'local.db'}", str(local_source), str(tmp_path / "blob"))
    assert all(r.ok for r in run_customers(local, CUSTOMERS))

    for path in local_source.rglob("*.xlsx"):
        graph.put_file(path.relative_to(local_source).as_posix(), path.read_bytes())
    settings = {
        "ORDER_PLATFORM_SOURCE": "sharepoint",
        "SHAREPOINT_SITE_URL": "https://contoso.sharepoint.com/sites/Orders",
        "SHAREPOINT_FOLDERS": "USA CUSTOMERS,AUS Customers",
        "GRAPH_BASE_URL": graph.base_url,
        "AZURE_AUTHORITY_HOST": identity.url,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "ORDER_PLATFORM_BLOB": "azure",
        "AZURE_STORAGE_CONNECTION_STRING": azurite,
        "AZURE_STORAGE_CONTAINER": "e2e-workbooks",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    remote = PipelineSpec(f"sqlite:///{tmp_path / 'remote.db'}", str(tmp_path / "unused"), str(tmp_path / "unused"))
    reports = {r.customer: r for r in run_customers(remote, CUSTOMERS)}
    assert all(r.ok for r in reports.values()), {c: r.error for c, r in reports.items()}

    pd.testing.assert_frame_equal(_order_list(local), _order_list(remote))
    blobs = BlobServiceClient.from_connection_string(azurite).get_container_client("e2e-workbooks")
    listed = {b.name: b for b in blobs.list_blobs(include=["metadata"])}
    contents = {content_blob_name(content_hash(p.read_bytes())): p for p in local_source.rglob("*.xlsx")}
    assert set(listed) == set(contents) | {pointer_name(c) for c in CUSTOMERS}
    for name, path in contents.items():  # content-addressed copies carry where they came from
        meta = listed[name].metadata
        assert meta["source_path"] == path.relative_to(local_source).as_posix()
        assert meta["source_etag"].startswith('"{') and meta["content_hash"] in name
    for customer in CUSTOMERS:  # each customer points at its last good copy, eTag included
        pointer = json.loads(blobs.download_blob(pointer_name(customer)).readall())
        assert pointer["blob"] in contents and pointer["source_etag"]

    # second run, changed workbooks only: one workbook changed, so one download
    downloads = len(graph.download_server.requests)
    changed = tmp_path / "changed.xlsx"
    write_workbook(changed, [line("TIT-1", "A"), line("TIT-9", "Z")])
    graph.put_file("USA CUSTOMERS/" + workbook_name("TITLE 9"), changed.read_bytes())
    second = {r.customer: r for r in run_customers(remote, CUSTOMERS, force=False)}
    assert second["GREYSON"].unchanged and second["LORNA JANE"].unchanged
    assert second["TITLE NINE"].published_rows == 2
    assert len(graph.download_server.requests) == downloads + 1


def test_a_workbook_moved_in_sharepoint_rebuilds_from_azure(
    tmp_path, monkeypatch, local_source, identity, graph, azurite
):
    path = "USA CUSTOMERS/" + workbook_name("TITLE 9")
    graph.put_file(path, (local_source / path).read_bytes())
    for name, value in {
        "ORDER_PLATFORM_SOURCE": "sharepoint",
        "SHAREPOINT_SITE_URL": "https://contoso.sharepoint.com/sites/Orders",
        "GRAPH_BASE_URL": graph.base_url,
        "AZURE_AUTHORITY_HOST": identity.url,
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        "ORDER_PLATFORM_BLOB": "azure",
        "AZURE_STORAGE_CONNECTION_STRING": azurite,
        "AZURE_STORAGE_CONTAINER": "moved-workbooks",
    }.items():
        monkeypatch.setenv(name, value)
    spec = PipelineSpec(f"sqlite:///{tmp_path / 'moved.db'}", str(tmp_path / "unused"), str(tmp_path / "unused"))
    (first,) = run_customers(spec, ["TITLE NINE"])
    assert first.ok, first.error

    graph.put_file("_PAST Customers/2025/" + workbook_name("TITLE 9"), (local_source / path).read_bytes())
    graph.delete(path)
    (rebuilt,) = run_customers(spec, ["TITLE NINE"], layers=frozenset({"raw", "staging", "order_list"}))
    assert rebuilt.ok, rebuilt.error
    assert rebuilt.published_rows == first.published_rows
