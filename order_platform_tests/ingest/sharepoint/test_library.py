"""SharePointSource against a local HTTP server that answers like Microsoft Graph."""

from __future__ import annotations

import json

import pytest
import requests
import sqlalchemy as sa

from order_platform.ingest.sharepoint.graph_client import GraphClient, GraphError
from order_platform.ingest.sharepoint.http import HttpRetrySettings
from order_platform.ingest.sharepoint.library import SharePointSource
from order_platform.warehouse.state_store import DbStateStore
from order_platform_tests.ingest.conftest import StaticToken
from stand_ins.graph_server import FakeGraph, Fault

FAST = HttpRetrySettings(max_attempts=5, backoff_base=0.01, backoff_max=0.05, max_retry_after=2)
WORKBOOKS = {
    "USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx": b"greyson v1",
    "USA CUSTOMERS/Sub Folder/TITLE 9 ORDER LIST (M3).xlsx": b"title nine v1",
    "USA CUSTOMERS/Sub Folder/Deeper/JOHNNIE-O ORDER LIST (M3).xlsx": b"johnnie-o v1",
    "AUS Customers/LORNA JANE (AU) ORDER LIST (M3).xlsx": b"lorna jane v1",
}
NOT_LISTED = {
    "USA CUSTOMERS/~$GREYSON ORDER LIST (M3).xlsx": b"excel lock file",
    "USA CUSTOMERS/notes.docx": b"not a workbook",
    "USA CUSTOMERS/GREYSON ORDER LIST (M3) - old.xlsx": b"a copy",
    "_PAST Customers/OLD BRAND ORDER LIST (M3).xlsx": b"folder not configured",
}


@pytest.fixture
def library(graph: FakeGraph) -> FakeGraph:
    for path, data in {**WORKBOOKS, **NOT_LISTED}.items():
        graph.put_file(path, data)
    return graph


def make_source(graph: FakeGraph, token: StaticToken, engine: sa.Engine, **kwargs) -> SharePointSource:
    return SharePointSource(
        f"https://{graph.HOST}{graph.SITE_PATH}",
        "Documents",
        ["USA CUSTOMERS", "/AUS Customers/"],
        token,
        state_store=DbStateStore(engine, "sharepoint.delta:test"),
        graph_base_url=graph.base_url,
        retry=kwargs.pop("retry", FAST),
        **kwargs,
    )


def delta_requests(graph: FakeGraph):
    return [r for r in graph.requests if r.path.endswith("/root/delta")]


def test_full_listing_resolves_site_drive_and_folders_recursively(library, static_token, engine):
    source = make_source(library, static_token, engine)
    refs = source.list_workbooks()

    assert [r.path for r in refs] == sorted(WORKBOOKS)
    assert {r.customer_in_file_name for r in refs} == {"GREYSON", "TITLE 9", "JOHNNIE-O", "LORNA JANE (AU)"}
    assert all(r.version.startswith("qxh:") and r.size == len(WORKBOOKS[r.path]) for r in refs)
    assert source.last_sync_mode == "full"
    paths = [r.path for r in library.requests]
    assert f"/v1.0/sites/{library.HOST}:{library.SITE_PATH}" in paths  # site by host + server-relative path
    assert any(r.query.get("page") == "2" for r in library.requests)  # drives paged via @odata.nextLink
    assert "/v1.0/drives/b!orders-drive/root:/USA CUSTOMERS" in paths  # folders resolved by path
    first_delta, *more = delta_requests(library)
    assert "$select" in first_delta.query and len(more) >= 2  # several delta pages followed
    stored = json.loads(DbStateStore(engine, "sharepoint.delta:test").get())
    assert stored["delta_link"].endswith(f"token={library.seq}")


def test_unchanged_library_keeps_versions_and_reuses_the_persisted_delta_token(library, static_token, engine):
    first = make_source(library, static_token, engine).list_workbooks()
    full_requests = len(delta_requests(library))

    again = make_source(library, static_token, engine)  # a new process: state comes from the database
    second = again.list_workbooks()

    assert second == first  # same versions: nothing would be downloaded
    assert again.last_sync_mode == "delta"
    incremental = delta_requests(library)[full_requests:]
    assert len(incremental) == 1 and incremental[0].query == {"token": str(library.seq)}
    with engine.connect() as conn:
        row = conn.execute(sa.text('SELECT key, updated_at FROM "PLATFORM_STATE"')).one()
    assert row.key == "sharepoint.delta:test" and row.updated_at is not None


def test_only_changed_workbooks_get_a_new_version(library, static_token, engine):
    source = make_source(library, static_token, engine)
    before = {r.customer_in_file_name: r for r in source.list_workbooks()}

    library.put_file("USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx", b"greyson v2 - more rows")
    library.put_file("USA CUSTOMERS/Sub Folder/Deeper/NEW CO ORDER LIST (M3).xlsx", b"new")
    library.delete("AUS Customers/LORNA JANE (AU) ORDER LIST (M3).xlsx")
    library.rename("USA CUSTOMERS/Sub Folder", "Brands")  # Graph reports the folder, not its children
    library.put_file("_PAST Customers/OTHER ORDER LIST (M3).xlsx", b"out of scope")

    after = {r.customer_in_file_name: r for r in source.list_workbooks()}
    assert source.last_sync_mode == "delta"
    to_download = sorted(c for c, r in after.items() if c not in before or before[c].version != r.version)
    assert to_download == ["GREYSON", "NEW CO"]
    assert "LORNA JANE (AU)" not in after
    assert after["TITLE 9"].path == "USA CUSTOMERS/Brands/TITLE 9 ORDER LIST (M3).xlsx"
    assert after["JOHNNIE-O"].path == "USA CUSTOMERS/Brands/Deeper/JOHNNIE-O ORDER LIST (M3).xlsx"
    assert source.read_bytes(after["GREYSON"]) == b"greyson v2 - more rows"


def test_expired_delta_token_410_falls_back_to_full_enumeration(library, static_token, engine):
    make_source(library, static_token, engine).list_workbooks()
    library.put_file("USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx", b"greyson v2")
    library.oldest_valid_token = library.seq + 1  # every issued token is now too old

    source = make_source(library, static_token, engine)
    refs = {r.customer_in_file_name: r for r in source.list_workbooks()}

    assert any(r.status == 410 for r in library.requests)
    assert source.last_sync_mode == "full"
    assert len(refs) == 4 and refs["GREYSON"].size == len(b"greyson v2")
    library.oldest_valid_token = 0
    source.list_workbooks()
    assert source.last_sync_mode == "delta"  # the new token was stored


def test_throttling_and_server_errors_are_retried_honouring_retry_after(library, static_token, engine):
    library.faults += [
        Fault("/root/delta", 429, {"Retry-After": "1"}),
        Fault("/root/delta", 503, {"Retry-After": "0"}),
        Fault("/root/delta", 500),
        Fault("/drives", 504),
    ]
    refs = make_source(library, static_token, engine).list_workbooks()

    assert len(refs) == 4 and not library.faults
    deltas = delta_requests(library)
    throttled = next(i for i, r in enumerate(deltas) if r.status == 429)
    assert deltas[throttled + 1].at - deltas[throttled].at >= 0.95  # waited the Retry-After second
    assert [r.status for r in deltas[:4]] == [429, 503, 500, 200]


def test_retries_are_bounded(library, static_token, engine):
    library.faults += [Fault("/root/delta", 503, {"Retry-After": "0"}) for _ in range(5)]
    source = make_source(library, static_token, engine, retry=HttpRetrySettings(max_attempts=3, backoff_base=0.01))
    with pytest.raises(GraphError) as err:
        source.list_workbooks()
    assert err.value.status == 503 and "after 3 attempts" in str(err.value)
    assert len(delta_requests(library)) == 3


def test_connection_errors_are_retried_then_reported(static_token):
    client = GraphClient(
        static_token, "http://127.0.0.1:9/v1.0", HttpRetrySettings(max_attempts=2, backoff_base=0.01)
    )
    with pytest.raises(GraphError, match="failed after 2 attempts: ConnectionError"):
        client.get_json("sites/x")


def test_download_follows_the_redirect_without_the_authorization_header(library, static_token, engine):
    source = make_source(library, static_token, engine)
    ref = next(r for r in source.list_workbooks() if r.customer_in_file_name == "TITLE 9")

    assert source.read_bytes(ref) == WORKBOOKS[ref.path]
    fresh = make_source(library, static_token, engine)  # never listed: resolves the item by path
    assert fresh.read_bytes(ref) == WORKBOOKS[ref.path]

    content_calls = [r for r in library.requests if r.path.endswith("/content")]
    assert content_calls and all(
        r.headers["Authorization"] == "Bearer static-test-token" for r in content_calls
    )
    downloads = library.download_server.requests
    assert len(downloads) == 2 and all("Authorization" not in r.headers for r in downloads)
    assert all(r.status == 200 for r in downloads)


def test_download_host_rejects_leaked_authorization(library):
    """The fake download host really refuses an Authorization header (guards the test above)."""
    item = next(i for i in library.content)
    url = f"{library.download_server.url}/download/{item}?tempauth={library.TEMPAUTH}"
    assert requests.get(url, headers={"Authorization": "Bearer x"}, timeout=5).status_code == 401
    assert requests.get(url, timeout=5).status_code == 200


def test_configuration_errors_are_explicit(library, static_token, engine):
    wrong_library = SharePointSource(
        f"https://{library.HOST}{library.SITE_PATH}",
        "Orders Library",
        [],
        static_token,
        graph_base_url=library.base_url,
        retry=FAST,
    )
    with pytest.raises(GraphError, match=r"no document library named 'Orders Library'.*Site Assets"):
        wrong_library.list_workbooks()
    missing_folder = SharePointSource(
        f"https://{library.HOST}{library.SITE_PATH}",
        "Shared Documents",
        ["EU CUSTOMERS"],
        static_token,
        graph_base_url=library.base_url,
        retry=FAST,
    )
    with pytest.raises(GraphError, match="folder 'EU CUSTOMERS' not found"):
        missing_folder.list_workbooks()


def test_no_folders_means_the_whole_library(library, static_token):
    source = SharePointSource(
        f"https://{library.HOST}{library.SITE_PATH}",
        "Documents",
        [],
        static_token,
        graph_base_url=library.base_url,
        retry=FAST,
    )
    paths = {r.path for r in source.list_workbooks()}
    assert paths == set(WORKBOOKS) | {"_PAST Customers/OLD BRAND ORDER LIST (M3).xlsx"}


def test_a_retry_after_beyond_the_maximum_fails_at_once_and_holds_the_others(library, static_token, engine):
    from order_platform.throttle import LocalThrottle

    throttle = LocalThrottle()
    library.faults.append(Fault("/root/delta", 429, {"Retry-After": "600"}))
    source = make_source(library, static_token, engine, throttle=throttle)
    with pytest.raises(GraphError, match="asked to wait 600 s, more than GRAPH_MAX_RETRY_AFTER_SECONDS=2"):
        source.list_workbooks()
    assert throttle.remaining() > 590  # the other workers and runs are told to wait the full 10 minutes
