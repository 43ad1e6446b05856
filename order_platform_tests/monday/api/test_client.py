import logging
import time

import pytest

from order_platform.monday import MondayClient, MondaySettings, load_board_config
from order_platform.monday.api.client import AmbiguousMutationError, MondayFatalError, MondayRequestError
from order_platform.monday.api.pacing import ComplexityPacer, backoff_delay
from order_platform.monday.mapping import DEFAULT_API_VERSION
from order_platform_tests.monday_fixtures import TOKEN
from stand_ins.monday_server import OLDEST_SERVED_VERSION, SERVED_VERSIONS

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
    assert server.fake.stats.api_versions == {DEFAULT_API_VERSION}
    assert server.fake.stats.mutation_requests_without_key == 0


def test_pinned_version_is_not_older_than_the_oldest_the_stand_in_serves(config):
    """Fails when the pin falls behind: monday.com would answer with another (maintenance) version.
    (Versions are YYYY-MM strings: they compare in time order.)"""
    pinned = MondaySettings().api_version or load_board_config().sync.api_version  # what a run sends
    assert pinned >= OLDEST_SERVED_VERSION, f"API-Version {pinned} is older than {OLDEST_SERVED_VERSION}"
    assert DEFAULT_API_VERSION == load_board_config().sync.api_version == max(SERVED_VERSIONS)


def test_a_deprecated_version_is_answered_by_the_maintenance_one_and_noticed(server, config, caplog):
    settings = MondaySettings(api_token=TOKEN, api_url=server.url, api_version="2025-04")
    client = MondayClient.from_settings(settings, config)
    assert client is not None
    with client, caplog.at_level(logging.WARNING):
        client.query("query { boards(ids: [" + BOARD + "]) { id } }")
    assert client.stats.answered_by == "2026-07"
    assert "2026-07" in caplog.text
    bad = MondayClient.from_settings(settings.model_copy(update={"api_version": "2099-13"}), config)
    assert bad is not None
    with bad, pytest.raises(MondayRequestError):
        bad.query("query { boards(ids: [" + BOARD + "]) { id } }")


def test_each_mutation_attempt_has_its_own_key_so_a_repeated_change_applies(server, make_client):
    """24 -> 25 -> 24 -> 25 within the 30-minute window: every change lands (a body hash would replay)."""
    client = make_client(server)
    item = client.mutate(CREATE, units=1).data["m0"]["id"]
    change = (
        "mutation ($v: JSON!) { m0: change_multiple_column_values(board_id: "
        + BOARD
        + ", item_id: "
        + item
        + ", column_values: $v) { id } }"
    )
    for quantity in ("24", "25", "24", "25"):
        client.mutate(change, {"v": '{"numeric_mktb1d19": "' + quantity + '"}'}, units=1)
        assert server.fake.items[item].values["numeric_mktb1d19"] == quantity
    assert server.fake.stats.replays == 0


def test_the_same_attempt_resent_with_its_key_is_replayed_not_applied_twice(server, make_client):
    client = make_client(server)
    client.mutate(CREATE, units=1, idempotency_key="attempt-1")
    client.mutate(CREATE, units=1, idempotency_key="attempt-1")
    assert len(server.fake.active_items(BOARD)) == 1 and server.fake.stats.replays == 1


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

    pacer = ComplexityPacer(safety_margin=0, mutation_cost=10_000, query_cost=1000, clock=lambda: now[0], sleep=sleep)
    pacer.observe({"before": 60_000, "after": 50_000, "query": 10_000, "reset_in_x_seconds": 7}, "mutation", 1)
    assert pacer.before_request(pacer.estimate("mutation", 5)) == 0
    assert pacer.before_request(pacer.estimate("mutation", 6)) > 6.9
    assert slept and now[0] >= 107


def test_backoff_is_exponential_capped_and_jittered():
    delays = [backoff_delay(a, base=1, cap=10, jitter_fraction=0.5, rng=lambda: 1.0) for a in range(6)]
    assert delays == [0.5, 1, 2, 4, 5, 5]
    assert backoff_delay(3, base=1, cap=10, jitter_fraction=0.5, rng=lambda: 0.0) == 8
