"""Workbook copies in Azure Blob Storage (the production BlobStore).

Each blob carries Content-MD5 (checked by the service on upload, shown by tools) and metadata:
the caller's (source path, eTag, source version, ...) plus `content_hash` (sha256). An upload is
skipped when the stored `content_hash` already equals the new one. Names follow blob.py's
addressing (content-addressed workbooks, one pointer per customer to its last good copy).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import mimetypes
import re
from typing import Any
from urllib.parse import quote, urlsplit

from azure.core.exceptions import ResourceExistsError, ResourceNotFoundError
from azure.storage.blob import BlobClient, BlobServiceClient, ContentSettings
from pydantic import SecretStr

from order_platform.ingest.blob import BlobPut, content_hash

log = logging.getLogger(__name__)

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_KEY_INVALID = re.compile(r"[^A-Za-z0-9_]")


def _content_type(name: str) -> str:
    if name.lower().endswith(".xlsx"):
        return XLSX_CONTENT_TYPE
    return mimetypes.guess_type(name)[0] or "application/octet-stream"


def _metadata_key(key: str) -> str:
    """Azure metadata names must be C# identifiers."""
    cleaned = _KEY_INVALID.sub("_", key.strip())
    return cleaned if cleaned and not cleaned[0].isdigit() else f"_{cleaned}"


def _metadata_value(value: Any) -> str:
    """Metadata travels in HTTP headers (ASCII): percent-encode anything else, e.g. accented names."""
    text = str(value)
    if text.isascii() and text.isprintable():
        return text
    return quote(text, safe=" !#$&'()*+,-./:;=?@[]^_`{|}~")


class AzureBlobStore:
    """BlobStore over one Azure Blob container (created when missing)."""

    def __init__(
        self,
        container: str,
        *,
        connection_string: SecretStr | str | None = None,
        account_url: str | None = None,
        credential: Any = None,
        prefix: str = "",
        create_container: bool = True,
        max_concurrency: int = 4,
        service_client: BlobServiceClient | None = None,
    ) -> None:
        if service_client is not None:
            self.service = service_client
        elif connection_string is not None:
            conn = (
                connection_string.get_secret_value()
                if isinstance(connection_string, SecretStr)
                else connection_string
            )
            self.service = BlobServiceClient.from_connection_string(conn)
        elif account_url:
            if credential is None:  # managed identity, workload identity, az login, AZURE_* env
                from azure.identity import DefaultAzureCredential

                credential = DefaultAzureCredential()
            self.service = BlobServiceClient(account_url, credential=credential)
        else:
            raise ValueError("AzureBlobStore needs a connection string or an account URL")
        self.container_name = container
        self.container = self.service.get_container_client(container)
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        self.create_container = create_container
        self.max_concurrency = max_concurrency
        self._container_ready = False

    def describe(self) -> str:
        parts = urlsplit(self.service.url)
        return f"azure blob {parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/{self.container_name}"

    def _blob(self, name: str) -> BlobClient:
        return self.container.get_blob_client(self.prefix + name.lstrip("/"))

    def _ensure_container(self) -> None:
        if self._container_ready or not self.create_container:
            return
        try:
            self.container.create_container()
            log.info("created blob container %s", self.container_name)
        except ResourceExistsError:
            pass
        self._container_ready = True

    def stored_hash(self, name: str) -> str | None:
        try:
            props = self._blob(name).get_blob_properties()
        except ResourceNotFoundError:
            return None
        return props.metadata.get("content_hash")

    def put_if_changed(self, name: str, data: bytes, metadata: dict[str, str]) -> BlobPut:
        digest = content_hash(data)
        full_meta = {_metadata_key(k): _metadata_value(v) for k, v in metadata.items()}
        full_meta["content_hash"] = digest
        self._ensure_container()
        if self.stored_hash(name) == digest:
            log.debug("blob %s unchanged (sha256 %s); not uploaded", name, digest[:12])
            return BlobPut(name, digest, len(data), uploaded=False, metadata=full_meta)
        md5 = hashlib.md5(data).digest()  # integrity check, not security
        self._blob(name).upload_blob(
            data,
            overwrite=True,
            metadata=full_meta,
            content_settings=ContentSettings(content_type=_content_type(name), content_md5=bytearray(md5)),
            validate_content=True,
            max_concurrency=self.max_concurrency,
        )
        log.info("uploaded blob %s (%d bytes)", name, len(data))
        return BlobPut(name, digest, len(data), uploaded=True, metadata=full_meta)

    def get(self, name: str) -> bytes:
        return self._blob(name).download_blob(max_concurrency=self.max_concurrency).readall()

    def delete(self, name: str) -> None:
        with contextlib.suppress(ResourceNotFoundError):
            self._blob(name).delete_blob()
