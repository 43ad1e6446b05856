"""Board-level reads and setup: discover columns, groups and the subitems board; look items up.

Everything here is read-mostly and safe to repeat; the only writes (create_group, create_column)
are followed by a re-read when their outcome is ambiguous.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from order_platform.monday.api.client import AmbiguousMutationError, MondayClient, MondayRequestError
from order_platform.monday.mapping import BoardConfig


class BoardConfigError(MondayRequestError):
    """The board does not have the columns the mapping expects."""

    code = "BOARD_MISMATCH"


@dataclass
class BoardInfo:
    board_id: str
    columns: dict[str, str]  # id -> type
    groups: dict[str, str]  # title -> id (first group with that title)
    subitems_board_id: str | None
    subitem_columns: dict[str, str] = field(default_factory=dict)
    items_count: int | None = None  # what the board holds now, as the board says


@dataclass
class FoundItem:
    item_id: str
    group_id: str | None


_BOARD_QUERY = """query ($ids: [ID!]) { boards(ids: $ids) {
  id groups { id title } columns { id type settings_str } } }"""


def _read_board(client: MondayClient, board_id: str) -> dict:
    boards = client.query(_BOARD_QUERY, {"ids": [board_id]}).data.get("boards") or []
    if not boards:
        raise BoardConfigError(f"board {board_id} not found or not accessible")
    return boards[0]


def discover_board(client: MondayClient, config: BoardConfig, board_id: str) -> BoardInfo:
    """Columns, groups and the subitems board (from the subtasks column settings), validated
    against the mapping. Creates the external-id text column when missing and allowed."""
    board = _read_board(client, board_id)
    columns = {c["id"]: c["type"] for c in board["columns"]}
    ext = config.external_id
    if ext.monday_column_id not in columns:
        if not ext.create_if_missing:
            raise BoardConfigError(f"external id column {ext.monday_column_id!r} missing on board {board_id}")
        _create_external_id_column(client, config, board_id)
        columns[ext.monday_column_id] = "text"
    _check_columns(columns, {c.monday_column_id: c.monday_type for c in config.item_columns}, board_id)
    groups: dict[str, str] = {}
    for group in board["groups"]:
        groups.setdefault(group["title"], group["id"])
    sub_board_id = None
    for column in board["columns"]:
        if column["type"] == "subtasks":
            ids = json.loads(column.get("settings_str") or "{}").get("boardIds") or []
            sub_board_id = str(ids[0]) if ids else None
    sub_board_id = sub_board_id or config.board.subitems_board_id
    info = BoardInfo(board_id, columns, groups, sub_board_id)
    if sub_board_id:
        sub = _read_board(client, sub_board_id)
        info.subitem_columns = {c["id"]: c["type"] for c in sub["columns"]}
        _check_columns(
            info.subitem_columns,
            {c.monday_column_id: c.monday_type for c in config.subitem_columns},
            sub_board_id,
        )
    return info


def read_items_count(client: MondayClient, board_id: str, page_limit: int = 500) -> int | None:
    """How many items the board holds: its `items_count`, else (an API without the field) its items
    counted page by page (items_page, explicit limit, cursors; active items only)."""
    try:
        boards = client.query("query ($ids: [ID!]) { boards(ids: $ids) { id items_count } }", {"ids": [board_id]})
        count = ((boards.data.get("boards") or [{}])[0] or {}).get("items_count")
        if count is not None:
            return int(count)
    except MondayRequestError:
        pass
    try:
        first = client.query(_COUNT_QUERY, {"ids": [board_id], "l": page_limit}, units=page_limit, kind="lookup")
        page = ((first.data.get("boards") or [{}])[0] or {}).get("items_page") or {}
        total = len(page.get("items") or [])
        while page.get("cursor"):
            variables = {"cursor": page["cursor"], "l": page_limit}
            page = client.query(_COUNT_NEXT, variables, units=page_limit, kind="lookup").data["next_items_page"]
            total += len(page.get("items") or [])
        return total
    except MondayRequestError:
        return None


_COUNT_QUERY = "query ($ids: [ID!], $l: Int!) { boards(ids: $ids) { items_page(limit: $l) { cursor items { id } } } }"
_COUNT_NEXT = (
    "query ($cursor: String!, $l: Int!) { next_items_page(cursor: $cursor, limit: $l) { cursor items { id } } }"
)


def _check_columns(actual: dict[str, str], expected: dict[str, str], board_id: str) -> None:
    missing = sorted(set(expected) - set(actual))
    wrong = sorted(c for c in expected if c in actual and actual[c] != expected[c])
    if missing or wrong:
        raise BoardConfigError(f"board {board_id}: missing columns {missing}, wrong types {wrong}")


def _create_external_id_column(client: MondayClient, config: BoardConfig, board_id: str) -> None:
    ext = config.external_id
    try:
        client.mutate(
            "mutation ($b: ID!, $t: String!, $id: String) { create_column(board_id: $b, title: $t, "
            "column_type: text, id: $id) { id } }",
            {"b": board_id, "t": ext.title, "id": ext.monday_column_id},
            units=1,
        )
    except AmbiguousMutationError:
        board = _read_board(client, board_id)
        if ext.monday_column_id not in {c["id"] for c in board["columns"]}:
            raise


def ensure_groups(client: MondayClient, info: BoardInfo, titles: list[str], batch: int) -> dict[str, str]:
    """Group id per title, creating missing groups (aliased, batched). Updates `info.groups`."""
    for _attempt in range(3):
        missing = [t for t in dict.fromkeys(titles) if t not in info.groups]
        if not missing:
            break
        for start in range(0, len(missing), batch):
            chunk = missing[start : start + batch]
            definitions = ", ".join(f"$n{i}: String!" for i in range(len(chunk)))
            body = " ".join(
                f"g{i}: create_group(board_id: $b, group_name: $n{i}) {{ id title }}" for i in range(len(chunk))
            )
            variables: dict = {"b": info.board_id, **{f"n{i}": t for i, t in enumerate(chunk)}}
            try:
                response = client.mutate(f"mutation ($b: ID!, {definitions}) {{ {body} }}", variables, units=len(chunk))
            except AmbiguousMutationError:
                client.backoff(1)
                info.groups.update(
                    {g["title"]: g["id"] for g in reversed(_read_board(client, info.board_id)["groups"])}
                )
                break
            errors = response.errors_by_alias()
            for i, title in enumerate(chunk):
                created = response.data.get(f"g{i}")
                if created:
                    info.groups[title] = created["id"]
                elif f"g{i}" in errors:
                    raise MondayRequestError(f"create_group {title!r}: {errors[f'g{i}'].get('message')}")
    return {t: info.groups[t] for t in titles if t in info.groups}


_LOOKUP_QUERY = """query ($b: ID!, $c: String!, $v: [String]!, $l: Int!) {
  items_page_by_column_values(board_id: $b, limit: $l, columns: [{column_id: $c, column_values: $v}]) {
    cursor items { id group { id } column_values(ids: [$c]) { id text } } } }"""
_NEXT_QUERY = """query ($cursor: String!, $l: Int!, $c: String!) {
  next_items_page(cursor: $cursor, limit: $l) {
    cursor items { id group { id } column_values(ids: [$c]) { id text } } } }"""


def find_items_by_external_id(
    client: MondayClient, config: BoardConfig, board_id: str, values: list[str]
) -> dict[str, list[FoundItem]]:
    """Active items per external id (items_page_by_column_values); more than one = duplicates."""
    column = config.external_id.monday_column_id
    batching = config.sync.batching
    found: dict[str, list[FoundItem]] = {}
    for start in range(0, len(values), batching.lookup_values_per_request):
        chunk = values[start : start + batching.lookup_values_per_request]
        limit = batching.lookup_page_limit
        page = client.query(
            _LOOKUP_QUERY, {"b": board_id, "c": column, "v": chunk, "l": limit}, units=limit, kind="lookup"
        ).data["items_page_by_column_values"]
        while True:
            for item in page["items"]:
                text = next((cv["text"] for cv in item["column_values"] if cv["id"] == column), None)
                if text:
                    found.setdefault(text, []).append(FoundItem(item["id"], (item.get("group") or {}).get("id")))
            if not page.get("cursor"):
                break
            page = client.query(
                _NEXT_QUERY, {"cursor": page["cursor"], "l": limit, "c": column}, units=limit, kind="lookup"
            ).data["next_items_page"]
    for items in found.values():
        items.sort(key=lambda f: _id_order(f.item_id))
    return found


_SUBITEMS_QUERY = "query ($ids: [ID!], $l: Int!) { items(ids: $ids, limit: $l) { id subitems { id name } } }"
MAX_ITEMS_IDS = 100  # root items(ids) takes at most 100 ids and returns 25 unless `limit` is given


def find_subitems(client: MondayClient, config: BoardConfig, parent_ids: list[str]) -> dict[str, dict[str, list[str]]]:
    """Subitem ids per name (oldest first: more than one is a duplicate), per parent item id."""
    out: dict[str, dict[str, list[str]]] = {}
    step = min(config.sync.batching.parents_per_subitem_lookup, MAX_ITEMS_IDS)
    for start in range(0, len(parent_ids), step):
        chunk = parent_ids[start : start + step]
        answer = client.query(_SUBITEMS_QUERY, {"ids": chunk, "l": len(chunk)}, units=len(chunk), kind="subitems")
        for item in answer.data.get("items") or []:
            names: dict[str, list[str]] = {}
            for sub in item.get("subitems") or []:
                names.setdefault(sub["name"], []).append(str(sub["id"]))
            for ids in names.values():
                ids.sort(key=_id_order)
            out[str(item["id"])] = names
    return out


def _id_order(item_id: str) -> tuple[int, str]:
    return (int(item_id), "") if item_id.isdigit() else (0, item_id)


_SCAN_QUERY = """query ($b: [ID!], $l: Int!, $c: String!) { boards(ids: $b) { items_page(limit: $l) {
  cursor items { id column_values(ids: [$c]) { id text } subitems { id name } } } } }"""
_SCAN_NEXT = """query ($cursor: String!, $l: Int!, $c: String!) { next_items_page(cursor: $cursor, limit: $l) {
  cursor items { id column_values(ids: [$c]) { id text } subitems { id name } } } }"""


@dataclass
class BoardScan:
    """Every active item of a board: ids per external id, and subitem ids per name per item."""

    items: dict[str, list[str]] = field(default_factory=dict)
    subitems: dict[str, dict[str, list[str]]] = field(default_factory=dict)


def scan_board(client: MondayClient, config: BoardConfig, board_id: str) -> BoardScan:
    """Read the whole board page by page (items_page, explicit limit, cursors) to find duplicates."""
    column = config.external_id.monday_column_id
    limit = config.sync.batching.lookup_page_limit
    scan = BoardScan()
    variables: dict = {"b": [board_id], "l": limit, "c": column}
    boards = client.query(_SCAN_QUERY, variables, units=limit, kind="lookup").data.get("boards") or []
    page = boards[0]["items_page"] if boards else {"items": [], "cursor": None}
    while True:
        for item in page["items"]:
            text = next((cv["text"] for cv in item.get("column_values") or [] if cv["id"] == column), None)
            if text:
                scan.items.setdefault(text, []).append(str(item["id"]))
            names: dict[str, list[str]] = {}
            for sub in item.get("subitems") or []:
                names.setdefault(sub["name"], []).append(str(sub["id"]))
            scan.subitems[str(item["id"])] = names
        if not page.get("cursor"):
            break
        page = client.query(
            _SCAN_NEXT, {"cursor": page["cursor"], "l": limit, "c": column}, units=limit, kind="lookup"
        ).data["next_items_page"]
    for ids in scan.items.values():
        ids.sort(key=_id_order)
    for names in scan.subitems.values():
        for ids in names.values():
            ids.sort(key=_id_order)
    return scan
