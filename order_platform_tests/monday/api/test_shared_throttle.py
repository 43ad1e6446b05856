"""monday.com's retry_in_seconds holds every client of the instance, not only the one that was told."""

from __future__ import annotations

import threading
import time

from order_platform.throttle import SharedThrottle
from order_platform.warehouse.engine import make_engine

BOARD = "9609317401"
QUERY = "query { boards(ids: [" + BOARD + "]) { id } }"


def test_a_rate_limit_seen_by_one_client_holds_the_others(tmp_path, make_server, make_client):
    server = make_server(rate_limit_every=2, retry_after_seconds=1.0)
    engine = make_engine(f"sqlite:///{tmp_path / 'platform.db'}")
    told = make_client(server, throttle=SharedThrottle(engine, "monday:test"))
    other = make_client(server, throttle=SharedThrottle(engine, "monday:test"))  # another worker/pod
    told.query(QUERY)  # request 1: fine

    worker = threading.Thread(target=told.query, args=(QUERY,))  # request 2: 429, retry_in 1 s
    worker.start()
    while told.stats.rate_limited == 0:
        time.sleep(0.01)
    started = time.monotonic()
    other.query(QUERY)  # never told anything itself, still waits out the shared second
    waited = time.monotonic() - started
    worker.join()

    assert waited >= 0.8 and other.stats.rate_limit_seconds >= 0.8
    assert told.stats.rate_limited >= 1
