import logging
import time

import pytest

from order_platform.monday.client import AmbiguousMutationError, MondayFatalError, MondayRequestError
from order_platform.monday.pacing import ComplexityPacer, backoff_delay
from order_platform_tests.monday_fixtures import TOKEN

BOARD = "9609317401"
CREATE = "mutation { m0: create_item(board_id: " + BOARD + ', item_name: "a") { id } }'


def test_rate_limit_429_is_honoured_then_retried(make_server, make_client):
    server = make_server(rate_limit_every=2, retry_after_seconds=0.3)
    client = make_client(server)
    started = time.monotonic()
    for _ in range(3):
        client.query("query { boards(ids: [" + BOARD + "]) { id } }")
    assert time.monotonic() - started >= 0.3  # waited Retry-After at least once
    assert client.stats.rate_limited >= 1 and server.fake.stats.responses_429 >= 1
    assert client.stats.requests == server.fake.stats.requests


def test_mutation_after_429_is_sent_once(make_server, make_client):
    server = make_server(rate_limit_every=1 + 1, retry_after_seconds=0.1)
    client = make_client(server)
    client.query("query { boards(ids: [" + BOARD + "]) { id } }")  # request 1 ok; the mutation hits #2 = 429
    response = client.mutate(CREATE, units=1)
    assert response.data["m0"]["id"]
    assert len(server.fake.active_items(BOARD)) == 1 and server.fake.stats.responses_429 == 1


def test_5xx_on_query_is_retried_with_backoff(make_server, make_client):
    server = make_server(server_error_every=2)
    client = make_client(server)
    for _ in range(3):
        assert client.query("query { boards(ids: [" + BOARD + "]) { id } }").data["boards"]
    assert server.fake.stats.responses_5xx >= 1 and client.stats.retries >= 1


def test_dropped_mutation_is_ambiguous_not_retried_blindly(make_server, make_client):
    server = make_server(drop_after_apply_every=1)
    client = make_client(server)
    with pytest.raises(AmbiguousMutationError):
        client.mutate(CREATE, units=1)
    assert len(server.fake.active_items(BOARD)) == 1


def test_headers_pinned_and_every_mutation_carries_an_idempotency_key(server, make_client):
    client = make_client(server)
    client.mutate(CREATE, units=1)
    assert server.fake.stats.api_versions == {"2025-04"}
    assert server.fake.stats.mutation_requests_without_key == 0


def test_complexity_is_read_and_counted(server, make_client):
    client = make_client(server)
    client.mutate(CREATE, units=1)
    assert client.stats.complexity_spent == 10_000 == server.fake.stats.complexity_spent
    assert client.pacer.remaining == server.fake.budget - 10_000


def test_request_errors_and_auth_errors(server, make_client, config):
    client = make_client(server)
    with pytest.raises(MondayRequestError):
        client.query("query { nope }")
    server.fake.token = "another"
    with pytest.raises(MondayFatalError):
        client.query("query { boards(ids: [1]) { id } }")


def test_token_never_logged_or_shown(server, make_client, caplog):
    caplog.set_level(logging.DEBUG)
    client = make_client(server)
    client.mutate(CREATE, units=1)
    assert TOKEN not in repr(client)
    assert TOKEN not in caplog.text


def test_pacer_waits_for_reset_only_when_the_next_request_does_not_fit():
    now = [100.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    pacer = ComplexityPacer(
        safety_margin=0, mutation_cost=10_000, query_cost=1000, clock=lambda: now[0], sleep=sleep
    )
    pacer.observe(
        {"before": 60_000, "after": 50_000, "query": 10_000, "reset_in_x_seconds": 7}, "mutation", 1
    )
    assert pacer.before_request(pacer.estimate("mutation", 5)) == 0
    assert pacer.before_request(pacer.estimate("mutation", 6)) > 6.9
    assert slept and now[0] >= 107


def test_backoff_is_exponential_capped_and_jittered():
    delays = [backoff_delay(a, base=1, cap=10, jitter_fraction=0.5, rng=lambda: 1.0) for a in range(6)]
    assert delays == [0.5, 1, 2, 4, 5, 5]
    assert backoff_delay(3, base=1, cap=10, jitter_fraction=0.5, rng=lambda: 0.0) == 8
