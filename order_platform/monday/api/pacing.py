"""Staying under monday.com's limits: complexity budget per window, requests per minute, backoff.

The pacer never guesses the budget: every request asks for `complexity { before after query
reset_in_x_seconds }` and the pacer waits for the reset when the next request's estimated cost would
not fit in what is left. Costs per unit (a mutation, a looked-up value) are learned from `query`.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import tenacity

from order_platform.throttle import Throttle

if TYPE_CHECKING:
    import sqlalchemy as sa

Clock = Callable[[], float]
Sleep = Callable[[float], None]

RESET_PAD_SECONDS = 0.05


class ComplexityPacer:
    """Waits for the budget reset when an estimated request cost would not fit in the remaining budget."""

    def __init__(
        self,
        *,
        safety_margin: int,
        mutation_cost: int,
        query_cost: int,
        clock: Clock = time.monotonic,
        sleep: Sleep = time.sleep,
    ) -> None:
        self.safety_margin = safety_margin
        self.mutation_cost = mutation_cost
        self.query_cost = query_cost
        self.cost_per_unit: dict[str, float] = {}
        self.remaining: int | None = None
        self.reset_at: float | None = None
        self._clock = clock
        self._sleep = sleep

    def estimate(self, kind: str, units: int) -> int:
        """Learned cost per unit of this kind; before any answer: config estimates."""
        if kind in self.cost_per_unit:
            return int(self.cost_per_unit[kind] * max(units, 1))
        return self.mutation_cost * max(units, 1) if kind == "mutation" else self.query_cost

    def available(self) -> int | None:
        """Points left in the current window (after the safety margin), None when unknown or reset."""
        if self.remaining is None or self.reset_at is None or self._clock() >= self.reset_at:
            return None
        return max(0, self.remaining - self.safety_margin)

    def before_request(self, estimated_cost: int) -> float:
        """Sleep until the window resets if `estimated_cost` does not fit; returns seconds slept."""
        if self.remaining is None or self.reset_at is None:
            return 0.0
        now = self._clock()
        if now >= self.reset_at:
            self.remaining = None
            return 0.0
        if estimated_cost + self.safety_margin <= self.remaining:
            return 0.0
        wait = self.reset_at - now + RESET_PAD_SECONDS
        self._sleep(wait)
        self.remaining = None
        return wait

    def observe(self, complexity: dict[str, Any] | None, kind: str, units: int) -> int:
        """Record a response's complexity block; returns the points the request cost."""
        if not complexity:
            return 0
        cost = int(complexity.get("query") or 0)
        after = complexity.get("after")
        reset_in = complexity.get("reset_in_x_seconds")
        if after is not None and reset_in is not None:
            self.remaining = int(after)
            self.reset_at = self._clock() + float(reset_in)
        if cost and units:
            self.cost_per_unit[kind] = cost / units
        return cost

    def rate_limited(self, retry_in: float) -> None:
        """After a 429 the budget is unknown until the next response says otherwise."""
        self.remaining = None
        self.reset_at = self._clock() + retry_in


class RequestRateLimiter:
    """At most `per_minute` requests in any 60 s (monday's minute limit is by plan)."""

    def __init__(self, per_minute: int, *, clock: Clock = time.monotonic, sleep: Sleep = time.sleep) -> None:
        self.per_minute = per_minute
        self._sent: deque[float] = deque()
        self._clock = clock
        self._sleep = sleep

    def before_request(self) -> float:
        now = self._clock()
        while self._sent and now - self._sent[0] >= 60.0:
            self._sent.popleft()
        waited = 0.0
        if self.per_minute > 0 and len(self._sent) >= self.per_minute:
            waited = 60.0 - (now - self._sent[0])
            self._sleep(waited)
            self._sent.popleft()
        self._sent.append(self._clock())
        return waited


@dataclass
class _Attempt:
    """What tenacity's wait strategies read from a retry state."""

    attempt_number: int


def backoff_delay(
    attempt: int, *, base: float, cap: float, jitter_fraction: float, rng: Callable[[], float] = random.random
) -> float:
    """Exponential backoff (tenacity's, base * 2**attempt capped), minus up to `jitter_fraction` of it."""
    state = cast(tenacity.RetryCallState, _Attempt(attempt + 1))  # all a wait strategy reads
    delay = tenacity.wait_exponential(multiplier=base, max=cap, exp_base=2)(state)
    return delay * (1.0 - jitter_fraction * rng())


def monday_throttle(api_url: str, engine: sa.Engine) -> Throttle:
    """The instance-wide throttle for this monday.com endpoint (a row in the platform database of
    `engine`), so a rate limit seen by one client holds every process and pod; pass it to
    MondayClient(throttle=...)."""
    from urllib.parse import urlsplit

    from order_platform.throttle import shared_throttle

    return shared_throttle(f"monday:{urlsplit(api_url).netloc.lower()}", engine)
