"""Read a board back: every active item with its name, group, mapped cells and subitems.

Paged like monday.com asks: `boards { items_page(limit: N) }` then `next_items_page(cursor, limit: N)`
until the cursor is null, always with an explicit limit (the default is 25) and only the columns of
the mapping (`column_values(ids: [...])`: the team's own columns are never read, so never written).
Every page goes through the client, so it is paced against the complexity budget like the writes
(kind "reconcile": the pacer learns its cost per item from the answers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from order_platform.monday.api.client import MondayClient, MondayRequestError
from order_platform.monday.apply.board import MAX_ITEMS_IDS
from order_platform.monday.mapping import BoardConfig

KIND = "reconcile"
MIN_PAGE = 25

_ITEM_FIELDS = """id name state group { id title }
  column_values(ids: $c) { id text }
  subitems { id name state column_values(ids: $sc) { id text } }"""
_FIRST = (
    "query ($b: [ID!], $l: Int!, $c: [String!], $sc: [String!]) { boards(ids: $b) { items_page(limit: $l) { "
    "cursor items { " + _ITEM_FIELDS + " } } } }"
)
_NEXT = (
    "query ($cursor: String!, $l: Int!, $c: [String!], $sc: [String!]) { next_items_page(cursor: $cursor, "
    "limit: $l) { cursor items { " + _ITEM_FIELDS + " } } }"
)
_STATES = "query ($ids: [ID!], $l: Int!) { items(ids: $ids, limit: $l) { id state } }"


@dataclass
class BoardSubitem:
    id: str
    name: str
    texts: dict[str, str]  # subitem column id -> text


@dataclass
class BoardItem:
    id: str
    name: str
    group_id: str | None
    group_title: str | None
    texts: dict[str, str]  # mapped column id -> text ("" when blank)
    subitems: list[BoardSubitem] = field(default_factory=list)  # active ones, board order


@dataclass
class BoardRead:
    """A board as read: its active items, those carrying the platform's external id grouped by it."""

    board_id: str
    items: list[BoardItem] = field(default_factory=list)
    pages: int = 0

    def by_external_id(self, column_id: str) -> dict[str, list[BoardItem]]:
        out: dict[str, list[BoardItem]] = {}
        for item in self.items:
            key = item.texts.get(column_id, "").strip()
            if key:
                out.setdefault(key, []).append(item)
        for found in out.values():
            found.sort(key=lambda i: _id_order(i.id))
        return out

    def without_external_id(self, column_id: str) -> list[BoardItem]:
        return [i for i in self.items if not i.texts.get(column_id, "").strip()]


def read_board(client: MondayClient, config: BoardConfig, board_id: str, *, page_limit: int = 500) -> BoardRead:
    """Every active item of the board with the mapped columns and its subitems (see the module doc). A page
    refused for its complexity (over the 5,000,000 per query) is asked again with half the limit."""
    columns = [c.monday_column_id for c in config.item_columns] + [config.external_id.monday_column_id]
    sub_columns = [c.monday_column_id for c in config.subitem_columns]
    read = BoardRead(board_id)
    limit = page_limit
    cursor: str | None = None
    while True:
        try:
            if cursor is None:
                variables = {"b": [board_id], "l": limit, "c": columns, "sc": sub_columns}
                boards = client.query(_FIRST, variables, units=limit, kind=KIND).data.get("boards") or []
                page = ((boards[0] or {}).get("items_page") if boards else None) or {"items": [], "cursor": None}
            else:
                variables = {"cursor": cursor, "l": limit, "c": columns, "sc": sub_columns}
                page = client.query(_NEXT, variables, units=limit, kind=KIND).data["next_items_page"]
        except MondayRequestError as exc:
            if limit <= MIN_PAGE or "complexity" not in f"{exc.code} {exc.message}".lower():
                raise
            limit = max(MIN_PAGE, limit // 2)  # one request over the per-query cap: smaller pages
            continue
        read.pages += 1
        read.items.extend(_item(raw) for raw in page.get("items") or [])
        cursor = page.get("cursor")
        if not cursor:
            return read


def item_states(client: MondayClient, item_ids: list[str]) -> dict[str, str]:
    """State of each item (active | archived | deleted); an item the API no longer returns is deleted."""
    states: dict[str, str] = {}
    for start in range(0, len(item_ids), MAX_ITEMS_IDS):
        chunk = item_ids[start : start + MAX_ITEMS_IDS]
        answer = client.query(_STATES, {"ids": chunk, "l": len(chunk)}, units=len(chunk), kind="lookup")
        for raw in answer.data.get("items") or []:
            states[str(raw["id"])] = str(raw.get("state") or "active")
    return {i: states.get(i, "deleted") for i in item_ids}


def _item(raw: dict[str, Any]) -> BoardItem:
    group = raw.get("group") or {}
    subitems = [
        BoardSubitem(str(s["id"]), s.get("name") or "", _texts(s))
        for s in raw.get("subitems") or []
        if s and (s.get("state") or "active") == "active"
    ]
    return BoardItem(str(raw["id"]), raw.get("name") or "", group.get("id"), group.get("title"), _texts(raw), subitems)


def _texts(raw: dict[str, Any]) -> dict[str, str]:
    return {str(cv["id"]): (cv.get("text") or "") for cv in raw.get("column_values") or []}


def _id_order(item_id: str) -> tuple[int, str]:
    return (int(item_id), "") if item_id.isdigit() else (0, item_id)
