"""Customer workbooks in a SharePoint document library, through Microsoft Graph.

Nothing is hard-coded: the site id comes from the site URL, the drive from the library name,
the folders from their paths. Listing uses the drive delta query: the first run enumerates the
library once, later runs fetch only what changed since the stored deltaLink (HTTP 410 = the
token expired: enumerate again). Delta responses in SharePoint carry no `parentReference.path`,
so the source keeps a small map of folders and workbook files by id (state store, JSON) and
computes paths itself. Listing never downloads content; `WorkbookRef.version` comes from the
quickXorHash (else the eTag) plus the size.
"""

from __future__ import annotations

import email.utils
import json
import logging
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit

import requests

from order_platform.ingest.endpoints import DEFAULT_GRAPH_BASE_URL
from order_platform.ingest.msal_auth import TokenProvider
from order_platform.ingest.source import WorkbookRef, customer_in_workbook_name
from order_platform.warehouse.state_store import MemoryStateStore, StateStore

log = logging.getLogger(__name__)

DELTA_SELECT = "id,name,eTag,size,lastModifiedDateTime,parentReference,file,folder,deleted,root"
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_STATE_FORMAT = 1


@dataclass(frozen=True)
class RetryPolicy:
    """How hard to try one Graph request. Retry-After (429/503) wins over the backoff."""

    max_attempts: int = 6
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1), full jitter
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # cap on a server-requested wait
    connect_timeout: float = 10.0
    read_timeout: float = 120.0

    def backoff(self, attempt: int) -> float:
        return random.uniform(0, min(self.backoff_max, self.backoff_base * 2 ** (attempt - 1)))


class GraphError(RuntimeError):
    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ResyncRequired(GraphError):
    """HTTP 410 on a delta link: the token is too old; start over with a full enumeration."""


def redact(url: str) -> str:
    """Scheme, host and path only: query strings can carry tokens (pre-authenticated download URLs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


_SECRET_QUERY = re.compile(r"(?i)\b(tempauth|sig|access_token|client_secret)=[^&\s\"']+")


class _RedactSecretsFilter(logging.Filter):
    """urllib3 logs each request line (query included) at DEBUG; pre-authenticated download URLs
    carry a `tempauth` token there. Mask such parameters before any handler sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _SECRET_QUERY.sub(r"\1=REDACTED", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def _install_log_redaction() -> None:
    pool_log = logging.getLogger("urllib3.connectionpool")
    if not any(isinstance(f, _RedactSecretsFilter) for f in pool_log.filters):
        pool_log.addFilter(_RedactSecretsFilter())


def _retry_after(resp: requests.Response) -> float | None:
    value = resp.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, (when - datetime.now(UTC)).total_seconds())


def _graph_error(resp: requests.Response, what: str) -> GraphError:
    code = message = None
    try:
        err = resp.json().get("error") or {}
        code, message = err.get("code"), err.get("message")
    except ValueError:
        pass
    text = f"{what} answered HTTP {resp.status_code}"
    if code or message:
        text += f" ({code}: {message})"
    cls = ResyncRequired if resp.status_code == 410 else GraphError
    return cls(text, status=resp.status_code, code=code)


class GraphClient:
    """GET-only Graph client with bounded retries; the bearer token goes to Graph and nowhere else."""

    def __init__(
        self,
        token_provider: TokenProvider,
        base_url: str = DEFAULT_GRAPH_BASE_URL,
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.session = session or requests.Session()
        self.sleep = sleep
        _install_log_redaction()

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def send(self, url: str, *, params: dict[str, Any] | None = None, auth: bool = True) -> requests.Response:
        """One GET with retries on 429/5xx/connection errors; other statuses are returned as they are."""
        policy = self.retry
        for attempt in range(1, policy.max_attempts + 1):
            headers = {"Accept": "application/json"}
            if auth:
                headers["Authorization"] = f"Bearer {self.token_provider.get_token()}"
            log.debug("GET %s (attempt %d)", redact(url), attempt)
            try:
                resp = self.session.get(
                    url,
                    params=params,
                    headers=headers,
                    timeout=(policy.connect_timeout, policy.read_timeout),
                    allow_redirects=False,
                )
            except (requests.ConnectionError, requests.Timeout) as exc:
                if attempt >= policy.max_attempts:
                    raise GraphError(
                        f"GET {redact(url)} failed after {attempt} attempts: {type(exc).__name__}"
                    ) from None
                delay = policy.backoff(attempt)
                log.warning("GET %s: %s; retrying in %.2fs", redact(url), type(exc).__name__, delay)
                self.sleep(delay)
                continue
            if resp.status_code not in _RETRY_STATUSES:
                return resp
            if attempt >= policy.max_attempts:
                raise _graph_error(resp, f"GET {redact(url)} (after {attempt} attempts)")
            delay = _retry_after(resp) if resp.status_code in (429, 503) else None
            delay = policy.backoff(attempt) if delay is None else min(delay, policy.max_retry_after)
            log.warning(
                "GET %s answered %d; retrying in %.2fs (attempt %d/%d)",
                redact(url),
                resp.status_code,
                delay,
                attempt,
                policy.max_attempts,
            )
            resp.close()
            self.sleep(delay)
        raise AssertionError("unreachable")  # pragma: no cover

    def get_json(self, path_or_url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.url(path_or_url)
        resp = self.send(url, params=params)
        if not 200 <= resp.status_code < 300:
            raise _graph_error(resp, f"GET {redact(url)}")
        return resp.json()

    def pages(self, path_or_url: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following @odata.nextLink (which already carries the query)."""
        page = self.get_json(path_or_url, params)
        yield page
        while next_link := page.get("@odata.nextLink"):
            page = self.get_json(next_link)
            yield page

    def values(self, path_or_url: str, params: dict[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        for page in self.pages(path_or_url, params):
            yield from page.get("value", [])

    def download(self, path_or_url: str) -> bytes:
        """GET .../content: Graph answers 302 to a pre-authenticated URL, fetched without our token."""
        url = self.url(path_or_url)
        resp = self.send(url)
        if resp.status_code in (301, 302, 303, 307, 308):
            location = resp.headers.get("Location")
            if not location:
                raise GraphError(f"GET {redact(url)} redirected without a Location", status=resp.status_code)
            target = urljoin(url, location)
            resp = self.send(target, auth=False)
            url = target
        if not 200 <= resp.status_code < 300:
            raise _graph_error(resp, f"GET {redact(url)}")
        return resp.content


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
        retry: RetryPolicy | None = None,
        session: requests.Session | None = None,
        delta_select: str | None = DELTA_SELECT,
        page_size: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
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
        self.graph = GraphClient(token_provider, graph_base_url, retry, session, sleep)
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
