"""monday.com GraphQL client: gql over HTTP, pinned API-Version, paced, retried, idempotent mutations.

Queries are retried internally (429 honoured, 5xx/timeouts backed off with jitter), by tenacity.
Mutations are retried on rate limits only: after a timeout, dropped connection or 5xx the outcome is
unknown, so `mutate` raises AmbiguousMutationError and the caller looks up what was applied before
re-sending. A rate-limit wait (retry_in_seconds / Retry-After) is shared through the `throttle`
(order_platform/throttle.py): with `shared_throttle("monday:...")` no process of the instance sends
before it elapses; the complexity pacer and the request-rate limiter stay per client.
Each `mutate` call is one attempt at one planned batch and gets its own Idempotency-Key (a random
UUID; a fresh one when the request is re-sent after a rate limit, which was not applied). A key
derived from the body would make a later identical change (24 -> 25 -> 24 -> 25 within 30 minutes)
replay an old answer. A caller may pass a key to re-send the very same attempt. Every answer's
`API-Version` header is checked: an answer from another version than the pinned one (monday.com
serves a deprecated version with its maintenance version) is logged once and kept in
`stats.answered_by`.
The token goes in the Authorization header only; it is never logged or put in messages.
"""

from __future__ import annotations

import logging
import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import requests
import tenacity

from order_platform.monday.api.answers import (  # the client's errors and answers, re-exported
    COMPLEXITY_FIELD,
    FATAL_CODES,
    RATE_LIMIT_CODES,
    SERVER_ERROR_CODES,
    AmbiguousMutationError,
    ClientStats,
    MondayError,
    MondayFatalError,
    MondayRequestError,
    MondayTransientError,
    Response,
    _retry_in,
    error_code,
)
from order_platform.monday.api.pacing import ComplexityPacer, RequestRateLimiter, backoff_delay
from order_platform.monday.api.settings import MondaySettings
from order_platform.monday.mapping import BoardConfig, SyncKnobs
from order_platform.throttle import LocalThrottle, Throttle

if TYPE_CHECKING:
    from gql import GraphQLRequest

log = logging.getLogger(__name__)


__all__ = [
    "AmbiguousMutationError",
    "ClientStats",
    "MondayClient",
    "MondayError",
    "MondayFatalError",
    "MondayRequestError",
    "MondayTransientError",
    "Response",
    "error_code",
]


def _new_key() -> str:
    return str(uuid.uuid4())


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
        from order_platform.monday.api import transport  # gql: only when a client is made (see transport.py)

        self._gql = transport
        self._transport = transport.StatusTransport(
            url=url,
            headers={
                "Authorization": token,
                "API-Version": self.api_version,
                "Content-Type": "application/json",
            },
            # gql annotates timeout as int, but passes it to requests, which takes float seconds.
            timeout=knobs.retry.timeout_seconds,  # type: ignore[arg-type]
            retries=0,
        )
        self._client = transport.Client(transport=self._transport, fetch_schema_from_transport=False)
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
    def from_settings(cls, settings: MondaySettings, config: BoardConfig, **kwargs: Any) -> MondayClient | None:
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

    def mutate(
        self,
        document: str,
        variables: dict[str, Any] | None = None,
        *,
        units: int,
        idempotency_key: str | None = None,
    ) -> Response:
        """Send `units` aliased mutations in one request: one attempt, one Idempotency-Key.

        The key is new per call unless given (pass the same key only to re-send the very same attempt).
        Rate limits are waited out and re-sent (they were not applied). Anything that may have been
        applied raises AmbiguousMutationError.
        """
        try:
            response = self._send(
                document, variables, kind="mutation", units=units, idempotency_key=idempotency_key or _new_key
            )
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
        idempotency_key: str | Callable[[], str] | None,
    ) -> Response:
        """One request, re-sent after rate limits. A callable key makes a fresh key per send: a 429 was
        not applied, and a server that cached the 429 under the key would otherwise replay it."""
        document = document.replace("{", "{ " + COMPLEXITY_FIELD + " ", 1)
        request = self._gql.GraphQLRequest(document, variable_values=variables or None)
        headers = dict(self._transport.headers or {})
        waits = self.knobs.retry.max_rate_limit_waits
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(waits + 1),
            wait=lambda state: 0.0,  # the wait happens in the shared throttle, before the next attempt
            retry=tenacity.retry_if_exception_type(_RateLimited),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            return retrying(self._send_once, request, headers, kind, units, retrying, idempotency_key)
        except _RateLimited:
            raise MondayFatalError(f"still rate limited after {waits} waits", "RATE_LIMITED") from None

    def _send_once(
        self,
        request: GraphQLRequest,
        headers: dict[str, Any],
        kind: str,
        units: int,
        retrying: tenacity.Retrying,
        key: str | Callable[[], str] | None = None,
    ) -> Response:
        self.stats.rate_limit_seconds += self.throttle.wait()  # anyone's 429 holds every client
        self.stats.paced_seconds += self.pacer.before_request(self.pacer.estimate(kind, units))
        self.stats.paced_seconds += self.rate.before_request()
        self.stats.requests += 1
        if kind == "mutation":
            self.stats.mutation_requests += 1
        self._transport.last_status = None
        waits = retrying.statistics.get("attempt_number", 1)
        sent = headers if key is None else {**headers, "Idempotency-Key": key if isinstance(key, str) else key()}
        try:
            result = self._session.execute(request, get_execution_result=True, extra_args={"headers": sent})
            data, errors = result.data or {}, []
        except self._gql.TransportQueryError as exc:
            data, errors = exc.data or {}, list(exc.errors or [])
        except self._gql.TransportServerError as exc:
            status = exc.code or 0
            if status == 429:
                raise self._rate_limited([], waits) from None
            if status in (401, 403):
                raise MondayFatalError(f"HTTP {status}: not authorised", f"HTTP_{status}") from None
            if status >= 500:
                raise _Transient(f"HTTP {status}") from None
            raise MondayRequestError(f"HTTP {status}: {exc}", f"HTTP_{status}") from None
        except self._gql.TransportConnectionFailed as exc:
            timed_out = isinstance(exc.__cause__, requests.Timeout)
            raise _Transient(("timeout" if timed_out else "connection failed") + f": {exc}", timed_out) from None
        except self._gql.TransportProtocolError as exc:
            raise _Transient(f"not a GraphQL answer: {str(exc)[:200]}") from None

        self._check_version()
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

    def _check_version(self) -> None:
        headers = self._transport.response_headers
        answered = headers.get("API-Version") if headers is not None else None
        if answered and answered != self.api_version and answered != self.stats.answered_by:
            log.warning(
                "monday.com answered with API version %s, not the pinned %s (deprecated? see MONDAY_API_VERSION)",
                answered,
                self.api_version,
            )
            self.stats.answered_by = answered

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
