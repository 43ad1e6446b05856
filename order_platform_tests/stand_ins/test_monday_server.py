"""The fake must be as strict as monday.com, or the sync tests prove nothing."""

import json

import pytest
import requests

from order_platform_tests.monday_fixtures import TOKEN

BOARD = "9609317401"
HEADERS = {"Authorization": TOKEN, "API-Version": "2025-04"}


def post(server, query, variables=None, headers=None):
    response = requests.post(
        server.url, json={"query": query, "variables": variables or {}}, headers=headers or HEADERS, timeout=5
    )
    return response.status_code, response.json()


def create(server, column_values, group_id="topics", name="Item"):
    return post(
        server,
        "mutation ($g: String, $v: JSON, $n: String!) { create_item(board_id: "
        + BOARD
        + ", group_id: $g, item_name: $n, column_values: $v) { id } }",
        {"g": group_id, "v": column_values, "n": name},
    )


def codes(body):
    return [e.get("extensions", {}).get("code") for e in body.get("errors", [])]


def test_column_values_must_be_a_json_string(server):
    status, body = create(server, {"text_mkr5wya6": "GRE-1"})
    assert status == 200 and body.get("errors") and not server.fake.active_items(BOARD)
    status, body = create(server, json.dumps({"text_mkr5wya6": "GRE-1"}))
    assert body["data"]["create_item"]["id"]


def test_unknown_columns_bad_values_group_titles_and_long_names_are_rejected(server):
    assert codes(create(server, json.dumps({"nope": "x"}))[1]) == ["InvalidColumnIdException"]
    assert codes(create(server, json.dumps({"numeric_mktb1d19": "TBC"}))[1]) == ["ColumnValueException"]
    assert codes(create(server, json.dumps({"numeric_mktb1d19": 42}))[1]) == ["ColumnValueException"]
    assert codes(create(server, json.dumps({"date_mkr5zp5": "03/04/2025"}))[1]) == ["ColumnValueException"]
    assert codes(create(server, json.dumps({"long_text_mkr5hass": {"text": "x" * 2001}}))[1]) == [
        "ColumnValueException"
    ]
    assert codes(create(server, "{}", group_id="Group Title")[1]) == ["InvalidGroupIdException"]
    assert codes(create(server, "{}", name="x" * 256)[1]) == ["ItemNameTooLongException"]
    assert codes(create(server, json.dumps({"dropdown_mkr542p2": {"labels": ["NEW"]}}))[1]) == [
        "ColumnValueException"
    ]  # unknown label without create_labels_if_missing
    assert not server.fake.active_items(BOARD)


def test_auth_and_api_version_are_required(server):
    assert post(server, "{ boards(ids: [1]) { id } }", headers={"API-Version": "2025-04"})[0] == 401
    assert post(server, "{ boards(ids: [1]) { id } }", headers={"Authorization": TOKEN})[0] == 400


def test_complexity_budget_gives_429_with_retry_after(make_server):
    server = make_server(budget=25_000, window_seconds=30)
    query = (
        "mutation { complexity { before after query } create_item(board_id: "
        + BOARD
        + ', item_name: "a") { id } }'
    )
    status, body = post(server, query)
    assert status == 200 and body["data"]["complexity"] == {
        "before": 25_000,
        "after": 15_000,
        "query": 10_000,
    }
    post(server, query)
    response = requests.post(server.url, json={"query": query}, headers=HEADERS, timeout=5)
    assert response.status_code == 429 and float(response.headers["Retry-After"]) > 0
    assert codes(response.json()) == ["COMPLEXITY_BUDGET_EXHAUSTED"]
    assert len(server.fake.active_items(BOARD)) == 2


def test_idempotency_key_replays_instead_of_applying_twice(server):
    headers = {**HEADERS, "Idempotency-Key": "k1"}
    query = "mutation { create_item(board_id: " + BOARD + ', item_name: "a") { id } }'
    first, second = post(server, query, headers=headers), post(server, query, headers=headers)
    assert first == second and len(server.fake.active_items(BOARD)) == 1


@pytest.mark.parametrize("knob", ["server_error_every", "drop_after_apply_every"])
def test_fault_injection(make_server, knob):
    server = make_server(**{knob: 1})
    query = "mutation { create_item(board_id: " + BOARD + ', item_name: "a") { id } }'
    if knob == "server_error_every":
        assert requests.post(server.url, json={"query": query}, headers=HEADERS, timeout=5).status_code == 503
        assert not server.fake.active_items(BOARD)
    else:
        with pytest.raises(requests.ConnectionError):
            requests.post(server.url, json={"query": query}, headers=HEADERS, timeout=5)
        assert len(server.fake.active_items(BOARD)) == 1  # applied, then the answer was lost
