"""The ORDER_LIST pipeline on the production connectors: SharePoint (a local Graph stand-in, app-only
MSAL against a local identity server) and Azure Blob (Azurite) give the same ORDER_LIST as the local
folder, and a second, changed-only run downloads just the changed workbook."""

import pandas as pd
import pytest
from azure.storage.blob import BlobServiceClient

from order_platform.runner import PipelineSpec, run_customers
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
    assert sorted(b.name for b in blobs.list_blobs()) == sorted(
        p.relative_to(local_source).as_posix() for p in local_source.rglob("*.xlsx")
    )

    # second run, changed workbooks only: one workbook changed, so one download
    downloads = len(graph.download_server.requests)
    changed = tmp_path / "changed.xlsx"
    write_workbook(changed, [line("TIT-1", "A"), line("TIT-9", "Z")])
    graph.put_file("USA CUSTOMERS/" + workbook_name("TITLE 9"), changed.read_bytes())
    second = {r.customer: r for r in run_customers(remote, CUSTOMERS, force=False)}
    assert second["GREYSON"].unchanged and second["LORNA JANE"].unchanged
    assert second["TITLE NINE"].published_rows == 2
    assert len(graph.download_server.requests) == downloads + 1
