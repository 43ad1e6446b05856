"""monday.com GraphQL client: gql over HTTP, pinned API-Version, paced, retried, idempotent mutations.

Queries are retried internally (429 honoured, 5xx/timeouts backed off with jitter), by tenacity.
Mutations are retried on rate limits only: after a timeout, dropped connection or 5xx the outcome is
unknown, so `mutate` raises AmbiguousMutationError and the caller looks up what was applied before
re-sending. A rate-limit wait (retry_in_seconds / Retry-After) is shared through the `throttle`
(order_platform/throttle.py): with `shared_throttle("monday:...")` no process of the instance sends
before it elapses; the complexity pacer and the request-rate limiter stay per client.
The token goes in the Authorization header only; it is never logged or put in messages.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
import tenacity
from gql import Client, GraphQLRequest
from gql.transport.exceptions import (
    TransportConnectionFailed,
    TransportProtocolError,
    TransportQueryError,
    TransportServerError,
)
from gql.transport.requests import RequestsHTTPTransport

from order_platform.monday.mapping import BoardConfig, SyncKnobs
from order_platform.monday.pacing import ComplexityPacer, RequestRateLimiter, backoff_delay
from order_platform.monday.settings import MondaySettings
from order_platform.throttle import LocalThrottle, Throttle

log = logging.getLogger(__name__)

COMPLEXITY_FIELD = "complexity { before after query reset_in_x_seconds }"
RATE_LIMIT_CODES = frozenset(
    {
        "RATE_LIMIT_EXCEEDED",
        "COMPLEXITY_BUDGET_EXHAUSTED",
        "ComplexityException",
        "IP_RATE_LIMIT_EXCEEDED",
        "maxConcurrencyExceeded",
        "FIELD_LIMIT_EXCEEDED",
        "Rate Limit Exceeded",
    }
)
FATAL_CODES = frozenset(
    {
        "DAILY_LIMIT_EXCEEDED",
        "UserUnauthorizedException",
        "UNAUTHENTICATED",
        "Unauthorized",
        "USER_UNAUTHORIZED",
    }
)
SERVER_ERROR_CODES = frozenset({"INTERNAL_SERVER_ERROR", "InternalServerException", "INTERNAL_ERROR"})


class MondayError(Exception):
    """Base of the client's errors; `code` is what gets stored with failed records."""

    code = "MONDAY_ERROR"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class MondayFatalError(MondayError):
    """Stop the run: authentication, daily limit, or too many rate-limit waits."""

    code = "FATAL"


class MondayRequestError(MondayError):
    """The whole request was rejected (validation, bad arguments); nothing was applied."""

    code = "REQUEST_ERROR"


class MondayTransientError(MondayError):
    """A query kept failing with 5xx/timeouts after all retries."""

    code = "TRANSIENT"


class AmbiguousMutationError(MondayError):
    """A mutation request may or may not have been applied (timeout, dropped connection, 5xx)."""

    code = "AMBIGUOUS"

    def __init__(self, message: str, *, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


@dataclass
class ClientStats:
    requests: int = 0
    mutation_requests: int = 0
    mutations: int = 0
    complexity_spent: int = 0
    rate_limited: int = 0
    retries: int = 0
    ambiguous: int = 0
    paced_seconds: float = 0.0
    rate_limit_seconds: float = 0.0


@dataclass
class Response:
    """A GraphQL answer: `data` plus per-field `errors` (each with a `path`), mapped by alias."""

    data: dict[str, Any]
    errors: list[dict[str, Any]] = field(default_factory=list)

    def errors_by_alias(self) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for error in self.errors:
            path = error.get("path") or []
            if path:
                out.setdefault(str(path[0]), error)
        return out


def error_code(error: dict[str, Any]) -> str:
    extensions = error.get("extensions") or {}
    return str(extensions.get("code") or error.get("error_code") or "UNKNOWN")


def _retry_in(errors: list[dict[str, Any]], headers: Any) -> float | None:
    for error in errors:
        extensions = error.get("extensions") or {}
        for source in (extensions, extensions.get("error_data") or {}):
            if source.get("retry_in_seconds") is not None:
                return float(source["retry_in_seconds"])
    if headers is not None and headers.get("Retry-After"):
        try:
            return float(headers["Retry-After"])
        except ValueError:
            return None
    return None


class _Transport(RequestsHTTPTransport):
    """gql's requests transport, remembering the HTTP status of the last answer."""

    last_status: int | None = None

    def _get_json_result(self, response: requests.Response) -> Any:
        self.last_status = response.status_code
        return super()._get_json_result(response)


class _Transient(Exception):
    def __init__(self, message: str, timed_out: bool = False) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class _RateLimited(Exception):
    def __init__(self, wait: float) -> None:
        super().__init__(f"rate limited for {wait:.1f} s")
        self.wait = wait


class MondayClient:
    """One board-agnostic connection. Create with `MondayClient.from_settings` or directly."""

    def __init__(
        self,
        url: str,
        token: str,
        knobs: SyncKnobs,
        *,
        api_version: str | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
        throttle: Throttle | None = None,
    ) -> None:
        self.url = url
        # Shared across processes when given (see monday_throttle); in-process otherwise.
        self.throttle: Throttle = throttle or LocalThrottle(clock=clock, sleep=sleep)
        self.api_version = api_version or knobs.api_version
        self.knobs = knobs
        self.stats = ClientStats()
        self._sleep = sleep
        self._rng = rng
        self._transport = _Transport(
            url=url,
            headers={
                "Authorization": token,
                "API-Version": self.api_version,
                "Content-Type": "application/json",
            },
            timeout=knobs.retry.timeout_seconds,
            retries=0,
        )
        self._client = Client(transport=self._transport, fetch_schema_from_transport=False)
        self._session = self._client.connect_sync()
        complexity = knobs.complexity
        self.pacer = ComplexityPacer(
            safety_margin=complexity.safety_margin_points,
            mutation_cost=complexity.estimated_mutation_cost,
            query_cost=complexity.estimated_query_cost,
            clock=clock,
            sleep=sleep,
        )
        self.rate = RequestRateLimiter(knobs.requests_per_minute, clock=clock, sleep=sleep)

    @classmethod
    def from_settings(
        cls, settings: MondaySettings, config: BoardConfig, **kwargs: Any
    ) -> MondayClient | None:
        """A client, or None when there is no token (the sync then runs dry)."""
        if not settings.has_token:
            return None
        assert settings.api_token is not None
        return cls(
            settings.api_url,
            settings.api_token.get_secret_value(),
            config.sync,
            api_version=settings.api_version,
            **kwargs,
        )

    def __repr__(self) -> str:  # never show headers (token)
        return f"MondayClient(url={self.url!r}, api_version={self.api_version!r})"

    def close(self) -> None:
        self._client.close_sync()

    def __enter__(self) -> MondayClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- raw calls -------------------------------------------------------------------------------

    def query(
        self, document: str, variables: dict[str, Any] | None = None, *, units: int = 1, kind: str = "query"
    ) -> Response:
        """Run a query; retries 429 and transient failures. Field errors come back in `errors`.

        `kind` and `units` feed the pacer's cost estimate (cost per unit is learned per kind).
        """
        retry = self.knobs.retry

        def count_retry(_state: tenacity.RetryCallState) -> None:
            self.stats.retries += 1

        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(retry.max_attempts),
            wait=lambda state: self.backoff_seconds(state.attempt_number),
            retry=tenacity.retry_if_exception_type(_Transient),
            before_sleep=count_retry,
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send, document, variables, kind=kind, units=units, idempotency_key=None)
        except _Transient as exc:
            raise MondayTransientError(f"query failed after {retry.max_attempts} attempts: {exc}") from None

    def mutate(self, document: str, variables: dict[str, Any] | None = None, *, units: int) -> Response:
        """Send `units` aliased mutations in one request with an Idempotency-Key.

        Rate limits are waited out and re-sent (they were not applied). Anything that may have been
        applied raises AmbiguousMutationError.
        """
        body = json.dumps({"q": document, "v": variables}, sort_keys=True, default=str)
        key = hashlib.sha256(body.encode("utf-8")).hexdigest()
        try:
            response = self._send(document, variables, kind="mutation", units=units, idempotency_key=key)
        except _Transient as exc:
            self.stats.ambiguous += 1
            raise AmbiguousMutationError(str(exc), timed_out=exc.timed_out) from None
        self.stats.mutations += units
        return response

    def backoff_seconds(self, attempt: int) -> float:
        retry = self.knobs.retry
        return backoff_delay(
            attempt - 1,
            base=retry.backoff_base_seconds,
            cap=retry.backoff_max_seconds,
            jitter_fraction=retry.jitter_fraction,
            rng=self._rng,
        )

    def backoff(self, attempt: int) -> float:
        delay = self.backoff_seconds(attempt)
        self._sleep(delay)
        return delay

    def _send(
        self,
        document: str,
        variables: dict[str, Any] | None,
        *,
        kind: str,
        units: int,
        idempotency_key: str | None,
    ) -> Response:
        document = document.replace("{", "{ " + COMPLEXITY_FIELD + " ", 1)
        request = GraphQLRequest(document, variable_values=variables or None)
        headers = dict(self._transport.headers or {})
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        waits = self.knobs.retry.max_rate_limit_waits
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(waits + 1),
            wait=lambda state: 0.0,  # the wait happens in the shared throttle, before the next attempt
            retry=tenacity.retry_if_exception_type(_RateLimited),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send_once, request, headers, kind, units, retrying)
        except _RateLimited:
            raise MondayFatalError(f"still rate limited after {waits} waits", "RATE_LIMITED") from None

    def _send_once(
        self, request: GraphQLRequest, headers: dict[str, Any], kind: str, units: int, retrying: tenacity.Retrying
    ) -> Response:
        self.stats.rate_limit_seconds += self.throttle.wait()  # anyone's 429 holds every client
        self.stats.paced_seconds += self.pacer.before_request(self.pacer.estimate(kind, units))
        self.stats.paced_seconds += self.rate.before_request()
        self.stats.requests += 1
        if kind == "mutation":
            self.stats.mutation_requests += 1
        self._transport.last_status = None
        waits = retrying.statistics.get("attempt_number", 1)
        try:
            result = self._session.execute(request, get_execution_result=True, extra_args={"headers": headers})
            data, errors = result.data or {}, []
        except TransportQueryError as exc:
            data, errors = exc.data or {}, list(exc.errors or [])
        except TransportServerError as exc:
            status = exc.code or 0
            if status == 429:
                raise self._rate_limited([], waits) from None
            if status in (401, 403):
                raise MondayFatalError(f"HTTP {status}: not authorised", f"HTTP_{status}") from None
            if status >= 500:
                raise _Transient(f"HTTP {status}") from None
            raise MondayRequestError(f"HTTP {status}: {exc}", f"HTTP_{status}") from None
        except TransportConnectionFailed as exc:
            timed_out = isinstance(exc.__cause__, requests.Timeout)
            raise _Transient(("timeout" if timed_out else "connection failed") + f": {exc}", timed_out) from None
        except TransportProtocolError as exc:
            raise _Transient(f"not a GraphQL answer: {str(exc)[:200]}") from None

        self.stats.complexity_spent += self.pacer.observe(data.get("complexity"), kind, units)
        request_errors = [e for e in errors if not e.get("path")]
        if not request_errors:
            return Response(data, errors)
        codes = {error_code(e) for e in request_errors}
        message = "; ".join(str(e.get("message", ""))[:200] for e in request_errors)
        if codes & RATE_LIMIT_CODES or self._transport.last_status == 429:
            raise self._rate_limited(request_errors, waits)
        if codes & FATAL_CODES or self._transport.last_status in (401, 403):
            raise MondayFatalError(message, sorted(codes & FATAL_CODES or codes)[0])
        if codes & SERVER_ERROR_CODES or (self._transport.last_status or 0) >= 500:
            raise _Transient(f"server error {sorted(codes)}: {message}")
        raise MondayRequestError(message, sorted(codes)[0])

    def _rate_limited(self, errors: list[dict[str, Any]], waits: int) -> _RateLimited:
        """Record a rate limit: the wait goes to the pacer and the shared throttle (slept before the next try)."""
        self.stats.rate_limited += 1
        retry_in = _retry_in(errors, self._transport.response_headers)
        if retry_in is None:
            retry_in = backoff_delay(
                waits,
                base=self.knobs.retry.backoff_base_seconds,
                cap=self.knobs.retry.backoff_max_seconds,
                jitter_fraction=0.0,
            )
        wait = retry_in * (1.0 + 0.1 * self._rng())  # a little jitter so parallel clients spread out
        log.warning("monday.com rate limit: every client waits %.1f s", wait)
        self.pacer.rate_limited(wait)
        self.throttle.hold(wait, "monday.com rate limit")
        return _RateLimited(wait)
