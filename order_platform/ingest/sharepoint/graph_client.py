"""A GET-only Microsoft Graph client: bearer token to Graph only, retries and the shared throttle
(RetryingSession), one token renewal on 401, 302 downloads fetched without the token, no secret logged."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urljoin

import requests

from order_platform.ingest.sharepoint.endpoints import DEFAULT_GRAPH_BASE_URL
from order_platform.ingest.sharepoint.http import (
    HttpRetrySettings,
    RetryingSession,
    TransportError,
    redact,
    retry_after_seconds,
)
from order_platform.ingest.sharepoint.msal_auth import TokenProvider, renew_token
from order_platform.throttle import Throttle

log = logging.getLogger(__name__)


class GraphError(RuntimeError):
    def __init__(self, message: str, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class ResyncRequired(GraphError):
    """HTTP 410 on a delta link: the token is too old; start over with a full enumeration."""


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


def graph_error(resp: requests.Response, what: str) -> GraphError:
    code = message = None
    try:
        err = resp.json().get("error") or {}
        if isinstance(err, dict):
            code, message = err.get("code"), err.get("message")
    except ValueError:
        pass
    text = f"{what} answered HTTP {resp.status_code}"
    if code or message:
        text += f" ({code}: {message})"
    cls = ResyncRequired if resp.status_code == 410 else GraphError
    return cls(text, status=resp.status_code, code=code)


class GraphClient:
    """GET-only Graph client; the bearer token goes to Graph and nowhere else."""

    def __init__(
        self,
        token_provider: TokenProvider,
        base_url: str = DEFAULT_GRAPH_BASE_URL,
        retry: HttpRetrySettings | None = None,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        throttle: Throttle | None = None,
    ) -> None:
        self.token_provider = token_provider
        self.base_url = base_url.rstrip("/")
        self.retry = retry or HttpRetrySettings()
        self.session = session or RetryingSession(self.retry, throttle, sleep=sleep)
        _install_log_redaction()

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return f"{self.base_url}/{path_or_url.lstrip('/')}"

    def _get(self, url: str, params: dict[str, Any] | None, token: str | None) -> requests.Response:
        headers = {"Accept": "application/json"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        try:
            return self.session.get(url, params=params, headers=headers, allow_redirects=False)
        except TransportError as exc:
            raise GraphError(str(exc)) from None

    def send(self, url: str, *, params: dict[str, Any] | None = None, auth: bool = True) -> requests.Response:
        """One GET (retried on 429/5xx/connection errors); a 401 renews the token once and tries again."""
        token = self.token_provider.get_token() if auth else None
        resp = self._get(url, params, token)
        if resp.status_code in (429, 500, 502, 503, 504):
            told = retry_after_seconds(resp.headers)
            if resp.status_code in (429, 503) and told is not None and told > self.retry.max_retry_after:
                raise graph_error(
                    resp,
                    f"GET {redact(url)} (asked to wait {told:.0f} s, more than GRAPH_MAX_RETRY_AFTER_SECONDS="
                    f"{self.retry.max_retry_after:.0f}; every client of the instance waits it out)",
                )
            raise graph_error(resp, f"GET {redact(url)} (after {self.retry.max_attempts} attempts)")
        if resp.status_code == 401 and token is not None:
            # Revoked or expired early: drop the cached token, get a new one, try once more.
            log.warning("GET %s answered 401; renewing the access token once", redact(url))
            resp.close()
            token = renew_token(self.token_provider, token)
            resp = self._get(url, params, token)
        return resp

    def get_json(self, path_or_url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        url = self.url(path_or_url)
        resp = self.send(url, params=params)
        if not 200 <= resp.status_code < 300:
            raise graph_error(resp, f"GET {redact(url)}")
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
            raise graph_error(resp, f"GET {redact(url)}")
        return resp.content
