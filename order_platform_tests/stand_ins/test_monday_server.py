"""The fake must be as strict as monday.com, or the sync tests prove nothing."""

import json

import pytest
import requests

from order_platform_tests.monday_fixtures import TOKEN
from stand_ins.monday_server import CURRENT_VERSION, MAINTENANCE_VERSION

BOARD = "9609317401"
HEADERS = {"Authorization": TOKEN, "API-Version": CURRENT_VERSION}


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
    assert post(server, "{ boards(ids: [1]) { id } }", headers={"API-Version": CURRENT_VERSION})[0] == 401
    assert post(server, "{ boards(ids: [1]) { id } }", headers={"Authorization": TOKEN})[0] == 400


def test_complexity_budget_gives_429_with_retry_after(make_server):
    server = make_server(budget=25_000, window_seconds=30)
    query = "mutation { complexity { before after query } create_item(board_id: " + BOARD + ', item_name: "a") { id } }'
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


def change(server, item_id, values, board=BOARD):
    return post(
        server,
        "mutation ($v: JSON!) { change_multiple_column_values(board_id: "
        + board
        + ", item_id: "
        + item_id
        + ", column_values: $v) { id } }",
        {"v": json.dumps(values)},
    )


def test_clearing_null_clears_empty_object_is_rejected_and_empty_string_on_numbers_sets_zero(server):
    values = {"numeric_mktb1d19": "5", "long_text_mkr5hass": {"text": "t"}, "text_mkr5wya6": "GRE-1"}
    item = create(server, json.dumps(values))[1]["data"]["create_item"]["id"]
    stored = server.fake.items[item].values
    assert codes(change(server, item, {"long_text_mkr5hass": {}})[1]) == ["ColumnValueException"]
    assert codes(change(server, item, {"date_mkr5zp5": ""})[1]) == ["ColumnValueException"]
    assert codes(change(server, item, {"name": None})[1]) == ["ColumnValueException"]
    assert stored["long_text_mkr5hass"] == {"text": "t"}
    change(server, item, {"numeric_mktb1d19": ""})
    assert stored["numeric_mktb1d19"] == "0"  # "" on a numbers column is 0, not blank
    change(server, item, {"numeric_mktb1d19": None, "long_text_mkr5hass": None, "text_mkr5wya6": ""})
    assert not {"numeric_mktb1d19", "long_text_mkr5hass", "text_mkr5wya6"} & set(stored)
    assert codes(create(server, json.dumps({"long_text_mkr5hass": {}}))[1]) == ["ColumnValueException"]


def test_paging_defaults_and_maxima(server):
    ids = [create(server, "{}", name=f"i{n}")[1]["data"]["create_item"]["id"] for n in range(30)]
    items = "query ($ids: [ID!], $l: Int) { items(ids: $ids, limit: $l) { id } }"
    assert len(post(server, items, {"ids": ids})[1]["data"]["items"]) == 25  # default limit
    assert len(post(server, items, {"ids": ids, "l": 30})[1]["data"]["items"]) == 30
    assert codes(post(server, items, {"ids": ids, "l": 101})[1]) == ["InvalidArgumentException"]
    assert codes(post(server, items, {"ids": ids * 4})[1]) == ["InvalidArgumentException"]  # > 100 ids
    page = "query { boards(ids: [" + BOARD + "]) { items_count items_page { cursor items { id } } } }"
    board = post(server, page)[1]["data"]["boards"][0]
    assert board["items_count"] == 30 and len(board["items_page"]["items"]) == 25 and board["items_page"]["cursor"]
    big = "query { boards(ids: [" + BOARD + "]) { items_page(limit: 501) { items { id } } } }"
    assert codes(post(server, big)[1]) == ["InvalidArgumentException"]


def test_a_board_holds_at_most_its_item_limit(server):
    server.fake.boards[BOARD].item_limit = 3
    for n in range(3):
        assert create(server, "{}", name=f"i{n}")[1]["data"]["create_item"]["id"]
    assert codes(create(server, "{}", name="one too many")[1]) == ["ItemsLimitationException"]
    server.fake.active_items(BOARD)[0].state = "archived"  # archived items still count
    assert codes(create(server, "{}", name="still too many")[1]) == ["ItemsLimitationException"]


def test_api_versions_served_and_the_answering_version_in_the_header(server):
    query = "{ boards(ids: [" + BOARD + "]) { id } }"
    for asked, answered in [
        (CURRENT_VERSION, CURRENT_VERSION),
        (MAINTENANCE_VERSION, MAINTENANCE_VERSION),
        ("2025-04", MAINTENANCE_VERSION),
    ]:
        response = requests.post(
            server.url, json={"query": query}, headers={**HEADERS, "API-Version": asked}, timeout=5
        )
        assert response.status_code == 200 and response.headers["API-Version"] == answered
    for bad in ("2027-04", "2026-05", "latest"):
        assert post(server, query, headers={**HEADERS, "API-Version": bad})[0] == 400


def test_idempotency_replays_only_what_was_executed(make_server):
    server = make_server(rate_limit_every=1 + 1, retry_after_seconds=0.01)  # request 2 is a 429
    post(server, "{ boards(ids: [" + BOARD + "]) { id } }")
    headers = {**HEADERS, "Idempotency-Key": "k2"}
    query = "mutation { create_item(board_id: " + BOARD + ', item_name: "a") { id } }'
    assert requests.post(server.url, json={"query": query}, headers=headers, timeout=5).status_code == 429
    status, body = post(server, query, headers=headers)  # the same attempt after the 429: executed now
    assert status == 200 and body["data"]["create_item"]["id"] and len(server.fake.active_items(BOARD)) == 1
