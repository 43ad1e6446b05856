"""One customer on one board: the board as read vs. the payloads ORDER_LIST asks for (plan/payloads.py).

Pure: no I/O. The answer is the findings (MONDAY_DRIFT rows) and the sync state rewritten to what the
board really holds, so the normal planner and executor send exactly the repairs:
- a platform cell changed by hand: MONDAY_LINE.item_values gets the board's value for that cell, so
  the planner's update carries that cell (and only the cells that differ);
- an item archived or deleted by hand: the line's state becomes `archived`, so it is created again
  (with its subitems); an item the state lost track of is adopted;
- an item moved to another group: the state records the board's group, so it is moved back;
- a subitem changed by hand: its stored quantity is forgotten (sent again); deleted: its state row
  goes (created again); added by hand or a second copy: deleted by id;
- an item of a line no longer in ORDER_LIST or the board's scope, or a second item of one line:
  archived by id.
A cell whose board value is what the platform last sent but ORDER_LIST has changed since is not
drift: the sync sends it as an ordinary update. `report_only` columns are recorded, never restored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.payloads import LinePayload, subitem_name
from order_platform.monday.reconcile.drift import Finding
from order_platform.monday.reconcile.read import BoardItem, BoardSubitem
from order_platform.monday.reconcile.values import same, shown_text, subitem_quantity
from order_platform.monday.state.sync_state import LineState, SubitemState

NAME = "name"
DRIFTED = "reconcile:drift"  # item_hash of a line whose item must be updated (never a real digest)
MISSING = "(none)"


@dataclass
class Comparison:
    """Findings and the state corrections that make the sync repair them."""

    findings: list[Finding] = field(default_factory=list)
    lines: dict[str, LineState] = field(default_factory=dict)  # lines whose state changes (saved whole)
    archive: list[tuple[str, str]] = field(default_factory=list)  # (item id, record_uuid) to archive
    delete_subitems: list[tuple[str, str]] = field(default_factory=list)  # (subitem id, record_uuid)
    gone_subitems: list[tuple[str, str]] = field(default_factory=list)  # (record_uuid, size) state rows
    checked_items: int = 0
    pending: int = 0  # differences that are ORDER_LIST changes not sent yet (the sync sends them)

    def add(self, other: Comparison) -> None:
        self.findings += other.findings
        self.lines.update(other.lines)
        self.archive += other.archive
        self.delete_subitems += other.delete_subitems
        self.gone_subitems += other.gone_subitems
        self.checked_items += other.checked_items
        self.pending += other.pending


class Comparer:
    """Compares one customer's lines on one board (see the module docstring)."""

    def __init__(
        self, config: BoardConfig, board_id: str, customer: str, groups: dict[str, str], item_states: dict[str, str]
    ) -> None:
        self.config = config
        self.board_id = board_id
        self.customer = customer
        self.groups = groups  # group title -> id, as the board has them
        self.item_states = item_states  # item id -> active | archived | deleted (the state's missing items)
        self.types = {c.monday_column_id: c.monday_type for c in config.item_columns}
        self.titles = {c.monday_column_id: c.order_list_column for c in config.item_columns}
        self.report_only = {c.monday_column_id for c in config.item_columns if c.report_only}
        self.size_column = config.size_column.monday_column_id
        self.qty_column = config.qty_column.monday_column_id
        self.out = Comparison()

    # ---- live lines ----------------------------------------------------------------------------

    def line(self, payload: LinePayload, state: LineState | None, items: list[BoardItem]) -> None:
        uuid = payload.record_uuid
        if not items:
            self._missing(payload, state)
            return
        self.out.checked_items += 1
        keep = next((i for i in items if state is not None and i.id == state.item_id), items[0])
        for extra in items:
            if extra is not keep:
                self._finding(extra.id, uuid, None, "active", "one item per line (a second item)", "archived", extra.id)
                self.out.archive.append((extra.id, uuid))
        line = _copy(state) if state is not None else None
        if line is None or line.item_id != keep.id or line.status != "active":
            # the board holds the line's item but the state does not know it: adopt it
            line = LineState(uuid, self.customer, keep.id, keep.group_id, keep.group_title, None, "active")
        changed = line != state
        changed |= self._cells(payload, line, keep)
        changed |= self._group(payload, line, keep)
        changed |= self._subitems(payload, line, keep)
        if changed:
            self.out.lines[uuid] = line

    def _missing(self, payload: LinePayload, state: LineState | None) -> None:
        """No active item carries the line's id: recreate it when the platform had made one."""
        if state is None or state.status != "active" or not state.item_id:
            self.out.pending += 1
            return  # a new line (or one whose create is pending): the sync creates it, no drift
        board_state = self.item_states.get(state.item_id, "deleted")
        self._finding(state.item_id, payload.record_uuid, None, board_state, "active", "recreated")
        line = _copy(state)
        line.status, line.item_hash, line.item_values = "archived", None, None
        self.out.lines[payload.record_uuid] = line

    def _cells(self, payload: LinePayload, line: LineState, item: BoardItem) -> bool:
        applied: dict[str, Any] | None = json.loads(line.item_values) if line.item_values else None
        restore: dict[str, Any] = {}
        expected_name = payload.item_name
        if item.name.strip() != expected_name.strip():
            last = None if applied is None else applied.get(NAME)
            if last is None or last.strip() != item.name.strip():
                self._finding(item.id, payload.record_uuid, "(item name)", item.name, expected_name, "restored")
                restore[NAME] = item.name
            else:
                self.out.pending += 1
        for column_id, value in payload.columns.items():
            kind = self.types.get(column_id, "text")
            board_text = item.texts.get(column_id, "")
            expected = shown_text(kind, value)
            if same(kind, board_text, expected):
                continue
            if applied is not None and same(kind, board_text, shown_text(kind, applied.get(column_id))):
                self.out.pending += 1
                continue  # the board shows what was last sent; ORDER_LIST changed since: an ordinary update
            title = self.titles.get(column_id, column_id)
            if column_id in self.report_only:
                self._finding(item.id, payload.record_uuid, title, board_text, expected, "reported")
                continue
            self._finding(item.id, payload.record_uuid, title, board_text, expected, "restored")
            restore[column_id] = {"board_text": board_text}  # never an API value: the update sends the cell
        if not restore and applied is not None:
            return False
        base = json.loads(payload.applied_json())
        if applied is not None:  # keep what was last sent for cells with pending ORDER_LIST changes
            base.update({k: v for k, v in applied.items() if k not in restore})
            base = {k: v for k, v in base.items() if k in applied or k in restore}
        elif not restore:
            line.item_values, line.item_hash = payload.applied_json(), payload.digest()
            return True
        base.update(restore)
        line.item_values = json.dumps(base, ensure_ascii=False, sort_keys=True)
        line.item_hash = DRIFTED
        return True

    def _group(self, payload: LinePayload, line: LineState, item: BoardItem) -> bool:
        expected_id = self.groups.get(payload.group_title)
        if item.group_id is not None and item.group_id == expected_id:
            if line.group_title != payload.group_title or line.group_id != expected_id:
                line.group_title, line.group_id = payload.group_title, expected_id
                return True
            return False
        if line.group_title != payload.group_title:
            self.out.pending += 1
            return False  # the season changed in ORDER_LIST: the sync moves it (not drift)
        self._finding(item.id, payload.record_uuid, "(group)", item.group_title or "", payload.group_title, "moved")
        line.group_id, line.group_title = item.group_id, item.group_title or ""
        return True

    def _subitems(self, payload: LinePayload, line: LineState, item: BoardItem) -> bool:
        changed = False
        by_name: dict[str, list[BoardSubitem]] = {}
        for sub in item.subitems:
            by_name.setdefault(sub.name, []).append(sub)
        known_names = {subitem_name(self.config, size): size for size in line.subitems}
        wanted = {subitem_name(self.config, size): (size, qty) for size, qty in payload.sizes.items()}
        uuid = payload.record_uuid
        for name, (size, qty) in wanted.items():
            subs = by_name.pop(name, [])
            current = line.subitems.get(size)
            if not subs:
                if current is not None and current.status == "active" and current.subitem_id:
                    self._finding(item.id, uuid, name, MISSING, str(qty), "restored")
                    del line.subitems[size]
                    self.out.gone_subitems.append((uuid, size))
                    changed = True
                else:
                    self.out.pending += 1
                continue
            keep = next((s for s in subs if current is not None and s.id == current.subitem_id), subs[0])
            for extra in subs:
                if extra is not keep:
                    self._finding(item.id, uuid, name, _sub_text(self, extra), MISSING, "restored", extra.id)
                    self.out.delete_subitems.append((extra.id, uuid))
            board_qty = subitem_quantity(keep.texts.get(self.qty_column))
            board_size = keep.texts.get(self.size_column, "").strip()
            adopted = current is None or current.subitem_id != keep.id or current.status != "active"
            if adopted:
                current = SubitemState(size, keep.id, None, "active")
                line.subitems[size] = current
                changed = True
            assert current is not None
            if board_qty == qty and board_size == size:
                if current.quantity != qty:
                    current.quantity, changed = qty, True
                continue
            if not adopted and board_size == size and board_qty == current.quantity:
                self.out.pending += 1
                continue  # as last sent; the quantity changed in ORDER_LIST: an ordinary update
            self._finding(item.id, uuid, name, _sub_text(self, keep), f"{size}: {qty}", "restored")
            current.quantity, changed = None, True
        for name, subs in by_name.items():
            known = known_names.get(name)
            state_id = line.subitems[known].subitem_id if known is not None else None
            for sub in subs:
                if sub.id == state_id:
                    self.out.pending += 1
                    continue  # a size gone from ORDER_LIST: the sync deletes it (not drift)
                self._finding(item.id, uuid, name, _sub_text(self, sub), MISSING, "restored", sub.id)
                self.out.delete_subitems.append((sub.id, uuid))
        on_board = {s.id for s in item.subitems}
        for size, stored in list(line.subitems.items()):
            if size not in payload.sizes and stored.subitem_id not in on_board:
                del line.subitems[size]  # gone already: nothing to delete
                self.out.gone_subitems.append((uuid, size))
                changed = True
        return changed

    # ---- items of lines not (or no longer) on this board ----------------------------------------

    def stale(self, uuid: str, state: LineState | None, items: list[BoardItem]) -> None:
        """Items carrying the id of a line of this customer that is not in ORDER_LIST or this board's scope."""
        for item in items:
            self._finding(
                item.id, uuid, None, "active", "archived (not in ORDER_LIST or not in scope)", "archived", item.id
            )
            self.out.archive.append((item.id, uuid))
        if state is not None and state.status != "archived":
            line = _copy(state)
            line.status = "archived"
            self.out.lines[uuid] = line

    def _finding(
        self,
        item_id: str | None,
        uuid: str | None,
        column: str | None,
        board_value: str | None,
        expected: str | None,
        action: Any,
        target_id: str | None = None,
    ) -> None:
        self.out.findings.append(
            Finding(
                self.board_id, item_id, uuid, self.customer, column, board_value, expected, action, target_id=target_id
            )
        )


def _sub_text(comparer: Comparer, sub: BoardSubitem) -> str:
    size = sub.texts.get(comparer.size_column, "")
    qty = sub.texts.get(comparer.qty_column, "")
    return f"{size}: {qty}"


def _copy(state: LineState) -> LineState:
    return LineState(
        state.record_uuid,
        state.customer,
        state.item_id,
        state.group_id,
        state.group_title,
        state.item_hash,
        state.status,
        {size: SubitemState(s.size, s.subitem_id, s.quantity, s.status) for size, s in state.subitems.items()},
        state.item_values,
    )
