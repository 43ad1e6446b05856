"""Posting a message to a Teams Workflows webhook, retried by tenacity.

429 and 5xx answers, timeouts and dropped connections are retried: a `Retry-After` is honoured (one
longer than TEAMS_MAX_RETRY_AFTER_SECONDS fails the message rather than holding the run's sensor),
else exponential backoff with jitter. Any other answer fails at once (a 400 means the body is wrong:
retrying would not help). Errors are described by status and kind only: the webhook URL carries its
signature, so it never appears in an error, a log line or a record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception, stop_after_attempt, wait_exponential_jitter

from order_platform.notify.settings import NotifySettings


class WebhookError(Exception):
    """The message was not accepted; the text names the status or the kind of failure, never the URL."""

    def __init__(self, text: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(text)
        self.retryable = retryable
        self.retry_after = retry_after
        self.attempts = 1


class RetryAfterTooLong(WebhookError):
    pass


@dataclass
class Delivery:
    attempts: int
    status: int


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: back off instead


class TeamsWebhook:
    def __init__(self, url: str, settings: NotifySettings) -> None:
        self._url = url
        self.settings = settings
        self._session = requests.Session()
        base = settings.backoff_base_seconds
        self._backoff = wait_exponential_jitter(multiplier=base, jitter=base, max=60)

    def _post_once(self, body: dict[str, Any]) -> int:
        try:
            response = self._session.post(self._url, json=body, timeout=self.settings.timeout_seconds)
        except requests.Timeout:
            raise WebhookError("timed out", retryable=True) from None
        except requests.ConnectionError:
            raise WebhookError("connection failed", retryable=True) from None
        status = response.status_code
        if status in (200, 201, 202, 204):
            return status
        if status == 429 or status >= 500:
            wait = _retry_after(response)
            if wait is not None and wait > self.settings.max_retry_after_seconds:
                raise RetryAfterTooLong(
                    f"HTTP {status}, Retry-After {wait:g} s is over the {self.settings.max_retry_after_seconds:g} s "
                    "allowed",
                    retryable=False,
                )
            raise WebhookError(f"HTTP {status}", retryable=True, retry_after=wait)
        raise WebhookError(f"HTTP {status}: {_reason(response)}", retryable=False)

    def _wait(self, state: RetryCallState) -> float:
        error = state.outcome.exception() if state.outcome else None
        if isinstance(error, WebhookError) and error.retry_after is not None:
            return error.retry_after
        return self._backoff(state)

    def post(self, body: dict[str, Any]) -> Delivery:
        """Post one message; raises WebhookError when it is still not accepted after the retries."""
        attempts = 0
        try:
            for attempt in Retrying(
                stop=stop_after_attempt(self.settings.max_attempts),
                wait=self._wait,
                retry=retry_if_exception(lambda e: isinstance(e, WebhookError) and e.retryable),
                reraise=True,
            ):
                with attempt:
                    attempts = attempt.retry_state.attempt_number
                    status = self._post_once(body)
        except WebhookError as error:
            error.attempts = attempts
            raise
        return Delivery(attempts, status)

    def close(self) -> None:
        self._session.close()


def _reason(response: requests.Response) -> str:
    text = " ".join(response.text.split())[:200]
    return text or response.reason or ""
