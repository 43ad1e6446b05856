"""Customer workbooks in a SharePoint document library, through Microsoft Graph.

Nothing is hard-coded: the site id comes from the site URL, the drive from the library name,
the folders from their paths. Listing uses the drive delta query: the first run enumerates the
library once, later runs fetch only what changed since the stored deltaLink (HTTP 410 = the
token expired: enumerate again). Delta responses in SharePoint carry no `parentReference.path`,
so the source keeps a small map of folders and workbook files by id (state store, JSON) and
computes paths itself. Listing never downloads content; `WorkbookRef.version` comes from the
quickXorHash (else the eTag) plus the size. HTTP (retries, the shared throttle, token renewal on 401)
lives in graph_client.py and http.py.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import requests

from order_platform.ingest.sharepoint.endpoints import DEFAULT_GRAPH_BASE_URL
from order_platform.ingest.sharepoint.graph_client import GraphClient, GraphError, ResyncRequired
from order_platform.ingest.sharepoint.http import HttpRetrySettings
from order_platform.ingest.sharepoint.msal_auth import TokenProvider
from order_platform.ingest.source import WorkbookRef, customer_in_workbook_name
from order_platform.throttle import Throttle
from order_platform.warehouse.state_store import MemoryStateStore, StateStore

__all__ = ["DriveState", "GraphClient", "GraphError", "SharePointSource", "workbook_version"]

log = logging.getLogger(__name__)

DELTA_SELECT = "id,name,eTag,size,lastModifiedDateTime,parentReference,file,folder,deleted,root"
_STATE_FORMAT = 1


def _item_path(path: str) -> str:
    return quote(path.strip("/"), safe="/")


def _parse_time(value: str | None) -> datetime:
    if not value:
        return datetime.fromtimestamp(0, tz=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class DriveState:
    """What the delta feed has told us: folders and workbook files by id, plus the deltaLink."""

    def __init__(
        self,
        drive_id: str,
        delta_link: str | None = None,
        root_id: str | None = None,
        items: dict[str, dict[str, Any]] | None = None,
    ) -> None:
        self.drive_id = drive_id
        self.delta_link = delta_link
        self.root_id = root_id
        self.items: dict[str, dict[str, Any]] = items or {}

    @classmethod
    def load(cls, raw: str | None, drive_id: str) -> DriveState:
        if raw:
            try:
                data = json.loads(raw)
                if data.get("format") == _STATE_FORMAT and data.get("drive_id") == drive_id:
                    return cls(drive_id, data.get("delta_link"), data.get("root_id"), data.get("items"))
            except (ValueError, AttributeError):
                log.warning("ignoring unreadable SharePoint delta state; enumerating again")
        return cls(drive_id)

    def dump(self) -> str:
        return json.dumps(
            {
                "format": _STATE_FORMAT,
                "drive_id": self.drive_id,
                "delta_link": self.delta_link,
                "root_id": self.root_id,
                "items": self.items,
            },
            separators=(",", ":"),
        )

    def apply(self, item: dict[str, Any]) -> None:
        """One delta entry; the last occurrence of an id wins, as Graph documents."""
        item_id = item["id"]
        if "deleted" in item:
            self.items.pop(item_id, None)
            return
        if "root" in item:
            self.root_id = item_id
            return
        name = item.get("name", "")
        parent = (item.get("parentReference") or {}).get("id")
        if "folder" in item:
            self.items[item_id] = {"name": name, "parent": parent, "folder": True}
        elif "file" in item and customer_in_workbook_name(name) is not None:
            hashes = item["file"].get("hashes") or {}
            self.items[item_id] = {
                "name": name,
                "parent": parent,
                "size": int(item.get("size") or 0),
                "etag": item.get("eTag"),
                "qxh": hashes.get("quickXorHash"),
                "modified": item.get("lastModifiedDateTime"),
            }
        else:  # another kind of file, or a workbook renamed to something else
            self.items.pop(item_id, None)

    def ancestry(self, item_id: str) -> list[str] | None:
        """Ids from the item up to (excluding) the root; None when the chain is broken."""
        chain: list[str] = []
        current: str | None = item_id
        while current != self.root_id:
            if current is None or current not in self.items or len(chain) > 256:
                return None
            chain.append(current)
            current = self.items[current]["parent"]
        return chain

    def prune(self) -> None:
        """Forget items whose parent chain no longer reaches the root (inside deleted folders)."""
        if self.root_id is not None:
            self.items = {i: v for i, v in self.items.items() if self.ancestry(i) is not None}

    def path(self, chain: list[str]) -> str:
        return "/".join(self.items[i]["name"] for i in reversed(chain))


def workbook_version(qxh: str | None, etag: str | None, size: int) -> str:
    """quickXorHash is content-only (a rename keeps it); the eTag is the fallback."""
    return f"qxh:{qxh}:{size}" if qxh else f"etag:{etag}:{size}"


class SharePointSource:
    """WorkbookSource over Microsoft Graph: `* ORDER LIST (M3).xlsx` under the configured folders."""

    def __init__(
        self,
        site_url: str,
        library: str,
        folders: Iterable[str],
        token_provider: TokenProvider,
        *,
        state_store: StateStore | None = None,
        graph_base_url: str = DEFAULT_GRAPH_BASE_URL,
        retry: HttpRetrySettings | None = None,
        session: requests.Session | None = None,
        delta_select: str | None = DELTA_SELECT,
        page_size: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle: Throttle | None = None,
    ) -> None:
        parts = urlsplit(site_url.strip())
        if not parts.hostname:
            raise ValueError(f"SharePoint site URL needs a host: {site_url!r}")
        self.site_url = site_url.strip().rstrip("/")
        self.hostname = parts.hostname
        self.site_path = parts.path.rstrip("/")
        self.library = library
        self.folders = [f.strip().strip("/") for f in folders if f.strip().strip("/")]
        self.state_store: StateStore = state_store or MemoryStateStore()
        self.delta_select = delta_select
        self.page_size = page_size
        self.graph = GraphClient(token_provider, graph_base_url, retry, session, sleep, throttle)
        self._site_id: str | None = None
        self._drive_id: str | None = None
        self._ids_by_path: dict[str, str] = {}
        self.last_sync_mode: str | None = None  # "full" or "delta", for logs and tests

    def describe(self) -> str:
        where = ", ".join(self.folders) if self.folders else "(whole library)"
        return f"SharePoint {self.site_url} library {self.library!r} folders {where}"

    # -- resolution -----------------------------------------------------------------------------
    def site_id(self) -> str:
        if self._site_id is None:
            ref = (
                f"sites/{self.hostname}:{quote(self.site_path)}"
                if self.site_path
                else f"sites/{self.hostname}"
            )
            self._site_id = self.graph.get_json(ref, {"$select": "id,webUrl"})["id"]
        return self._site_id

    def drive_id(self) -> str:
        if self._drive_id is None:
            wanted = self.library.strip().casefold()
            seen: list[str] = []
            for drive in self.graph.values(f"sites/{self.site_id()}/drives", {"$select": "id,name,webUrl"}):
                # The default library is named "Documents" but its URL says "Shared Documents".
                url_name = urlsplit(drive.get("webUrl", "")).path.rstrip("/").rsplit("/", 1)[-1]
                names = {drive.get("name", "").casefold(), unquote(url_name).casefold()}
                seen.append(drive.get("name", "?"))
                if wanted in names:
                    self._drive_id = drive["id"]
                    break
            else:
                raise GraphError(
                    f"no document library named {self.library!r} in {self.site_url}; found {seen}"
                )
        return self._drive_id

    def folder_ids(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        for folder in self.folders:
            try:
                item = self.graph.get_json(
                    f"drives/{self.drive_id()}/root:/{_item_path(folder)}", {"$select": "id,name,folder"}
                )
            except GraphError as exc:
                if exc.status == 404:
                    raise GraphError(
                        f"folder {folder!r} not found in library {self.library!r}", 404
                    ) from None
                raise
            if "folder" not in item:
                raise GraphError(f"{folder!r} in library {self.library!r} is not a folder")
            ids[folder] = item["id"]
        return ids

    # -- delta ----------------------------------------------------------------------------------
    def _consume(self, state: DriveState, start: str, params: dict[str, Any] | None) -> int:
        count = 0
        url, query = start, params
        while True:
            page = self.graph.get_json(url, query)
            for item in page.get("value", []):
                state.apply(item)
                count += 1
            if next_link := page.get("@odata.nextLink"):
                url, query = next_link, None
                continue
            delta_link = page.get("@odata.deltaLink")
            if not delta_link:
                raise GraphError("delta feed ended without @odata.deltaLink")
            state.delta_link = delta_link
            return count

    def sync(self) -> DriveState:
        """Bring the stored drive state up to date (incremental when possible) and persist it."""
        drive_id = self.drive_id()
        state = DriveState.load(self.state_store.get(), drive_id)
        if state.delta_link:
            try:
                changes = self._consume(state, state.delta_link, None)
                self.last_sync_mode = "delta"
                log.info("SharePoint delta: %d changed entries", changes)
            except ResyncRequired:
                log.warning("SharePoint delta token expired (HTTP 410); enumerating the library again")
                state = DriveState(drive_id)
        if not state.delta_link:
            params: dict[str, Any] = {}
            if self.delta_select:
                params["$select"] = self.delta_select
            if self.page_size:
                params["$top"] = self.page_size
            entries = self._consume(state, f"drives/{drive_id}/root/delta", params or None)
            if state.root_id is None:  # some tenants omit the root entry; ask for it
                state.root_id = self.graph.get_json(f"drives/{drive_id}/root", {"$select": "id"})["id"]
            self.last_sync_mode = "full"
            log.info("SharePoint full enumeration: %d entries", entries)
        state.prune()
        self.state_store.set(state.dump())
        return state

    # -- WorkbookSource -------------------------------------------------------------------------
    def list_workbooks(self) -> list[WorkbookRef]:
        scope = set(self.folder_ids().values())
        state = self.sync()
        refs: list[WorkbookRef] = []
        ids_by_path: dict[str, str] = {}
        for item_id, item in state.items.items():
            if item.get("folder"):
                continue
            chain = state.ancestry(item_id)
            if chain is None or (scope and scope.isdisjoint(chain)):
                continue
            customer = customer_in_workbook_name(item["name"])
            if customer is None:
                continue
            path = state.path(chain)
            ids_by_path[path] = item_id
            refs.append(
                WorkbookRef(
                    customer_in_file_name=customer,
                    path=path,
                    size=item["size"],
                    modified=_parse_time(item.get("modified")),
                    version=workbook_version(item.get("qxh"), item.get("etag"), item["size"]),
                    etag=item.get("etag"),
                )
            )
        self._ids_by_path = ids_by_path
        log.info("SharePoint: %d workbooks in %s", len(refs), self.describe())
        return sorted(refs, key=lambda ref: ref.path)

    def read_bytes(self, ref: WorkbookRef) -> bytes:
        item_id = self._ids_by_path.get(ref.path)
        if item_id is None:  # not listed by this instance: resolve the path
            item_id = self.graph.get_json(
                f"drives/{self.drive_id()}/root:/{_item_path(ref.path)}", {"$select": "id"}
            )["id"]
        return self.graph.download(f"drives/{self.drive_id()}/items/{item_id}/content")
