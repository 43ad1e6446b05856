"""AzureBlobStore against Azurite (the Azure Storage emulator), started by the `azurite` fixture."""

from __future__ import annotations

import base64
import hashlib
import uuid

import pytest
from azure.storage.blob import BlobServiceClient
from pydantic import SecretStr

from order_platform.ingest.azure_blob import XLSX_CONTENT_TYPE, AzureBlobStore
from order_platform.ingest.blob import content_hash
from order_platform.ingest.connectors import BlobSettings, ConnectorSettings, build_blob_store

NAME = "USA CUSTOMERS/GREYSON ORDER LIST (M3).xlsx"
META = {"source_path": NAME, "source_version": "qxh:abc=:10"}


@pytest.fixture
def container() -> str:
    return f"wb-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def store(azurite: str, container: str) -> AzureBlobStore:
    return AzureBlobStore(container, connection_string=SecretStr(azurite))


def test_upload_sets_md5_metadata_and_creates_the_container(azurite, container, store):
    service = BlobServiceClient.from_connection_string(azurite)
    assert not service.get_container_client(container).exists()
    data = b"PK\x03\x04 pretend workbook bytes"

    put = store.put_if_changed(NAME, data, META)

    assert put.uploaded and put.content_hash == content_hash(data) and put.size == len(data)
    props = service.get_blob_client(container, NAME).get_blob_properties()
    assert props.metadata == {**META, "content_hash": content_hash(data)}
    assert bytes(props.content_settings.content_md5) == hashlib.md5(data).digest()
    assert props.content_settings.content_type == XLSX_CONTENT_TYPE
    assert store.get(NAME) == data
    assert store.stored_hash(NAME) == content_hash(data)
    assert base64.b64encode(hashlib.md5(data).digest()).decode()  # sanity: MD5 is what Azure shows


def test_unchanged_content_is_not_uploaded_again(azurite, container, store):
    data = b"same bytes"
    store.put_if_changed(NAME, data, META)
    blob = BlobServiceClient.from_connection_string(azurite).get_blob_client(container, NAME)
    etag = blob.get_blob_properties().etag

    again = AzureBlobStore(container, connection_string=azurite).put_if_changed(
        NAME, data, {**META, "source_version": "etag:new:10"}
    )

    assert not again.uploaded
    assert blob.get_blob_properties().etag == etag  # untouched

    changed = store.put_if_changed(NAME, b"new bytes", META)
    assert changed.uploaded and blob.get_blob_properties().etag != etag
    assert store.get(NAME) == b"new bytes"


def test_missing_blob_and_non_ascii_metadata(store):
    assert store.stored_hash("nope.xlsx") is None
    put = store.put_if_changed(
        "EU/CAFÉ ORDER LIST (M3).xlsx", b"x", {"source path": "EU/CAFÉ ORDER LIST (M3).xlsx"}
    )
    assert put.uploaded and put.metadata["source_path"] == "EU/CAF%C3%89 ORDER LIST (M3).xlsx"
    assert store.get("EU/CAFÉ ORDER LIST (M3).xlsx") == b"x"


def test_factory_builds_the_azure_store_without_exposing_the_key(azurite, container):
    settings = ConnectorSettings(
        blob=BlobSettings(blob="azure", connection_string=SecretStr(azurite), container=container)
    )
    store = build_blob_store(settings, local_dir=None)  # type: ignore[arg-type]
    assert isinstance(store, AzureBlobStore)
    assert "AccountKey" not in store.describe() and container in store.describe()
    assert store.put_if_changed("a.xlsx", b"a", {}).uploaded
