"""HTTP with bounded retries (tenacity) and the instance-wide throttle, for Graph and the identity platform.

- 429 and 503: wait `Retry-After` (else a backoff) and tell every other client of the service
  through the shared throttle (see order_platform/throttle.py), then retry.
- 500/502/504, timeouts and dropped connections: exponential backoff with full jitter, then retry.
- Anything else is returned as it is; so is the last answer when the attempts run out.
Each attempt first waits out the shared throttle, so no request leaves inside anyone's Retry-After.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast
from urllib.parse import urlsplit

import requests
import tenacity

from order_platform.throttle import LocalThrottle, Throttle

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# No answer, or an answer cut off mid-body (a dropped download): worth another try.
NETWORK_ERRORS = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
SHARED_STATUSES = frozenset({429, 503})  # the service asks every client to slow down


@dataclass(frozen=True)
class HttpRetrySettings:
    """How hard to try one request (GRAPH_* settings). Retry-After (429/503) wins over the backoff."""

    max_attempts: int = 6
    backoff_base: float = 0.5  # seconds; attempt n waits up to base * 2**(n-1), full jitter
    backoff_max: float = 30.0
    max_retry_after: float = 120.0  # a longer server-requested wait fails the request (the wait is shared)
    connect_timeout: float = 10.0
    read_timeout: float = 120.0


class TransportError(RuntimeError):
    """The request never got an answer (connection refused/reset, timeout) after every attempt."""

    def __init__(self, message: str, attempts: int) -> None:
        super().__init__(message)
        self.attempts = attempts


class _RetryableStatus(Exception):
    def __init__(self, response: requests.Response, delay: float | None) -> None:
        super().__init__(f"HTTP {response.status_code}")
        self.response = response
        self.delay = delay


def redact(url: str) -> str:
    """Scheme, host and path only: query strings can carry tokens (pre-authenticated download URLs)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def retry_after_seconds(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
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


class RetryingSession(requests.Session):
    """A requests.Session whose every request is retried as above (also usable as MSAL's http_client)."""

    def __init__(
        self,
        settings: HttpRetrySettings | None = None,
        throttle: Throttle | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        transient: Callable[[requests.Response], bool] | None = None,
    ) -> None:
        super().__init__()
        self.settings = settings or HttpRetrySettings()
        self._transient = transient  # answers outside RETRY_STATUSES that are worth another try
        self.throttle: Throttle = throttle or LocalThrottle()
        self._sleep = sleep
        self.attempts = 0  # requests sent, retries included (for tests and logs)
        self._backoff = tenacity.wait_random_exponential(
            multiplier=self.settings.backoff_base, max=self.settings.backoff_max
        )

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _RetryableStatus) and exc.delay is not None:
            return exc.delay
        return float(self._backoff(state))

    def backoff(self, attempt: int) -> float:
        """The jittered exponential backoff after `attempt` (tenacity's strategy, outside a retry loop)."""
        return float(self._backoff(cast(tenacity.RetryCallState, _Attempt(attempt))))

    def _attempt(self, method: str, url: str, kwargs: dict[str, Any], attempt: int) -> requests.Response:
        self.throttle.wait()
        self.attempts += 1
        log.debug("%s %s (attempt %d)", method, redact(url), attempt)
        response = super().request(method, url, **kwargs)
        if response.status_code not in RETRY_STATUSES and not (self._transient and self._transient(response)):
            return response
        delay: float | None = None
        if response.status_code in SHARED_STATUSES:
            told = retry_after_seconds(response.headers)
            delay = told if told is not None else self.backoff(attempt)
            self.throttle.hold(delay, f"HTTP {response.status_code} from {urlsplit(url).netloc}")
            if delay > self.settings.max_retry_after:  # too long to wait here: fail; the others still wait
                return response
        if attempt >= self.settings.max_attempts:
            return response
        response.close()
        raise _RetryableStatus(response, delay)

    def request(
        self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any
    ) -> requests.Response:
        if args:  # requests' positional order after url
            names = ("params", "data", "headers", "cookies", "files", "auth", "timeout", "allow_redirects")
            kwargs.update(zip(names, args, strict=False))
        kwargs.setdefault("timeout", (self.settings.connect_timeout, self.settings.read_timeout))
        method = method.decode() if isinstance(method, bytes) else method
        url = url.decode() if isinstance(url, bytes) else url

        def log_retry(state: tenacity.RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            what = (
                f"answered {exc.response.status_code}"
                if isinstance(exc, _RetryableStatus)
                else type(exc).__name__
            )
            wait = state.upcoming_sleep
            log.warning(
                "%s %s %s; retrying in %.2fs (attempt %d/%d)",
                method, redact(url), what, wait, state.attempt_number, self.settings.max_attempts,
            )

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            retry=tenacity.retry_if_exception_type((_RetryableStatus, *NETWORK_ERRORS)),
            before_sleep=log_retry,
            sleep=self._sleep,
            reraise=True,
        )
        attempts = 0
        try:
            for attempt in retrying:
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    return self._attempt(method, url, dict(kwargs), attempts)
        except NETWORK_ERRORS as exc:
            raise TransportError(
                f"{method} {redact(url)} failed after {attempts} attempts: {type(exc).__name__}", attempts
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover


@dataclass
class _Attempt:
    """Just what tenacity's wait strategies read from a retry state."""

    attempt_number: int
