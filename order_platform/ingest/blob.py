"""The blob copy of each workbook: the interface and its embedded default (a local folder).

The Azure Blob Storage implementation lives in `azure_blob.py`. Both store the bytes under a
name, keep metadata beside them, and skip the upload when the content hash is unchanged.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


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
