"""The blob copy of each workbook: the interface, its embedded default (a local folder), the addressing.

The Azure Blob Storage implementation lives in `azure_blob.py`. Both store bytes under a name, keep
metadata beside them, and skip the upload when the content hash is unchanged.

Addressing (the same in every store):
- `workbooks/<sha256[:2]>/<sha256>.xlsx`: each distinct workbook content once, named by its hash, so
  a workbook moved to another folder or renamed is the same blob; metadata: customer, source path,
  eTag, source version and content hash of the upload that first stored it.
- `customers/<CUSTOMER>.json`: the pointer to the customer's last GOOD copy (the one its last
  successful load read), with the source path, eTag and hash of that load. Later layers rebuild from
  it; a load that fails never moves it, so a broken workbook never replaces the copy they read.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class BlobPut:
    name: str
    content_hash: str
    size: int
    uploaded: bool  # False when the stored content already had this hash
    metadata: dict[str, str] = field(default_factory=dict)


class BlobStore(Protocol):
    def put_if_changed(self, name: str, data: bytes, metadata: dict[str, str]) -> BlobPut: ...

    def get(self, name: str) -> bytes: ...

    def stored_hash(self, name: str) -> str | None: ...

    def describe(self) -> str: ...


class LocalBlobStore:
    """Blobs as files; metadata (including `content_hash`) in a JSON file beside each."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def describe(self) -> str:
        return f"folder {self.root}"

    def _paths(self, name: str) -> tuple[Path, Path]:
        path = self.root / name
        return path, path.with_name(path.name + ".meta.json")

    def stored_hash(self, name: str) -> str | None:
        _, meta_path = self._paths(name)
        if not meta_path.exists():
            return None
        return json.loads(meta_path.read_text()).get("content_hash")

    def put_if_changed(self, name: str, data: bytes, metadata: dict[str, str]) -> BlobPut:
        digest = content_hash(data)
        path, meta_path = self._paths(name)
        full_meta = {**metadata, "content_hash": digest}
        if self.stored_hash(name) == digest and path.exists():
            return BlobPut(name, digest, len(data), uploaded=False, metadata=full_meta)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        tmp.replace(path)
        meta_path.write_text(json.dumps(full_meta, indent=1))
        return BlobPut(name, digest, len(data), uploaded=True, metadata=full_meta)

    def get(self, name: str) -> bytes:
        return (self.root / name).read_bytes()

    def delete(self, name: str) -> None:
        for path in self._paths(name):
            path.unlink(missing_ok=True)


# -- addressing -----------------------------------------------------------------------------------
_UNSAFE = re.compile(r"[^A-Za-z0-9 ._()&'+-]")


def content_blob_name(digest: str) -> str:
    return f"workbooks/{digest[:2]}/{digest}.xlsx"


def pointer_name(customer: str) -> str:
    return f"customers/{_UNSAFE.sub('_', customer).strip() or '_'}.json"


def put_workbook(store: BlobStore, data: bytes, metadata: dict[str, str]) -> BlobPut:
    """Store the workbook under its content hash (not uploaded again when that content is there)."""
    return store.put_if_changed(content_blob_name(content_hash(data)), data, metadata)


def mark_good(store: BlobStore, customer: str, put: BlobPut) -> None:
    """Point the customer at this copy: its load succeeded, later layers may rebuild from it."""
    pointer = {
        "customer": customer,
        "blob": put.name,
        "content_hash": put.content_hash,
        "size": put.size,
        **{k: v for k, v in put.metadata.items() if k.startswith("source_")},
        "marked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    keep = {k: str(v) for k, v in pointer.items() if k not in ("marked_at", "size")}
    store.put_if_changed(pointer_name(customer), json.dumps(pointer, indent=1).encode(), keep)


def last_good(store: BlobStore, customer: str) -> dict[str, Any] | None:
    """The customer's pointer (blob name, content hash, source path, eTag...), None before its first load."""
    name = pointer_name(customer)
    if store.stored_hash(name) is None:
        return None
    return json.loads(store.get(name))


def forget_customer(store: BlobStore, customer: str) -> bool:
    """Drop the customer's pointer (retirement); content blobs stay (other customers may share them)."""
    delete = getattr(store, "delete", None)
    if delete is None or store.stored_hash(pointer_name(customer)) is None:
        return False
    delete(pointer_name(customer))
    return True
