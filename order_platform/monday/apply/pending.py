"""Before and after a board's run: settle creates an interrupted run left `creating`, and audit the
board for duplicates (items with the same line id, subitems with the same size) from any cause."""

from __future__ import annotations

import sqlalchemy as sa

from order_platform.monday.api.client import MondayClient
from order_platform.monday.apply.board import find_items_by_external_id, find_subitems, scan_board
from order_platform.monday.mapping import BoardConfig
from order_platform.monday.plan.payloads import subitem_name
from order_platform.monday.plan.planner import Op
from order_platform.monday.state import sync_state as st

Duplicates = list[Op]  # delete_duplicate ops: the extra copies to delete (the first / known one is kept)


def resolve_pending(
    engine: sa.Engine, client: MondayClient, config: BoardConfig, board_id: str, customer: str
) -> Duplicates:
    """Adopt what an interrupted run's creates left on the board, forget what did not land.

    Adopted items get item_hash/item_values None (and adopted subitems quantity None) so the planner
    re-sends their values. Returns the duplicates seen, to be deleted."""
    with engine.connect() as conn:
        pending = st.load_lines_where(
            conn, board_id, st.line_table.c.customer == customer, st.line_table.c.status == "creating"
        )
        sub_rows = sa.select(st.subitem_table.c.record_uuid).where(
            st.subitem_table.c.board_id == board_id, st.subitem_table.c.status == "creating"
        )
        with_subs = st.load_state(conn, board_id, set(conn.execute(sub_rows).scalars()))
    duplicates: Duplicates = []
    gone_lines: list[str] = []
    if pending:
        found = find_items_by_external_id(client, config, board_id, list(pending))
        for uuid, line in pending.items():
            items = found.get(uuid)
            if not items:
                gone_lines.append(uuid)
                continue
            duplicates += [Op("delete_duplicate", uuid, target_id=f.item_id) for f in items[1:]]
            line.item_id, line.status, line.item_hash, line.item_values = items[0].item_id, "active", None, None
            if items[0].group_id != line.group_id:
                line.group_id, line.group_title = items[0].group_id, None
    lines = {**with_subs, **{u: s for u, s in pending.items() if u not in gone_lines}}
    sub_pending = [
        (line, sub)
        for line in lines.values()
        if line.item_id and line.status == "active"
        for sub in line.subitems.values()
        if sub.status == "creating"
    ]
    gone_subs: list[tuple[str, str]] = []
    if sub_pending:
        children = find_subitems(client, config, sorted({line.item_id or "" for line, _ in sub_pending}))
        for line, sub in sub_pending:
            ids = children.get(line.item_id or "", {}).get(subitem_name(config, sub.size)) or []
            if ids:
                sub.subitem_id, sub.quantity, sub.status = ids[0], None, "active"
                duplicates += [Op("delete_duplicate", line.record_uuid, target_id=i) for i in ids[1:]]
            else:
                line.subitems.pop(sub.size)
                gone_subs.append((line.record_uuid, sub.size))
    if pending or sub_pending:
        with engine.begin() as conn:
            st.delete_lines(conn, board_id, gone_lines)
            st.delete_subitems(conn, board_id, gone_subs)
            st.save_lines(conn, board_id, [s for u, s in pending.items() if u not in gone_lines], None)
            st.save_subitems(
                conn, board_id, [(line.record_uuid, sub) for line, sub in sub_pending if sub.status == "active"]
            )
    return duplicates


def audit_board(
    engine: sa.Engine, client: MondayClient, config: BoardConfig, board_id: str, customer: str
) -> Duplicates:
    """Read the whole board (every page) and list the copies of this customer's items and subitems
    beyond the one the state knows (else the oldest)."""
    scan = scan_board(client, config, board_id)
    with engine.connect() as conn:
        mine = st.load_lines_where(conn, board_id, st.line_table.c.customer == customer)
    duplicates: Duplicates = []
    for uuid, line in mine.items():
        ids = scan.items.get(uuid) or []
        keep = line.item_id if line.item_id in ids else (ids[0] if ids else None)
        duplicates += [Op("delete_duplicate", uuid, target_id=i) for i in ids if i != keep]
        if keep is None:
            continue
        known = {subitem_name(config, size): sub.subitem_id for size, sub in line.subitems.items()}
        for name, sub_ids in scan.subitems.get(keep, {}).items():
            kept = known.get(name) if known.get(name) in sub_ids else sub_ids[0]
            duplicates += [Op("delete_duplicate", uuid, target_id=i) for i in sub_ids if i != kept]
    return duplicates
