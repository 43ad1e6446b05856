"""Connector settings (SharePoint source, Graph auth, Azure Blob) from the environment, and factories.

With nothing set, the factories return the embedded defaults: a local folder of workbooks and a
local blob folder. Secrets are SecretStr (masked in repr) and hidden from validation errors.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

import sqlalchemy as sa
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from order_platform.ingest.blob import BlobStore, LocalBlobStore
from order_platform.ingest.sharepoint.endpoints import DEFAULT_AUTHORITY_HOST, DEFAULT_GRAPH_BASE_URL
from order_platform.ingest.source import LocalFolderSource, WorkbookSource
from order_platform.throttle import shared_throttle

if TYPE_CHECKING:  # the connectors load only when configured: msal and azure take a second to import
    from order_platform.ingest.sharepoint.msal_auth import DelegatedTokenProvider, TokenProvider


_CONFIG = SettingsConfigDict(extra="ignore", populate_by_name=True, hide_input_in_errors=True)


def _lower(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


class SourceSettings(BaseSettings):
    """Where workbooks come from: ORDER_PLATFORM_SOURCE, SHAREPOINT_*, GRAPH_*."""

    model_config = _CONFIG

    source: Literal["local", "sharepoint"] = Field("local", alias="ORDER_PLATFORM_SOURCE")
    site_url: str | None = Field(None, alias="SHAREPOINT_SITE_URL")
    library: str = Field("Documents", alias="SHAREPOINT_LIBRARY")
    folders: Annotated[list[str], NoDecode] = Field(default_factory=list, alias="SHAREPOINT_FOLDERS")
    graph_base_url: str = Field(DEFAULT_GRAPH_BASE_URL, alias="GRAPH_BASE_URL")
    max_attempts: int = Field(6, ge=1, le=20, alias="GRAPH_MAX_ATTEMPTS")
    backoff_base_seconds: float = Field(0.5, ge=0, alias="GRAPH_BACKOFF_BASE_SECONDS")
    backoff_max_seconds: float = Field(30.0, ge=0, alias="GRAPH_BACKOFF_MAX_SECONDS")
    max_retry_after_seconds: float = Field(120.0, ge=0, alias="GRAPH_MAX_RETRY_AFTER_SECONDS")
    timeout_seconds: float = Field(120.0, gt=0, alias="GRAPH_TIMEOUT_SECONDS")

    _lower_source = field_validator("source", mode="before")(_lower)
    _blank = field_validator("site_url", mode="before")(_blank_to_none)

    @field_validator("folders", mode="before")
    @classmethod
    def _split_folders(cls, value: Any) -> Any:
        """Comma-separated (`USA CUSTOMERS,AUS Customers`) or a JSON list when a name has a comma."""
        if isinstance(value, str):
            text = value.strip()
            items = json.loads(text) if text.startswith("[") else text.split(",")
            return [str(item).strip().strip("/") for item in items if str(item).strip().strip("/")]
        return value

    @field_validator("graph_base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class GraphAuthSettings(BaseSettings):
    """Identity for Graph: AZURE_TENANT_ID/CLIENT_ID/CLIENT_SECRET/AUTHORITY_HOST, SHAREPOINT_AUTH."""

    model_config = _CONFIG

    tenant_id: str | None = Field(None, alias="AZURE_TENANT_ID")
    client_id: str | None = Field(None, alias="AZURE_CLIENT_ID")
    client_secret: SecretStr | None = Field(None, alias="AZURE_CLIENT_SECRET")
    authority_host: str = Field(DEFAULT_AUTHORITY_HOST, alias="AZURE_AUTHORITY_HOST")
    mode: Literal["app", "delegated"] = Field("app", alias="SHAREPOINT_AUTH")
    token_cache_key: SecretStr | None = Field(None, alias="ORDER_PLATFORM_TOKEN_CACHE_KEY")

    _lower_mode = field_validator("mode", mode="before")(_lower)
    _blank = field_validator("tenant_id", "client_id", "client_secret", "token_cache_key", mode="before")(
        _blank_to_none
    )


class BlobSettings(BaseSettings):
    """Where workbook copies go: ORDER_PLATFORM_BLOB, AZURE_STORAGE_*."""

    model_config = _CONFIG

    blob: Literal["local", "azure"] = Field("local", alias="ORDER_PLATFORM_BLOB")
    connection_string: SecretStr | None = Field(None, alias="AZURE_STORAGE_CONNECTION_STRING")
    account_url: str | None = Field(None, alias="AZURE_STORAGE_ACCOUNT_URL", repr=False)
    container: str = Field("order-workbooks", alias="AZURE_STORAGE_CONTAINER")

    _lower_blob = field_validator("blob", mode="before")(_lower)
    _blank = field_validator("connection_string", "account_url", mode="before")(_blank_to_none)


class ConnectorSettings(BaseModel):
    """All connector settings; validates the combinations each mode needs."""

    model_config = {"hide_input_in_errors": True}

    source: SourceSettings = Field(default_factory=SourceSettings)
    auth: GraphAuthSettings = Field(default_factory=GraphAuthSettings)
    blob: BlobSettings = Field(default_factory=BlobSettings)

    @model_validator(mode="after")
    def _check(self) -> ConnectorSettings:
        missing: list[str] = []
        if self.source.source == "sharepoint":
            if not self.source.site_url:
                missing.append("SHAREPOINT_SITE_URL")
            if not self.auth.tenant_id:
                missing.append("AZURE_TENANT_ID")
            if not self.auth.client_id:
                missing.append("AZURE_CLIENT_ID")
            if self.auth.mode == "app" and self.auth.client_secret is None:
                missing.append("AZURE_CLIENT_SECRET (or SHAREPOINT_AUTH=delegated)")
            if self.auth.mode == "delegated" and self.auth.token_cache_key is None:
                missing.append("ORDER_PLATFORM_TOKEN_CACHE_KEY")
        if self.blob.blob == "azure" and not (self.blob.connection_string or self.blob.account_url):
            missing.append("AZURE_STORAGE_CONNECTION_STRING or AZURE_STORAGE_ACCOUNT_URL")
        if missing:
            raise ValueError("connector settings incomplete; set " + ", ".join(missing))
        return self


def load_connector_settings() -> ConnectorSettings:
    return ConnectorSettings()


def _state_key(prefix: str, *parts: str) -> str:
    key = f"{prefix}:" + ":".join(p.strip().lower() for p in parts)
    return key if len(key) <= 200 else f"{prefix}:{hashlib.sha256(key.encode()).hexdigest()}"


def _delegated_provider(settings: ConnectorSettings, engine: sa.Engine) -> DelegatedTokenProvider:
    from order_platform.ingest.sharepoint.msal_auth import DelegatedTokenProvider, EncryptedCacheStore
    from order_platform.warehouse.state_store import DbStateStore

    auth = settings.auth
    if not (auth.tenant_id and auth.client_id and auth.token_cache_key):
        raise ValueError(
            "delegated Graph auth needs AZURE_TENANT_ID, AZURE_CLIENT_ID and ORDER_PLATFORM_TOKEN_CACHE_KEY"
        )
    store = DbStateStore(engine, _state_key("msal.token_cache", auth.tenant_id, auth.client_id))
    return DelegatedTokenProvider(
        auth.tenant_id,
        auth.client_id,
        EncryptedCacheStore(store, auth.token_cache_key),
        authority_host=auth.authority_host,
    )


def build_token_provider(settings: ConnectorSettings, engine: sa.Engine) -> TokenProvider:
    from order_platform.ingest.sharepoint.msal_auth import AppTokenProvider

    auth = settings.auth
    if auth.mode == "delegated":
        return _delegated_provider(settings, engine)
    if not (auth.tenant_id and auth.client_id and auth.client_secret):
        raise ValueError("app-only Graph auth needs AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET")
    return AppTokenProvider(
        auth.tenant_id,
        auth.client_id,
        auth.client_secret,
        authority_host=auth.authority_host,
        throttle=shared_throttle(f"identity:{_host(auth.authority_host)}", engine),
    )


def _host(url: str) -> str:
    return (urlsplit(url if "://" in url else f"https://{url}").netloc or url).lower()


def build_source(settings: ConnectorSettings | None, engine: sa.Engine, local_dir: Path) -> WorkbookSource:
    """The configured WorkbookSource; a local folder unless ORDER_PLATFORM_SOURCE=sharepoint."""
    settings = settings or load_connector_settings()
    src = settings.source
    if src.source == "local":
        return LocalFolderSource(local_dir)
    assert src.site_url  # checked by ConnectorSettings
    from order_platform.ingest.sharepoint.http import HttpRetrySettings
    from order_platform.ingest.sharepoint.library import SharePointSource
    from order_platform.warehouse.state_store import DbStateStore

    return SharePointSource(
        src.site_url,
        src.library,
        src.folders,
        build_token_provider(settings, engine),
        state_store=DbStateStore(engine, _state_key("sharepoint.delta", src.site_url, src.library)),
        graph_base_url=src.graph_base_url,
        retry=HttpRetrySettings(
            max_attempts=src.max_attempts,
            backoff_base=src.backoff_base_seconds,
            backoff_max=src.backoff_max_seconds,
            max_retry_after=src.max_retry_after_seconds,
            read_timeout=src.timeout_seconds,
        ),
        # Graph and the SharePoint download host are one tenant: one wait for every worker and pod.
        throttle=shared_throttle(f"graph:{_host(src.graph_base_url)}", engine),
    )


def build_blob_store(settings: ConnectorSettings | None, local_dir: Path) -> BlobStore:
    """The configured BlobStore; a local folder unless ORDER_PLATFORM_BLOB=azure."""
    settings = settings or load_connector_settings()
    blob = settings.blob
    if blob.blob == "local":
        return LocalBlobStore(local_dir)
    from order_platform.ingest.azure_blob import AzureBlobStore

    return AzureBlobStore(
        blob.container, connection_string=blob.connection_string, account_url=blob.account_url
    )


def sharepoint_login(
    settings: ConnectorSettings | None, engine: sa.Engine, echo: Callable[[str], None] = print
) -> str:
    """Body of `order-platform sharepoint-login`: device-code sign-in, stored encrypted in the database."""
    settings = settings or load_connector_settings()
    if settings.auth.mode != "delegated":
        raise ValueError("sharepoint-login is only needed with SHAREPOINT_AUTH=delegated")
    from order_platform.ingest.sharepoint.msal_auth import device_code_login

    return device_code_login(_delegated_provider(settings, engine), echo=echo)
