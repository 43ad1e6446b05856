"""One throttle for every process talking to the tenant: after a 429 with Retry-After, no request from
any process reaches the (stand-in) Graph server before it elapses. Processes are real (spawned)."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from order_platform.ingest.sharepoint.graph_client import GraphClient
from order_platform.ingest.sharepoint.http import HttpRetrySettings, RetryingSession
from order_platform.throttle import LocalThrottle, SharedThrottle, shared_throttle
from order_platform.warehouse.engine import make_engine
from order_platform_tests.ingest.conftest import StaticToken
from stand_ins.graph_server import FakeGraph, Fault

RETRY_AFTER = 2.0
KEY = "graph:test-tenant"


def _worker(database_url: str, base_url: str, drive: str, seconds: float, go: float) -> int:
    """A worker process: GETs the drive root back to back for `seconds`, through the shared throttle."""
    client = GraphClient(
        StaticToken(),
        base_url,
        HttpRetrySettings(max_attempts=4, backoff_base=0.01),
        throttle=SharedThrottle(make_engine(database_url), KEY),
    )
    time.sleep(max(0.0, go - time.time()))
    sent = 0
    while sent < 5 or time.time() < go + seconds:  # a late start (slow spawn) still takes part
        client.get_json(f"drives/{drive}/root", {"$select": "id"})
        sent += 1
    return sent


def test_retry_after_holds_every_process_of_the_instance(tmp_path, graph: FakeGraph):
    database_url = f"sqlite:///{tmp_path / 'platform.db'}"
    SharedThrottle(make_engine(database_url), KEY).not_before()  # table exists before the race
    context = multiprocessing.get_context("spawn")
    go = time.time() + 4.0  # spawned interpreters import first; then all start together
    # closed and joined, not terminated (the context manager's exit): terminating sends SIGTERM, which a
    # worker started where SIGTERM is ignored (a background job's child) never acts on, and the join hangs
    pool = context.Pool(3)
    try:
        results = [
            pool.apply_async(_worker, (database_url, graph.base_url, graph.DRIVE_ID, 3.5, go)) for _ in range(3)
        ]
        time.sleep(max(0.0, go - time.time()) + 0.5)  # the three are sending now
        graph.faults.append(Fault("/root", 429, {"Retry-After": str(int(RETRY_AFTER))}))
        sent = [r.get(timeout=60) for r in results]
    finally:
        pool.close()
        pool.join()

    assert all(n > 0 for n in sent)
    throttled = [r for r in graph.requests if r.status == 429]
    assert len(throttled) == 1
    start = throttled[0].at
    inside = [r.at - start for r in graph.requests if start + 0.05 < r.at < start + RETRY_AFTER - 0.05]
    assert inside == [], f"{len(inside)} requests inside the Retry-After window: {inside[:5]}"
    after = [r for r in graph.requests if r.at >= start + RETRY_AFTER - 0.05]
    assert len(after) >= 3  # and they resumed afterwards
    assert SharedThrottle(make_engine(database_url), KEY).not_before() > 0


def test_a_hold_only_extends_and_wait_sleeps_the_remainder(tmp_path):
    now = [1000.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    throttle = SharedThrottle(engine, "monday:test", clock=lambda: now[0], sleep=sleep)
    assert throttle.wait() == 0.0
    throttle.hold(30, "429")
    SharedThrottle(engine, "monday:test", clock=lambda: now[0]).hold(5, "shorter, later")
    assert throttle.remaining() == pytest.approx(30)
    now[0] += 10
    assert throttle.wait() == pytest.approx(20) and slept == [pytest.approx(20)]
    assert SharedThrottle(engine, "other", clock=lambda: now[0]).remaining() <= 0  # keys are apart


def test_shared_throttle_is_kept_with_the_platform_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'platform.db'}"
    shared_throttle("graph:x", make_engine(url)).hold(60)
    assert 55 < shared_throttle("graph:x", make_engine(url)).remaining() <= 60  # another process's engine
    assert (tmp_path / "platform.db-throttle").exists()  # beside the embedded database, locked apart


def test_backoff_without_retry_after_on_503_is_shared_too(graph: FakeGraph, static_token):
    throttle = LocalThrottle()
    session = RetryingSession(HttpRetrySettings(max_attempts=3, backoff_base=0.2, backoff_max=0.2), throttle)
    graph.faults.append(Fault("/root", 503))
    client = GraphClient(static_token, graph.base_url, session=session)
    client.get_json(f"drives/{graph.DRIVE_ID}/root")
    assert [r.status for r in graph.requests] == [503, 200]
    assert throttle.not_before > 0  # the backoff was published for the other clients
