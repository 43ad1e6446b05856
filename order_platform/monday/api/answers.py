"""What the monday.com API answers, as the client reports it: errors, per-alias results, counters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

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
    answered_by: str | None = None  # the API-Version of the last answer, when not the pinned one


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
