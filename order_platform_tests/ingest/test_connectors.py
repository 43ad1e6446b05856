"""Settings from the environment, factories, and an end-to-end run configured only by env vars."""

from __future__ import annotations

import logging

import pytest
from pydantic import ValidationError

from order_platform.ingest.blob import LocalBlobStore
from order_platform.ingest.connectors import (
    BlobSettings,
    ConnectorSettings,
    GraphAuthSettings,
    SourceSettings,
    build_blob_store,
    build_source,
    build_token_provider,
    load_connector_settings,
    sharepoint_login,
)
from order_platform.ingest.sharepoint.library import SharePointSource
from order_platform.ingest.sharepoint.msal_auth import AppTokenProvider, DelegatedTokenProvider
from order_platform.ingest.source import LocalFolderSource
from order_platform.warehouse.state_store import DbStateStore
from order_platform_tests.ingest.conftest import CLIENT_ID, CLIENT_SECRET, TENANT

ENV_NAMES = [
    "ORDER_PLATFORM_SOURCE",
    "SHAREPOINT_SITE_URL",
    "SHAREPOINT_LIBRARY",
    "SHAREPOINT_FOLDERS",
    "GRAPH_BASE_URL",
    "GRAPH_MAX_ATTEMPTS",
    "GRAPH_BACKOFF_BASE_SECONDS",
    "GRAPH_BACKOFF_MAX_SECONDS",
    "GRAPH_MAX_RETRY_AFTER_SECONDS",
    "GRAPH_TIMEOUT_SECONDS",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_AUTHORITY_HOST",
    "SHAREPOINT_AUTH",
    "ORDER_PLATFORM_TOKEN_CACHE_KEY",
    "ORDER_PLATFORM_BLOB",
    "AZURE_STORAGE_CONNECTION_STRING",
    "AZURE_STORAGE_ACCOUNT_URL",
    "AZURE_STORAGE_CONTAINER",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)


def sharepoint_env(monkeypatch: pytest.MonkeyPatch, **extra: str) -> None:
    values = {
        "ORDER_PLATFORM_SOURCE": "SharePoint",
        "SHAREPOINT_SITE_URL": "https://contoso.sharepoint.com/sites/Orders",
        "SHAREPOINT_FOLDERS": "USA CUSTOMERS, AUS Customers/",
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": CLIENT_ID,
        "AZURE_CLIENT_SECRET": CLIENT_SECRET,
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_nothing_set_gives_the_local_defaults(tmp_path, engine):
    settings = load_connector_settings()
    assert settings.source.source == "local" and settings.blob.blob == "local"
    assert settings.source.library == "Documents" and settings.blob.container == "order-workbooks"
    assert settings.auth.authority_host == "https://login.microsoftonline.com"
    assert isinstance(build_source(settings, engine, tmp_path / "src"), LocalFolderSource)
    assert isinstance(build_blob_store(None, tmp_path / "blob"), LocalBlobStore)


def test_environment_is_parsed_and_secrets_are_masked(monkeypatch):
    sharepoint_env(
        monkeypatch,
        GRAPH_MAX_ATTEMPTS="3",
        AZURE_STORAGE_CONNECTION_STRING="AccountKey=k3y;x=y",
        ORDER_PLATFORM_BLOB="azure",
        ORDER_PLATFORM_TOKEN_CACHE_KEY="fernet-key-value",
    )
    settings = load_connector_settings()
    assert settings.source.source == "sharepoint"
    assert settings.source.folders == ["USA CUSTOMERS", "AUS Customers"]
    assert settings.source.max_attempts == 3
    assert settings.auth.client_secret.get_secret_value() == CLIENT_SECRET
    shown = repr(settings) + str(settings) + settings.model_dump_json()
    for secret in (CLIENT_SECRET, "k3y", "fernet-key-value"):
        assert secret not in shown


def test_folders_accept_a_json_list_for_names_with_commas(monkeypatch):
    monkeypatch.setenv("SHAREPOINT_FOLDERS", '["EU, UK CUSTOMERS", "USA CUSTOMERS"]')
    assert SourceSettings().folders == ["EU, UK CUSTOMERS", "USA CUSTOMERS"]


def test_incomplete_settings_name_the_missing_variables_without_secrets(monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_SOURCE", "sharepoint")
    monkeypatch.setenv("AZURE_CLIENT_SECRET", CLIENT_SECRET)
    monkeypatch.setenv("ORDER_PLATFORM_BLOB", "azure")
    with pytest.raises(ValidationError) as err:
        load_connector_settings()
    text = str(err.value)
    for name in (
        "SHAREPOINT_SITE_URL",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_STORAGE_CONNECTION_STRING",
    ):
        assert name in text
    assert CLIENT_SECRET not in text


def test_bad_value_error_hides_the_input(monkeypatch):
    monkeypatch.setenv("ORDER_PLATFORM_BLOB", "s3://bucket?key=very-secret")
    with pytest.raises(ValidationError) as err:
        BlobSettings()
    assert "very-secret" not in str(err.value)


def test_delegated_mode_needs_a_cache_key(monkeypatch, engine):
    sharepoint_env(monkeypatch, SHAREPOINT_AUTH="delegated")
    monkeypatch.delenv("AZURE_CLIENT_SECRET")
    with pytest.raises(ValidationError, match="ORDER_PLATFORM_TOKEN_CACHE_KEY"):
        load_connector_settings()
    monkeypatch.setenv("ORDER_PLATFORM_TOKEN_CACHE_KEY", "zmZ7Ax0VQ0cYbq8p0v3fWBf6J1a1fK8u2nX9D0k7mCw=")
    assert isinstance(build_token_provider(load_connector_settings(), engine), DelegatedTokenProvider)


def test_sharepoint_from_environment_end_to_end(monkeypatch, identity, graph, engine, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    sharepoint_env(
        monkeypatch,
        GRAPH_BASE_URL=graph.base_url,
        AZURE_AUTHORITY_HOST=identity.url,
        GRAPH_BACKOFF_BASE_SECONDS="0.01",
    )
    graph.put_file("USA CUSTOMERS/West/GREYSON ORDER LIST (M3).xlsx", b"greyson")
    graph.put_file("AUS Customers/LORNA JANE (AU) ORDER LIST (M3).xlsx", b"lorna")

    settings = load_connector_settings()
    assert isinstance(build_token_provider(settings, engine), AppTokenProvider)
    source = build_source(settings, engine, tmp_path / "unused")
    assert isinstance(source, SharePointSource)
    refs = source.list_workbooks()
    assert [r.path for r in refs] == [
        "AUS Customers/LORNA JANE (AU) ORDER LIST (M3).xlsx",
        "USA CUSTOMERS/West/GREYSON ORDER LIST (M3).xlsx",
    ]
    assert source.read_bytes(refs[1]) == b"greyson"
    key = "sharepoint.delta:https://contoso.sharepoint.com/sites/orders:documents"
    assert DbStateStore(engine, key).get()
    for secret in (CLIENT_SECRET, *identity.issued_tokens, graph.TEMPAUTH):
        assert secret not in caplog.text


def test_login_command_refuses_app_mode(engine):
    settings = ConnectorSettings(auth=GraphAuthSettings(mode="app"))
    with pytest.raises(ValueError, match="SHAREPOINT_AUTH=delegated"):
        sharepoint_login(settings, engine)
