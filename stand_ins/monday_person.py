"""A person working on the stand-in's board directly, as the order team does in monday.com's UI.

Server-side edits of a `FakeMonday` (under its lock), never through the platform's code or the
GraphQL endpoint: they are not requests, cost no complexity and leave the stand-in's counters alone,
so a test can tell what the platform sent from what a person did.

    person = BoardPerson(server.fake, BOARD)
    person.set_value(item_id, "numeric_mkr5cact", "99")      # a mapped cell changed by hand
    person.set_value(item_id, "status_team", {"label": "Done"})  # the team's own column
    person.archive(item_id); person.delete(item_id); person.move(item_id, "GREYSON FA27")
    person.add_item("my note", group_title="GREYSON FA26")   # an item the platform did not make
    person.set_subitem_qty(item_id, "Size M", "7"); person.delete_subitem(item_id, "Size M")
    person.add_subitem(item_id, "Size XXL", {"numeric_mkra7j8e": "3"})
"""

from __future__ import annotations

from typing import Any

from stand_ins.monday_server import FakeColumn, FakeItem, FakeMonday, _validate_value


class BoardPerson:
    """Edits one board of the stand-in the way a person in the UI would."""

    def __init__(self, fake: FakeMonday, board_id: str) -> None:
        self.fake = fake
        self.board_id = board_id

    @property
    def board(self) -> Any:
        return self.fake.boards[self.board_id]

    # ---- columns -------------------------------------------------------------------------------

    def add_column(self, column_id: str, title: str, kind: str) -> None:
        """A column of the team's own (status, notes, owner...), not in the platform's mapping."""
        with self.fake.lock:
            self.board.columns[column_id] = FakeColumn(column_id, title, kind)

    def set_value(self, item_id: str, column_id: str, value: Any) -> None:
        """Set (or with None clear) a cell, validated like the API (labels are created as in the UI)."""
        with self.fake.lock:
            item = self.fake.items[item_id]
            column = self.fake.boards[item.board_id].columns[column_id]
            stored = _validate_value(column, value, True)
            if stored:
                item.values[column_id] = stored
            else:
                item.values.pop(column_id, None)

    def rename(self, item_id: str, name: str) -> None:
        with self.fake.lock:
            self.fake.items[item_id].name = name

    # ---- items ---------------------------------------------------------------------------------

    def archive(self, item_id: str) -> None:
        with self.fake.lock:
            self.fake.items[item_id].state = "archived"

    def delete(self, item_id: str) -> None:
        with self.fake.lock:
            self.fake.items[item_id].state = "deleted"

    def move(self, item_id: str, group_title: str) -> str:
        """Move to the group of this title (created when missing, as a person would); its id."""
        with self.fake.lock:
            group_id = self._group(group_title)
            self.fake.items[item_id].group_id = group_id
            return group_id

    def add_item(self, name: str, *, group_title: str | None = None, values: dict[str, Any] | None = None) -> str:
        """An item made by hand (no external id unless `values` gives one); its id."""
        with self.fake.lock:
            group_id = self._group(group_title) if group_title else next(iter(self.board.groups))
            item = FakeItem(self.fake.new_id(), self.board_id, name, group_id)
            self.fake.items[item.id] = item
            self.board.item_ids.append(item.id)
        for column_id, value in (values or {}).items():
            self.set_value(item.id, column_id, value)
        return item.id

    # ---- subitems ------------------------------------------------------------------------------

    def subitem(self, item_id: str, name: str) -> FakeItem:
        matches = [s for s in self.fake.subitems_of(item_id) if s.name == name]
        if not matches:
            raise KeyError(f"item {item_id} has no subitem {name!r}")
        return matches[0]

    def set_subitem_qty(self, item_id: str, name: str, quantity: str) -> None:
        sub = self.subitem(item_id, name)
        qty_column = next(c.id for c in self.fake.boards[sub.board_id].columns.values() if c.type == "numbers")
        self.set_value(sub.id, qty_column, quantity)

    def delete_subitem(self, item_id: str, name: str) -> None:
        self.delete(self.subitem(item_id, name).id)

    def add_subitem(self, item_id: str, name: str, values: dict[str, Any] | None = None) -> str:
        with self.fake.lock:
            parent = self.fake.items[item_id]
            link = next(c for c in self.fake.boards[parent.board_id].columns.values() if c.type == "subtasks")
            board = self.fake.boards[str(link.settings["boardIds"][0])]
            sub = FakeItem(self.fake.new_id(), board.id, name, next(iter(board.groups)), parent_id=parent.id)
            self.fake.items[sub.id] = sub
            board.item_ids.append(sub.id)
            parent.subitem_ids.append(sub.id)
        for column_id, value in (values or {}).items():
            self.set_value(sub.id, column_id, value)
        return sub.id

    def _group(self, title: str) -> str:
        for group_id, existing in self.board.groups.items():
            if existing == title:
                return group_id
        group_id = f"group_person_{len(self.board.groups)}"
        self.board.groups[group_id] = title
        return group_id
