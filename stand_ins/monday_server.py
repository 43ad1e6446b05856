"""A local stand-in for monday.com's GraphQL API (the subset the sync uses), over real HTTP.

Used by the tests and by `bench.run_monday_bench`; never by production code paths. It is meant to be
at least as strict as the real API:
- `column_values` must be a JSON *string* (an object is rejected), keyed by existing column ids;
  values are checked per column type (numbers as numeric strings, {"date": "YYYY-MM-DD"},
  {"labels": [...]}, {"text": <= 2000 chars}, {"label": ...}, text as a string);
- `group_id` must be an existing group id (a title is rejected); item names are 1-255 characters;
- the Authorization token and an API-Version header are required;
- complexity: every request is costed before it runs (mutations `mutation_cost` points each, reads
  `query_base_cost` + `per_item_cost` per object they may return, nested lists multiplying: a page
  of items costs its limit x (1 + column values asked + SUBITEMS_PER_ITEM x what a subitem asks));
  a request over `max_query_complexity` (5,000,000) is refused; a fixed window starts at the first request after the
  previous one expired (monday: "reset 60 seconds after the first call"); a request that does not fit
  gets HTTP 429 COMPLEXITY_BUDGET_EXHAUSTED with retry_in_seconds and Retry-After;
- `Idempotency-Key`: a repeated key within 30 minutes replays the first answer without applying
  (answers that were executed; a 429 or 5xx is not cached);
- clearing (change_multiple_column_values / create_item): `null` clears any column, `""` clears a
  text column and sets a numbers column to 0, `{}` is rejected (ColumnValueException), as is `""`
  on other types; the item name cannot be cleared;
- paging: root `items(ids: [...])` takes at most 100 ids and returns 25 unless `limit` is given (max
  100); `items_page` / `next_items_page` / `items_page_by_column_values` return 25 unless `limit`
  is given (max 500);
- a board holds at most `item_limit` items (10,000; active and archived): one more create fails
  with ItemsLimitationException; `items_count` on a board says how many it holds;
- API versions: `SERVED_VERSIONS` (2026-10 current, 2026-07 maintenance) are served; an older
  (deprecated) version is answered by the maintenance version; anything else is HTTP 400. Each
  answer carries the `API-Version` that answered.

People: `stand_ins/monday_person.BoardPerson` edits the board server-side, as someone in the UI would
(cells, names, the team's own columns, archive, delete, move, items and subitems by hand), without
requests or counters.

Knobs for faults: `rate_limit_every` (HTTP 429 RATE_LIMIT_EXCEEDED every Nth request),
`server_error_every` (HTTP 503, not applied), `drop_after_apply_every` (every Nth mutation request is
applied, then the connection is closed without an answer); the same at random, seeded by `fault_seed`:
`rate_limit_rate`, `server_error_rate` (e.g. 0.05: 5% of requests answer 503), `drop_after_apply_rate`
(a fraction of mutation requests applied, then dropped), `mutation_error_rate` (503 on mutations
only, not applied: reads still work); `delay_seconds` (every request is applied, then answered this
much later: slow responses, e.g. 0.3; past the client's timeout the answer is lost).
`window_seconds` scales the budget window (e.g. 10,000,000 per 6 s = the real per-minute budget,
10x faster) to keep benches short; retry times may then be fractional seconds.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import json
import math
import random
import re
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from graphql import (
    ExecutionResult,
    FieldNode,
    GraphQLError,
    GraphQLScalarType,
    OperationDefinitionNode,
    StringValueNode,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.utilities import value_from_ast_untyped

SDL = """
scalar JSON
enum ColumnType { text numbers date dropdown long_text status subtasks name }
enum State { active archived deleted all }
type Complexity { before: Int! after: Int! query: Int! reset_in_x_seconds: Int! }
type Column { id: ID! title: String! type: ColumnType! settings_str: String! }
type Group { id: ID! title: String! }
type ColumnValue { id: ID! type: ColumnType! text: String value: JSON }
type Item {
  id: ID! name: String! state: State group: Group board: Board
  column_values(ids: [String!]): [ColumnValue!]!
  subitems: [Item] parent_item: Item
}
type ItemsResponse { cursor: String items: [Item!]! }
type Board {
  id: ID! name: String! items_count: Int
  columns(ids: [String], types: [ColumnType!]): [Column]
  groups(ids: [String]): [Group]
  items_page(limit: Int! = 25, cursor: String): ItemsResponse!
}
input ItemsPageByColumnValuesQuery { column_id: String! column_values: [String]! }
type Query {
  complexity: Complexity
  boards(ids: [ID!], limit: Int): [Board]
  items(ids: [ID!], limit: Int): [Item]
  items_page_by_column_values(board_id: ID!, columns: [ItemsPageByColumnValuesQuery!], cursor: String,
                              limit: Int! = 25): ItemsResponse!
  next_items_page(cursor: String!, limit: Int! = 25): ItemsResponse!
}
type Mutation {
  complexity: Complexity
  create_item(board_id: ID!, group_id: String, item_name: String!, column_values: JSON,
              create_labels_if_missing: Boolean): Item
  create_subitem(parent_item_id: ID!, item_name: String!, column_values: JSON,
                 create_labels_if_missing: Boolean): Item
  change_multiple_column_values(board_id: ID!, item_id: ID, column_values: JSON!,
                                create_labels_if_missing: Boolean): Item
  move_item_to_group(item_id: ID, group_id: String!): Item
  archive_item(item_id: ID): Item
  delete_item(item_id: ID): Item
  create_group(board_id: ID!, group_name: String!): Group
  create_column(board_id: ID!, title: String!, column_type: ColumnType!, id: String,
                description: String): Column
}
"""

CURRENT_VERSION = "2026-10"
MAINTENANCE_VERSION = "2026-07"
SERVED_VERSIONS = (MAINTENANCE_VERSION, CURRENT_VERSION)  # oldest first
OLDEST_SERVED_VERSION = SERVED_VERSIONS[0]
_VERSION = re.compile(r"^(\d{4})-(01|04|07|10)$")
MAX_PAGE = 500
DEFAULT_PAGE = 25
SUBITEMS_PER_ITEM = 10  # read cost: subitems counted per item, whatever an item holds (like a list's limit)
COLUMNS_PER_BOARD_ESTIMATE = 50  # read cost of column_values without ids
MAX_ITEMS_IDS = 100
BOARD_ITEM_LIMIT = 10_000
DROPDOWN_MAX_LABELS = 500
STATUS_MAX_LABELS = 40
IDEMPOTENCY_TTL = 30 * 60
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def answering_version(asked: str | None) -> str | None:
    """The version that answers a request pinned to `asked`, or None (HTTP 400)."""
    if asked in SERVED_VERSIONS:
        return asked
    if asked and _VERSION.match(asked) and asked < OLDEST_SERVED_VERSION:
        return MAINTENANCE_VERSION  # deprecated: served by the maintenance version
    return None


def _fail(code: str, message: str, **data: Any) -> GraphQLError:
    return GraphQLError(message, extensions={"code": code, "status_code": 200, "error_data": data})


def _serialize_json(value: Any) -> Any:
    return json.dumps(value)


def _parse_json_string(value: Any) -> Any:
    if not isinstance(value, str):
        raise GraphQLError(f"JSON arguments must be JSON-encoded strings, got {type(value).__name__}")
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise GraphQLError(f"invalid JSON: {exc}") from None


def _parse_json_literal(node: Any, variables: Any = None) -> Any:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("JSON arguments must be JSON-encoded strings")
    return _parse_json_string(node.value)


@dataclass
class FakeColumn:
    id: str
    title: str
    type: str
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass
class FakeBoard:
    id: str
    name: str
    columns: dict[str, FakeColumn] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)  # id -> title, in board order
    item_ids: list[str] = field(default_factory=list)
    item_limit: int | None = BOARD_ITEM_LIMIT  # None: unlimited (the stand-in's subitems boards)


@dataclass
class FakeItem:
    id: str
    board_id: str
    name: str
    group_id: str
    values: dict[str, Any] = field(default_factory=dict)
    parent_id: str | None = None
    state: str = "active"
    subitem_ids: list[str] = field(default_factory=list)


@dataclass
class FakeStats:
    requests: int = 0
    mutation_requests: int = 0
    mutations: dict[str, int] = field(default_factory=dict)
    responses_429: int = 0
    responses_5xx: int = 0
    drops: int = 0
    replays: int = 0
    complexity_spent: int = 0
    largest_request: int = 0  # the costliest request's complexity (monday.com refuses over 5,000,000)
    mutation_requests_without_key: int = 0
    windows: list[dict[str, float]] = field(default_factory=list)  # {"start", "spent"} per budget window
    api_versions: set[str] = field(default_factory=set)  # as asked
    answering_versions: set[str] = field(default_factory=set)


class FakeMonday:
    """The in-memory board store and GraphQL executor (no HTTP); `FakeMondayServer` serves it."""

    def __init__(
        self,
        *,
        token: str = "test-token",
        budget: int = 10_000_000,
        window_seconds: float = 60.0,
        max_query_complexity: int = 5_000_000,
        mutation_cost: int = 10_000,
        query_base_cost: int = 1_000,
        per_item_cost: int = 10,
        rate_limit_every: int = 0,
        server_error_every: int = 0,
        drop_after_apply_every: int = 0,
        rate_limit_rate: float = 0.0,
        server_error_rate: float = 0.0,
        mutation_error_rate: float = 0.0,
        drop_after_apply_rate: float = 0.0,
        delay_seconds: float = 0.0,
        fault_seed: int = 0,
        retry_after_seconds: float = 1.0,
        clock: Any = time.monotonic,
    ) -> None:
        self.token = token
        self.budget = budget
        self.window_seconds = window_seconds
        self.max_query_complexity = max_query_complexity
        self.mutation_cost = mutation_cost
        self.query_base_cost = query_base_cost
        self.per_item_cost = per_item_cost
        self.rate_limit_every = rate_limit_every
        self.server_error_every = server_error_every
        self.drop_after_apply_every = drop_after_apply_every
        self.rate_limit_rate = rate_limit_rate
        self.server_error_rate = server_error_rate
        self.mutation_error_rate = mutation_error_rate
        self.drop_after_apply_rate = drop_after_apply_rate
        self.delay_seconds = delay_seconds
        self._faults = random.Random(fault_seed)
        self.retry_after_seconds = retry_after_seconds
        self.clock = clock
        self.boards: dict[str, FakeBoard] = {}
        self.items: dict[str, FakeItem] = {}
        self.stats = FakeStats()
        self.lock = threading.RLock()
        self._ids = itertools.count(10_000_000_001)
        self._window_start: float | None = None
        self._spent = 0
        self._cursors: dict[str, list[str]] = {}
        self._answering = CURRENT_VERSION
        self._idempotent: dict[str, tuple[float, int, dict[str, str], bytes]] = {}
        self.schema = build_schema(SDL)
        json_type = self.schema.type_map["JSON"]
        assert isinstance(json_type, GraphQLScalarType)
        # build_schema leaves a custom scalar's conversions to be set on it (graphql-core's documented way);
        # graphql-core types them as methods, so mypy flags the assignment.
        json_type.serialize = _serialize_json  # type: ignore[method-assign]
        json_type.parse_value = _parse_json_string  # type: ignore[method-assign]
        json_type.parse_literal = _parse_json_literal  # type: ignore[method-assign]
        self._wire_resolvers()

    # ---- setup ---------------------------------------------------------------------------------

    def new_id(self) -> str:
        return str(next(self._ids))

    def add_board(
        self,
        board_id: str,
        name: str,
        columns: list[FakeColumn],
        groups: dict[str, str] | None = None,
    ) -> FakeBoard:
        board = FakeBoard(board_id, name, {c.id: c for c in columns}, dict(groups or {"topics": "Group Title"}))
        board.columns.setdefault("name", FakeColumn("name", "Name", "name"))
        self.boards[board_id] = board
        return board

    def seed_from_config(self, config: Any, *, with_external_id: bool = True) -> None:
        """Create every board of a monday_board.json BoardConfig (`board` and `extra_boards`), each
        with its subitems board."""
        for board in getattr(config, "boards", [config.board]):
            self._seed_board(config, board, with_external_id)

    def _seed_board(self, config: Any, board: Any, with_external_id: bool) -> None:
        sub_id = board.subitems_board_id or self.new_id()
        columns = [FakeColumn(c.monday_column_id, c.order_list_column, c.monday_type) for c in config.item_columns]
        if with_external_id:
            ext = config.sync.external_id_column
            columns.append(FakeColumn(ext.monday_column_id, ext.title, "text"))
        columns.append(FakeColumn("subitems", "Subitems", "subtasks", {"boardIds": [int(sub_id)]}))
        main = self.add_board(board.id, board.name or "Board", columns)
        main.item_limit = getattr(board, "item_limit", BOARD_ITEM_LIMIT)
        sub_columns = [FakeColumn(c.monday_column_id, c.field, c.monday_type) for c in config.subitem_columns]
        sub = self.add_board(sub_id, "Subitems of " + (board.name or "Board"), sub_columns, {"topics": "Subitems"})
        sub.item_limit = None  # the stand-in limits main boards only

    # ---- queries for tests ---------------------------------------------------------------------

    def active_items(self, board_id: str) -> list[FakeItem]:
        return [self.items[i] for i in self.boards[board_id].item_ids if self.items[i].state == "active"]

    def items_with_value(self, board_id: str, column_id: str, value: str) -> list[FakeItem]:
        return [i for i in self.active_items(board_id) if i.values.get(column_id) == value]

    def items_count(self, board_id: str) -> int:
        """Items the board holds: active and archived (deleted ones are gone)."""
        return sum(1 for i in self.boards[board_id].item_ids if self.items[i].state != "deleted")

    def subitems_of(self, item_id: str) -> list[FakeItem]:
        return [self.items[s] for s in self.items[item_id].subitem_ids if self.items[s].state == "active"]

    # ---- HTTP entry ----------------------------------------------------------------------------

    def handle(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes, bool]:
        """Answer one POST: (status, headers, body, drop_connection)."""
        with self.lock:
            self.stats.requests += 1
            n = self.stats.requests
            if headers.get("authorization") != self.token:
                return self._json(
                    401,
                    {"errors": [{"message": "Not Authenticated", "extensions": {"code": "UNAUTHENTICATED"}}]},
                )
            version = headers.get("api-version")
            answering = answering_version(version)
            if answering is None:
                return self._json(
                    400,
                    {
                        "errors": [
                            {
                                "message": f"API-Version header required/unsupported: {version!r}",
                                "extensions": {"code": "BAD_REQUEST"},
                            }
                        ]
                    },
                )
            assert version is not None
            self.stats.api_versions.add(version)
            self.stats.answering_versions.add(answering)
            key = headers.get("idempotency-key")
            self._expire_idempotency()
            if key and key in self._idempotent:
                self.stats.replays += 1
                _, status, out_headers, out_body = self._idempotent[key]
                return status, out_headers, out_body, False
            self._answering = answering
            if (self.rate_limit_every and n % self.rate_limit_every == 0) or self._fault(self.rate_limit_rate):
                return self._rate_limited("RATE_LIMIT_EXCEEDED", "Rate limit exceeded", self.retry_after_seconds)
            if (self.server_error_every and n % self.server_error_every == 0) or self._fault(self.server_error_rate):
                self.stats.responses_5xx += 1
                return 503, {"Content-Type": "text/plain"}, b"Service Unavailable", False
            try:
                payload = json.loads(body)
                document = parse(payload["query"])
            except Exception as exc:
                return self._json(400, {"errors": [{"message": f"bad request: {exc}"}]})
            variables = payload.get("variables") or {}
            errors = validate(self.schema, document)
            if errors:
                return self._json(200, {"errors": [e.formatted for e in errors]})
            operation = next(d for d in document.definitions if isinstance(d, OperationDefinitionNode))
            is_mutation = operation.operation.value == "mutation"
            if is_mutation and self._fault(self.mutation_error_rate):
                self.stats.responses_5xx += 1
                return 503, {"Content-Type": "text/plain"}, b"Service Unavailable", False
            if is_mutation:
                self.stats.mutation_requests += 1
                if not key:
                    self.stats.mutation_requests_without_key += 1
            cost = self._cost(operation, variables)
            if cost > self.max_query_complexity:
                return self._json(
                    200,
                    {
                        "errors": [
                            {
                                "message": f"Query has complexity of {cost}, which exceeds "
                                f"max complexity of {self.max_query_complexity}",
                                "extensions": {"code": "maxComplexityExceeded"},
                            }
                        ]
                    },
                )
            now = self.clock()
            if self._window_start is None or now >= self._window_start + self.window_seconds:
                self._window_start, self._spent = now, 0
                self.stats.windows.append({"start": now, "spent": 0})
            if self._spent + cost > self.budget:
                retry_in = self._window_start + self.window_seconds - now
                return self._rate_limited("COMPLEXITY_BUDGET_EXHAUSTED", "Complexity budget exhausted", retry_in)
            before = self.budget - self._spent
            self.stats.largest_request = max(self.stats.largest_request, cost)
            self._spent += cost
            self.stats.complexity_spent += cost
            self.stats.windows[-1]["spent"] += cost
            context = {
                "complexity": {
                    "before": before,
                    "after": before - cost,
                    "query": cost,
                    "reset_in_x_seconds": math.ceil(self._window_start + self.window_seconds - now),
                },
                "create_labels": False,
            }
            result = execute(
                self.schema,
                document,
                root_value=self,
                context_value=context,
                variable_values=variables,
                operation_name=payload.get("operationName"),
            )
            assert isinstance(result, ExecutionResult)  # every resolver here is synchronous
            out: dict[str, Any] = {"data": result.data}
            if result.errors:
                out["errors"] = [e.formatted for e in result.errors]
            out["extensions"] = {"request_id": str(uuid.uuid4())}
            status, out_headers, out_body, _ = self._json(200, out)
            if key and is_mutation:
                self._idempotent[key] = (now, status, out_headers, out_body)
            drop = is_mutation and (
                bool(self.drop_after_apply_every and self.stats.mutation_requests % self.drop_after_apply_every == 0)
                or self._fault(self.drop_after_apply_rate)
            )
            if drop:
                self.stats.drops += 1
            return status, out_headers, out_body, drop

    def _fault(self, rate: float) -> bool:
        return rate > 0 and self._faults.random() < rate

    def _json(
        self,
        status: int,
        body: dict[str, Any],
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes, bool]:
        return (
            status,
            {"Content-Type": "application/json", "API-Version": self._answering, **(headers or {})},
            json.dumps(body).encode(),
            False,
        )

    def _rate_limited(self, code: str, message: str, retry_in: float) -> tuple[int, dict[str, str], bytes, bool]:
        self.stats.responses_429 += 1
        retry = retry_in if retry_in < 5 else math.ceil(retry_in)  # fractional only for scaled windows
        return self._json(
            429,
            {
                "errors": [
                    {
                        "message": message,
                        "extensions": {"code": code, "retry_in_seconds": retry, "status_code": 429},
                    }
                ]
            },
            {"Retry-After": str(retry)},
        )

    def _expire_idempotency(self) -> None:
        horizon = self.clock() - IDEMPOTENCY_TTL
        for key in [k for k, v in self._idempotent.items() if v[0] < horizon]:
            del self._idempotent[key]

    def _cost(self, operation: OperationDefinitionNode, variables: dict[str, Any]) -> int:
        """Mutations: `mutation_cost` each. A read: `query_base_cost` per root field, plus
        `per_item_cost` per object it may return, nested lists multiplying like monday's complexity:
        a page of items costs its `limit` x (1 + what each item asks for: its column values, one per
        column asked (every column when no ids are given), and its subitems, counted as
        SUBITEMS_PER_ITEM each with their own selection)."""
        cost = 0
        for selection in operation.selection_set.selections:
            if not isinstance(selection, FieldNode) or selection.name.value == "complexity":
                continue
            if operation.operation.value == "mutation":
                cost += self.mutation_cost
                continue
            cost += self.query_base_cost + self.per_item_cost * self._field_units(selection, variables)
        return cost

    def _field_units(self, node: FieldNode, variables: dict[str, Any]) -> int:
        """Objects a list field may return, times the objects each of them asks for."""
        args = {a.name.value: value_from_ast_untyped(a.value, variables) for a in node.arguments}
        name = node.name.value
        if name == "column_values":
            return len(args.get("ids") or []) or COLUMNS_PER_BOARD_ESTIMATE
        if name == "subitems":
            return SUBITEMS_PER_ITEM * (1 + self._children_units(node, variables))
        paged = name in ("items_page", "next_items_page", "items_page_by_column_values")
        if paged or (name in ("items", "boards") and args):  # a page's `items` is a wrapper
            count = int(args.get("limit") or len(args.get("ids") or []) or DEFAULT_PAGE)
            if name == "items" and args.get("ids"):
                count = min(count, len(args["ids"]))
            return count * (1 + self._children_units(node, variables))
        return self._children_units(node, variables)  # a wrapper (`items` of a page, `group`...)

    def _children_units(self, node: FieldNode, variables: dict[str, Any]) -> int:
        if node.selection_set is None:
            return 0
        total = 0
        for child in node.selection_set.selections:
            if isinstance(child, FieldNode) and child.selection_set is not None:
                total += self._field_units(child, variables)
        return total

    # ---- resolvers -----------------------------------------------------------------------------

    def _wire_resolvers(self) -> None:
        query = self.schema.query_type
        mutation = self.schema.mutation_type
        assert query is not None and mutation is not None
        complexity = lambda _root, info: info.context["complexity"]  # noqa: E731
        query.fields["complexity"].resolve = complexity
        mutation.fields["complexity"].resolve = complexity
        query.fields["boards"].resolve = self._q_boards
        query.fields["items"].resolve = self._q_items
        query.fields["items_page_by_column_values"].resolve = self._q_items_by_values
        query.fields["next_items_page"].resolve = self._q_next_page
        for name in (
            "create_item",
            "create_subitem",
            "change_multiple_column_values",
            "move_item_to_group",
            "archive_item",
            "delete_item",
            "create_group",
            "create_column",
        ):
            mutation.fields[name].resolve = self._counted(name, getattr(self, "_m_" + name))

    def _counted(self, name: str, resolver: Any) -> Any:
        def wrapped(root: Any, info: Any, **kwargs: Any) -> Any:
            result = resolver(root, info, **kwargs)
            self.stats.mutations[name] = self.stats.mutations.get(name, 0) + 1
            return result

        return wrapped

    def _board_view(self, board: FakeBoard) -> dict[str, Any]:
        def columns(_info: Any, ids: list[str] | None = None, types: list[str] | None = None) -> list[dict]:
            return [
                {"id": c.id, "title": c.title, "type": c.type, "settings_str": json.dumps(c.settings)}
                for c in board.columns.values()
                if (ids is None or c.id in ids) and (types is None or c.type in types)
            ]

        def groups(_info: Any, ids: list[str] | None = None) -> list[dict]:
            return [{"id": g, "title": t} for g, t in board.groups.items() if ids is None or g in ids]

        def items_page(_info: Any, limit: int = DEFAULT_PAGE, cursor: str | None = None) -> dict:
            ids = [i for i in board.item_ids if self.items[i].state == "active"]
            return self._page(ids, limit)

        return {
            "id": board.id,
            "name": board.name,
            "items_count": self.items_count(board.id),
            "columns": columns,
            "groups": groups,
            "items_page": items_page,
        }

    def _item_view(self, item: FakeItem) -> dict[str, Any]:
        board = self.boards[item.board_id]

        def column_values(_info: Any, ids: list[str] | None = None) -> list[dict]:
            out = []
            for column in board.columns.values():
                if column.type == "name" or (ids is not None and column.id not in ids):
                    continue
                value = item.values.get(column.id)
                out.append(
                    {
                        "id": column.id,
                        "type": column.type,
                        "text": _text_of(column.type, value),
                        "value": value,
                    }
                )
            return out

        return {
            "id": item.id,
            "name": item.name,
            "state": item.state,
            "group": {"id": item.group_id, "title": board.groups.get(item.group_id, "")},
            "board": lambda _info: self._board_view(board),
            "column_values": column_values,
            "subitems": lambda _info: [
                self._item_view(self.items[s]) for s in item.subitem_ids if self.items[s].state != "deleted"
            ],
            "parent_item": lambda _info: self._item_view(self.items[item.parent_id]) if item.parent_id else None,
        }

    def _page(self, ids: list[str], limit: int) -> dict[str, Any]:
        if limit < 1 or limit > MAX_PAGE:
            raise _fail("InvalidArgumentException", f"limit must be between 1 and {MAX_PAGE}")
        page, rest = ids[:limit], ids[limit:]
        cursor = None
        if rest:
            cursor = uuid.uuid4().hex
            self._cursors[cursor] = rest
        return {"cursor": cursor, "items": [self._item_view(self.items[i]) for i in page]}

    def _q_boards(self, _root: Any, _info: Any, ids: list[str] | None = None, limit: int | None = None) -> list:
        boards = [self.boards[i] for i in (ids or list(self.boards)) if i in self.boards]
        return [self._board_view(b) for b in boards[: limit or None]]

    def _q_items(self, _root: Any, _info: Any, ids: list[str] | None = None, limit: int | None = None) -> list:
        ids = ids or []
        if len(ids) > MAX_ITEMS_IDS:
            raise _fail("InvalidArgumentException", f"at most {MAX_ITEMS_IDS} ids per items query")
        if limit is not None and not 1 <= limit <= MAX_ITEMS_IDS:
            raise _fail("InvalidArgumentException", f"limit must be between 1 and {MAX_ITEMS_IDS}")
        found = [self.items[i] for i in ids if i in self.items and self.items[i].state != "deleted"]
        return [self._item_view(item) for item in found[: limit or DEFAULT_PAGE]]

    def _q_items_by_values(
        self,
        _root: Any,
        _info: Any,
        board_id: str,
        columns: list[dict] | None = None,
        cursor: str | None = None,
        limit: int = DEFAULT_PAGE,
    ) -> dict:
        board = self._board(board_id)
        if cursor:
            return self._q_next_page(_root, _info, cursor, limit)
        ids = [i for i in board.item_ids if self.items[i].state == "active"]
        for rule in columns or []:
            if rule["column_id"] not in board.columns:
                raise _fail("InvalidColumnIdException", f"column {rule['column_id']!r} not on board {board_id}")
            wanted = set(rule["column_values"])
            ids = [
                i
                for i in ids
                if _text_of(board.columns[rule["column_id"]].type, self.items[i].values.get(rule["column_id"]))
                in wanted
            ]
        return self._page(ids, limit)

    def _q_next_page(self, _root: Any, _info: Any, cursor: str, limit: int = DEFAULT_PAGE) -> dict:
        if cursor not in self._cursors:
            raise _fail("InvalidCursorException", "cursor expired or unknown")
        return self._page(self._cursors.pop(cursor), limit)

    def _board(self, board_id: str) -> FakeBoard:
        if board_id not in self.boards:
            raise _fail("ResourceNotFoundException", f"board {board_id} not found")
        return self.boards[board_id]

    def _item(self, item_id: str | None, *, allow_archived: bool = True) -> FakeItem:
        item = self.items.get(item_id or "")
        if item is None or item.state == "deleted" or (item.state == "archived" and not allow_archived):
            raise _fail("InvalidItemIdException", f"item {item_id} not found")
        return item

    def _check_room(self, board: FakeBoard) -> None:
        if board.item_limit is not None and self.items_count(board.id) >= board.item_limit:
            raise _fail(
                "ItemsLimitationException",
                f"board {board.id} reached its limit of {board.item_limit} items",
                board_id=board.id,
            )

    @staticmethod
    def _check_name(name: str) -> str:
        if not isinstance(name, str) or not 1 <= len(name) <= 255:
            raise _fail(
                "ItemNameTooLongException" if name else "InvalidArgumentException",
                "item name must be 1-255 characters",
            )
        return name

    def _apply_values(self, board: FakeBoard, raw: Any, create_labels: bool) -> tuple[dict[str, Any], str | None]:
        if not isinstance(raw, dict):
            raise _fail("ColumnValueException", "column_values must be a JSON object keyed by column id")
        values: dict[str, Any] = {}
        name = None
        for column_id, value in raw.items():
            if column_id == "name":
                if value is None:
                    raise _fail("ColumnValueException", "the item name cannot be cleared")
                name = self._check_name(value)
                continue
            column = board.columns.get(column_id)
            if column is None:
                raise _fail(
                    "InvalidColumnIdException",
                    f"This column ID doesn't exist for the board: {column_id}",
                    column_id=column_id,
                )
            values[column_id] = _validate_value(column, value, create_labels)
        return values, name

    def _m_create_item(
        self,
        _root: Any,
        _info: Any,
        board_id: str,
        item_name: str,
        group_id: str | None = None,
        column_values: Any = None,
        create_labels_if_missing: bool | None = None,
    ) -> dict:
        board = self._board(board_id)
        if group_id is None:
            group_id = next(iter(board.groups))
        if group_id not in board.groups:
            raise _fail("InvalidGroupIdException", f"group {group_id!r} does not exist on board {board_id}")
        self._check_name(item_name)
        values, _ = self._apply_values(board, column_values or {}, bool(create_labels_if_missing))
        self._check_room(board)
        item = FakeItem(self.new_id(), board_id, item_name, group_id, {k: v for k, v in values.items() if v})
        self.items[item.id] = item
        board.item_ids.append(item.id)
        return self._item_view(item)

    def _m_create_subitem(
        self,
        _root: Any,
        _info: Any,
        parent_item_id: str,
        item_name: str,
        column_values: Any = None,
        create_labels_if_missing: bool | None = None,
    ) -> dict:
        parent = self._item(parent_item_id, allow_archived=False)
        parent_board = self.boards[parent.board_id]
        links = [c for c in parent_board.columns.values() if c.type == "subtasks"]
        if not links:
            raise _fail("InvalidBoardIdException", "board has no subitems column")
        board = self.boards[str(links[0].settings["boardIds"][0])]
        self._check_name(item_name)
        values, _ = self._apply_values(board, column_values or {}, bool(create_labels_if_missing))
        self._check_room(board)
        item = FakeItem(
            self.new_id(),
            board.id,
            item_name,
            next(iter(board.groups)),
            {k: v for k, v in values.items() if v},
            parent_id=parent.id,
        )
        self.items[item.id] = item
        board.item_ids.append(item.id)
        parent.subitem_ids.append(item.id)
        return self._item_view(item)

    def _m_change_multiple_column_values(
        self,
        _root: Any,
        _info: Any,
        board_id: str,
        column_values: Any,
        item_id: str | None = None,
        create_labels_if_missing: bool | None = None,
    ) -> dict:
        board = self._board(board_id)
        item = self._item(item_id)
        if item.board_id != board_id:
            raise _fail("InvalidBoardIdException", f"item {item_id} is not on board {board_id}")
        values, name = self._apply_values(board, column_values, bool(create_labels_if_missing))
        for column_id, value in values.items():
            if value:
                item.values[column_id] = value
            else:
                item.values.pop(column_id, None)
        if name is not None:
            item.name = name
        return self._item_view(item)

    def _m_move_item_to_group(self, _root: Any, _info: Any, group_id: str, item_id: str | None = None) -> dict:
        item = self._item(item_id)
        if group_id not in self.boards[item.board_id].groups:
            raise _fail("InvalidGroupIdException", f"group {group_id!r} does not exist")
        item.group_id = group_id
        return self._item_view(item)

    def _m_archive_item(self, _root: Any, _info: Any, item_id: str | None = None) -> dict:
        item = self._item(item_id)
        item.state = "archived"
        return self._item_view(item)

    def _m_delete_item(self, _root: Any, _info: Any, item_id: str | None = None) -> dict:
        item = self._item(item_id)
        item.state = "deleted"
        return self._item_view(item)

    def _m_create_group(self, _root: Any, _info: Any, board_id: str, group_name: str) -> dict:
        board = self._board(board_id)
        if not 1 <= len(group_name) <= 255:
            raise _fail("InvalidArgumentException", "group name must be 1-255 characters")
        group_id = "group_" + uuid.uuid4().hex[:10]
        board.groups[group_id] = group_name
        return {"id": group_id, "title": group_name}

    def _m_create_column(
        self,
        _root: Any,
        _info: Any,
        board_id: str,
        title: str,
        column_type: str,
        id: str | None = None,
        description: str | None = None,
    ) -> dict:
        board = self._board(board_id)
        column_id = id or f"{column_type}_{uuid.uuid4().hex[:8]}"
        if column_id in board.columns:
            raise _fail("ColumnIdAlreadyExistsException", f"column {column_id} exists")
        board.columns[column_id] = FakeColumn(column_id, title, column_type)
        return {"id": column_id, "title": title, "type": column_type, "settings_str": "{}"}


def _validate_value(column: FakeColumn, value: Any, create_labels: bool) -> Any:
    """The stored value, or None to clear; raises ColumnValueException like monday does.

    `null` clears any column; `""` clears a text column and sets a numbers column to 0; `{}` and
    `""` elsewhere are rejected."""

    def bad(reason: str) -> GraphQLError:
        return _fail(
            "ColumnValueException",
            f"invalid value for {column.type} column {column.id}: {reason}",
            column_type=column.type,
            column_id=column.id,
        )

    if value is None:
        return None
    if value == {}:
        raise bad("{} is not a value (clear with null)")
    if value == "":
        if column.type == "text":
            return None
        if column.type == "numbers":
            return "0"
        raise bad('"" is not a value for this column type (clear with null)')
    kind = column.type
    if kind == "text":
        if not isinstance(value, str):
            raise bad("text must be a string")
        return value
    if kind == "numbers":
        if not isinstance(value, str) or not _NUMBER.match(value.strip()):
            raise bad(f"{value!r} is not a number string")
        return value.strip()
    if kind == "date":
        date = value.get("date") if isinstance(value, dict) else None
        if not isinstance(date, str) or not _DATE.match(date):
            raise bad('expected {"date": "YYYY-MM-DD"}')
        try:
            dt.date.fromisoformat(date)
        except ValueError:
            raise bad(f"{date} is not a calendar date") from None
        return {"date": date}
    if kind == "long_text":
        text = value.get("text") if isinstance(value, dict) else None
        if not isinstance(text, str) or len(text) > 2000:
            raise bad('expected {"text": ...} of at most 2000 characters')
        return {"text": text}
    if kind in ("dropdown", "status"):
        if kind == "dropdown":
            labels = value.get("labels") if isinstance(value, dict) else None
            if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
                raise bad('expected {"labels": [non-empty strings]}')
        else:
            label = value.get("label") if isinstance(value, dict) else None
            if not isinstance(label, str) or not label:
                raise bad('expected {"label": ...}')
            labels = [label]
        known: list[str] = column.settings.setdefault("labels", [])
        for label in labels:
            if label not in known:
                if not create_labels:
                    raise bad(f"label {label!r} does not exist in column")
                if len(known) >= (DROPDOWN_MAX_LABELS if kind == "dropdown" else STATUS_MAX_LABELS):
                    raise bad("too many labels in column")
                known.append(label)
        return {"labels": labels} if kind == "dropdown" else {"label": labels[0]}
    raise bad("column type cannot be set through the API")


def _text_of(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "date":
        return value["date"]
    if kind == "long_text":
        return value["text"]
    if kind == "dropdown":
        return ", ".join(value["labels"])
    if kind == "status":
        return value["label"]
    return str(value)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    fake: FakeMonday

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no Nagle/delayed-ACK stalls

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        headers = {k.lower(): v for k, v in self.headers.items()}
        status, out_headers, out_body, drop = self.fake.handle(headers, body)
        if self.fake.delay_seconds:  # applied, answered late (outside the lock: requests overlap)
            time.sleep(self.fake.delay_seconds)
        if drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(status)
        for name, value in out_headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(out_body)))
        self.end_headers()
        self.wfile.write(out_body)

    def log_message(self, format: str, *args: Any) -> None:
        return


class FakeMondayServer:
    """`FakeMonday` served on 127.0.0.1 in a background thread. Use as a context manager; `.url`."""

    def __init__(self, fake: FakeMonday | None = None, **knobs: Any) -> None:
        self.fake = fake or FakeMonday(**knobs)
        handler = type("Handler", (_Handler,), {"fake": self.fake})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-monday", daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        assert isinstance(host, str)  # an AF_INET server's address is (host text, port)
        return f"http://{host}:{port}/v2"

    def start(self) -> FakeMondayServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> FakeMondayServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
