"""Real HTTP servers on 127.0.0.1 (threads) that answer like Microsoft Graph and the identity platform.

Only the protocol is faked: the code under test talks to them over sockets exactly as it would
to graph.microsoft.com and login.microsoftonline.com.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import ipaddress
import itertools
import json
import secrets
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

Reply = tuple[int, dict[str, str], bytes]


@dataclass
class Request:
    at: float
    method: str
    path: str  # decoded path
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int = 0


def json_reply(status: int, payload: Any, headers: dict[str, str] | None = None) -> Reply:
    return status, {"Content-Type": "application/json", **(headers or {})}, json.dumps(payload).encode()


class LocalServer:
    """A ThreadingHTTPServer on 127.0.0.1:<free port> calling `handler(request) -> Reply`."""

    def __init__(
        self, handler: Callable[[Request], Reply], ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.requests: list[Request] = []
        outer = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            wbufsize = 1 << 16  # one write per response: no Nagle/delayed-ACK stalls on keep-alive

            def _serve(self) -> None:
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(
                    at=time.monotonic(),
                    method=self.command,
                    path=unquote(parts.path),
                    query={k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()},
                    headers={k: v for k, v in self.headers.items()},
                    body=self.rfile.read(length) if length else b"",
                )
                outer.requests.append(req)
                status, headers, body = handler(req)
                req.status = status
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                self.wfile.flush()

            do_GET = do_POST = _serve

            def log_message(self, *args: Any) -> None:  # keep pytest output quiet
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        scheme = "http"
        if ssl_context is not None:
            self.httpd.socket = ssl_context.wrap_socket(self.httpd.socket, server_side=True)
            scheme = "https"
        self.url = f"{scheme}://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# -- TLS for the identity server (MSAL only accepts https authorities) ----------------------------
def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeIdentity:
    """The token endpoint of one tenant: client credentials, device code and refresh token grants."""

    def __init__(self, cert: Path, key: Path, tenant: str, client_id: str, client_secret: str) -> None:
        self.tenant, self.client_id, self.client_secret = tenant, client_id, client_secret
        self.issued_tokens: set[str] = set()
        self.refresh_tokens: set[str] = set()
        self.access_token_lifetime = 3600
        self.user = "buyer@contoso.example"
        self.device_codes: dict[str, str] = {}  # code -> requested scope
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        self.faults: list[Fault] = []  # the next matching requests answer with these instead
        self.server = LocalServer(self.handle, context)
        self.url = self.server.url
        self.token_requests = 0

    def revoke_all(self) -> None:
        """Every access token issued so far stops working (Graph answers 401 to them)."""
        self.issued_tokens.clear()

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    def _base(self) -> str:
        return f"{self.url}/{self.tenant}"

    def handle(self, req: Request) -> Reply:
        base = f"/{self.tenant}"
        for fault in self.faults:
            if fault.match in req.path:
                self.faults.remove(fault)
                body = fault.body or {"error": "temporarily_unavailable", "error_description": "AADSTS50196"}
                return json_reply(fault.status, body, fault.headers)
        if req.path == f"{base}/v2.0/.well-known/openid-configuration":
            return json_reply(
                200,
                {
                    "issuer": f"{self._base()}/v2.0",
                    "authorization_endpoint": f"{self._base()}/oauth2/v2.0/authorize",
                    "token_endpoint": f"{self._base()}/oauth2/v2.0/token",
                    "device_authorization_endpoint": f"{self._base()}/oauth2/v2.0/devicecode",
                },
            )
        form = {k: v[0] for k, v in parse_qs(req.body.decode()).items()}
        if req.path == f"{base}/oauth2/v2.0/devicecode" and req.method == "POST":
            code = "dc-" + secrets.token_hex(8)
            self.device_codes[code] = form.get("scope", "")
            return json_reply(
                200,
                {
                    "device_code": code,
                    "user_code": "QWER-TYUI",
                    "verification_uri": "https://microsoft.com/devicelogin",
                    "expires_in": 900,
                    "interval": 1,
                    "message": "To sign in, use a web browser to open the page "
                    "https://microsoft.com/devicelogin and enter the code QWER-TYUI to authenticate.",
                },
            )
        if req.path == f"{base}/oauth2/v2.0/token" and req.method == "POST":
            self.token_requests += 1
            return self._token(form)
        return json_reply(404, {"error": "not_found"})

    def _issue(self, delegated: bool, scope: str) -> dict[str, Any]:
        token = "at-" + secrets.token_urlsafe(24)
        self.issued_tokens.add(token)
        body: dict[str, Any] = {
            "token_type": "Bearer",
            "access_token": token,
            "scope": scope,
            "expires_in": self.access_token_lifetime,
            "ext_expires_in": 3600,
        }
        if delegated:
            refresh = "rt-" + secrets.token_urlsafe(24)
            self.refresh_tokens.add(refresh)
            now = int(time.time())
            claims = {
                "iss": f"{self._base()}/v2.0",
                "sub": "user-1",
                "aud": self.client_id,
                "iat": now,
                "exp": now + 3600,
                "tid": self.tenant,
                "oid": "oid-1",
                "preferred_username": self.user,
                "name": "Order Buyer",
            }
            body["refresh_token"] = refresh
            body["id_token"] = ".".join(
                [_b64url(b'{"alg":"none","typ":"JWT"}'), _b64url(json.dumps(claims).encode()), ""]
            )
            body["client_info"] = _b64url(json.dumps({"uid": "oid-1", "utid": self.tenant}).encode())
        return body

    def _token(self, form: dict[str, str]) -> Reply:
        grant = form.get("grant_type")
        if form.get("client_id") != self.client_id:
            return json_reply(
                400, {"error": "unauthorized_client", "error_description": "AADSTS700016: unknown app"}
            )
        if grant == "client_credentials":
            if form.get("client_secret") != self.client_secret:
                return json_reply(
                    401,
                    {
                        "error": "invalid_client",
                        "error_description": "AADSTS7000215: Invalid client secret provided.",
                    },
                )
            return json_reply(200, self._issue(False, form.get("scope", "")))
        if grant == "urn:ietf:params:oauth:grant-type:device_code":
            if form.get("device_code") not in self.device_codes:
                return json_reply(400, {"error": "expired_token", "error_description": "AADSTS70020"})
            return json_reply(200, self._issue(True, self.device_codes[form["device_code"]]))
        if grant == "refresh_token":
            if form.get("refresh_token") not in self.refresh_tokens:
                return json_reply(
                    400,
                    {
                        "error": "invalid_grant",
                        "error_description": "AADSTS700082: The refresh token has expired.",
                    },
                )
            self.refresh_tokens.discard(form["refresh_token"])
            return json_reply(200, self._issue(True, form.get("scope", "")))
        return json_reply(400, {"error": "unsupported_grant_type", "error_description": grant or ""})


# -- Graph ----------------------------------------------------------------------------------------
@dataclass
class Fault:
    """Answer the next request whose path contains `match` with this status instead."""

    match: str
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None


def quick_xor_hash(data: bytes) -> str:
    """Stand-in for QuickXorHash (20 bytes, base64): any content-derived digest will do here."""
    return base64.b64encode(hashlib.sha1(data).digest()).decode()


class FakeGraph:
    """One site with two document libraries; the `Documents` one holds a tree of folders and files."""

    HOST = "contoso.sharepoint.com"
    SITE_PATH = "/sites/Orders"
    SITE_ID = "contoso.sharepoint.com,1111,2222"
    DRIVE_ID = "b!orders-drive"
    OTHER_DRIVE_ID = "b!other-drive"
    TEMPAUTH = "tempauth-" + "Z" * 24

    def __init__(self, valid_tokens: Callable[[], set[str]], page_size: int = 3) -> None:
        self.valid_tokens = valid_tokens
        self.page_size = page_size
        self.faults: list[Fault] = []
        self.seq = 0
        self.oldest_valid_token = 0  # delta tokens below this answer 410
        self._ids = itertools.count(1)
        self.items: dict[str, dict[str, Any]] = {}
        self.content: dict[str, bytes] = {}
        self.changed_at: dict[str, int] = {}
        self.tombstones: dict[str, int] = {}
        self.root_id = "root-0"
        self.items[self.root_id] = {
            "id": self.root_id,
            "name": "root",
            "root": {},
            "folder": {"childCount": 0},
        }
        self.changed_at[self.root_id] = 0
        self.server = LocalServer(self.handle)
        self.download_server = LocalServer(self.handle_download)
        self.url = self.server.url
        self.base_url = f"{self.url}/v1.0"

    def close(self) -> None:
        self.server.close()
        self.download_server.close()

    @property
    def requests(self) -> list[Request]:
        return self.server.requests

    # -- content management ---------------------------------------------------------------------
    def _touch(self, item_id: str) -> None:
        self.seq += 1
        self.changed_at[item_id] = self.seq

    def _find(self, path: str) -> str | None:
        current = self.root_id
        for part in [p for p in path.strip("/").split("/") if p]:
            for item_id, item in self.items.items():
                if item.get("parent") == current and item["name"].casefold() == part.casefold():
                    current = item_id
                    break
            else:
                return None
        return current

    def folder(self, path: str) -> str:
        current = self.root_id
        for part in [p for p in path.strip("/").split("/") if p]:
            existing = self._find_child(current, part)
            if existing is None:
                existing = f"fld-{next(self._ids)}"
                self.items[existing] = {
                    "id": existing,
                    "name": part,
                    "parent": current,
                    "folder": {"childCount": 0},
                }
                self._touch(existing)
            current = existing
        return current

    def _find_child(self, parent: str, name: str) -> str | None:
        for item_id, item in self.items.items():
            if item.get("parent") == parent and item["name"].casefold() == name.casefold():
                return item_id
        return None

    def put_file(self, path: str, data: bytes) -> str:
        folder_path, _, name = path.strip("/").rpartition("/")
        parent = self.folder(folder_path)
        item_id = self._find_child(parent, name) or f"file-{next(self._ids)}"
        self.items[item_id] = {"id": item_id, "name": name, "parent": parent, "file": {}}
        self.content[item_id] = data
        self._touch(item_id)
        return item_id

    def delete(self, path: str) -> None:
        item_id = self._find(path)
        assert item_id
        doomed = [item_id]
        for i in list(self.items):  # descendants too
            parent = self.items[i].get("parent")
            while parent and parent != self.root_id:
                if parent == item_id:
                    doomed.append(i)
                    break
                parent = self.items[parent].get("parent")
        for i in doomed:
            self.items.pop(i)
            self.content.pop(i, None)
            self.seq += 1
            self.tombstones[i] = self.seq

    def rename(self, path: str, new_name: str) -> None:
        item_id = self._find(path)
        assert item_id
        self.items[item_id]["name"] = new_name
        self._touch(item_id)  # SharePoint reports the folder only, not its descendants

    def _path_of(self, item_id: str) -> str:
        names = []
        while item_id != self.root_id:
            names.append(self.items[item_id]["name"])
            item_id = self.items[item_id]["parent"]
        return "/".join(reversed(names))

    def render(self, item_id: str, with_path: bool) -> dict[str, Any]:
        item = self.items[item_id]
        out: dict[str, Any] = {
            "id": item_id,
            "name": item["name"],
            "lastModifiedDateTime": "2025-01-02T03:04:05Z",
        }
        if "root" in item:
            out["root"] = {}
        if "folder" in item:
            out["folder"] = {"childCount": sum(1 for i in self.items.values() if i.get("parent") == item_id)}
            out["size"] = 0
        if "file" in item:
            data = self.content[item_id]
            out["file"] = {
                "mimeType": "application/vnd.ms-excel",
                "hashes": {"quickXorHash": quick_xor_hash(data)},
            }
            out["size"] = len(data)
        out["eTag"] = f'"{{{item_id}}},{self.changed_at[item_id]}"'
        if "parent" in item:
            ref: dict[str, Any] = {"driveId": self.DRIVE_ID, "id": item["parent"]}
            if with_path:  # delta responses in SharePoint omit parentReference.path
                parent_path = self._path_of(item["parent"]) if item["parent"] != self.root_id else ""
                ref["path"] = f"/drives/{self.DRIVE_ID}/root:" + (f"/{parent_path}" if parent_path else "")
            out["parentReference"] = ref
        return out

    # -- HTTP -------------------------------------------------------------------------------------
    def handle(self, req: Request) -> Reply:
        for fault in self.faults:
            if fault.match in req.path:
                self.faults.remove(fault)
                return json_reply(
                    fault.status,
                    fault.body or {"error": {"code": "fault", "message": "injected"}},
                    fault.headers,
                )
        auth = req.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens():
            return json_reply(401, {"error": {"code": "InvalidAuthenticationToken", "message": "bad token"}})
        path = req.path.removeprefix("/v1.0")
        if path == f"/sites/{self.HOST}:{self.SITE_PATH}":
            return json_reply(200, {"id": self.SITE_ID, "webUrl": f"https://{self.HOST}{self.SITE_PATH}"})
        if path == f"/sites/{self.SITE_ID}/drives":
            web = f"https://{self.HOST}{self.SITE_PATH}"
            if req.query.get("page") == "2":
                return json_reply(
                    200,
                    {
                        "value": [
                            {"id": self.DRIVE_ID, "name": "Documents", "webUrl": f"{web}/Shared%20Documents"}
                        ]
                    },
                )
            return json_reply(
                200,
                {
                    "value": [
                        {"id": self.OTHER_DRIVE_ID, "name": "Site Assets", "webUrl": f"{web}/SiteAssets"}
                    ],
                    "@odata.nextLink": f"{self.base_url}/sites/{self.SITE_ID}/drives?page=2",
                },
            )
        drive = f"/drives/{self.DRIVE_ID}"
        if path == f"{drive}/root":
            return json_reply(200, self.render(self.root_id, True))
        if path.startswith(f"{drive}/root:/"):
            item_id = self._find(path.removeprefix(f"{drive}/root:/"))
            if item_id is None:
                return json_reply(
                    404, {"error": {"code": "itemNotFound", "message": "The resource could not be found."}}
                )
            return json_reply(200, self.render(item_id, True))
        if path == f"{drive}/root/delta":
            return self._delta(req)
        if path.startswith(f"{drive}/items/") and path.endswith("/content"):
            item_id = path.split("/")[4]
            if item_id not in self.content:
                return json_reply(404, {"error": {"code": "itemNotFound", "message": "gone"}})
            location = f"{self.download_server.url}/download/{quote(item_id)}?tempauth={self.TEMPAUTH}"
            return 302, {"Location": location}, b""
        return json_reply(400, {"error": {"code": "invalidRequest", "message": f"unknown path {path}"}})

    def _delta(self, req: Request) -> Reply:
        since = int(req.query.get("token") or req.query.get("from") or 0)
        if "token" in req.query and since < self.oldest_valid_token:
            return json_reply(
                410,
                {"error": {"code": "resyncRequired", "message": "Resync required."}},
                {"Location": f"{self.base_url}/drives/{self.DRIVE_ID}/root/delta"},
            )
        snapshot = int(req.query.get("snapshot", self.seq))
        entries: list[dict[str, Any]] = [
            self.render(i, False)
            for i, at in self.changed_at.items()
            if i in self.items and (since == 0 or since < at <= snapshot)
        ]
        if since:
            entries += [
                {"id": i, "deleted": {"state": "deleted"}, "parentReference": {"driveId": self.DRIVE_ID}}
                for i, at in self.tombstones.items()
                if since < at <= snapshot
            ]
        entries.reverse()  # children before parents: the client must not depend on order
        skip = int(req.query.get("skip", 0))
        page = entries[skip : skip + self.page_size]
        body: dict[str, Any] = {"value": page}
        delta_url = f"{self.base_url}/drives/{self.DRIVE_ID}/root/delta"
        if skip + self.page_size < len(entries):
            body["@odata.nextLink"] = (
                f"{delta_url}?from={since}&snapshot={snapshot}&skip={skip + self.page_size}"
            )
        else:
            body["@odata.deltaLink"] = f"{delta_url}?token={snapshot}"
        return json_reply(200, body)

    def handle_download(self, req: Request) -> Reply:
        if "Authorization" in req.headers:
            return 401, {}, b"pre-authenticated URL must not receive an Authorization header"
        if req.query.get("tempauth") != self.TEMPAUTH:
            return 403, {}, b"bad tempauth"
        item_id = req.path.removeprefix("/download/")
        data = self.content.get(item_id)
        if data is None:
            return 404, {}, b""
        return 200, {"Content-Type": "application/octet-stream"}, data
