from order_platform.monday.plan.payloads import LineFailure, LinePayload, item_hash
from order_platform.monday.plan.planner import plan_lines
from order_platform.monday.state.sync_state import LineState, SubitemState


def payload(uuid: str, sizes: dict[str, int], name: str = "N", group: str = "G 2025") -> LinePayload:
    columns = {"text_line_id": uuid}
    return LinePayload(uuid, "C", name, group, columns, sizes, item_hash(name, columns))


def synced(p: LinePayload, sizes: dict[str, int]) -> LineState:
    subs = {s: SubitemState(s, f"sub-{s}", q, "active") for s, q in sizes.items()}
    return LineState(p.record_uuid, "C", "item-1", "g1", p.group_title, p.item_hash, "active", subs)


def kinds(plan, uuid):
    line = next(x for x in plan.lines if x.record_uuid == uuid)
    return line.action, sorted((op.kind, op.size) for op in line.ops)


def test_new_line_creates_item_and_one_subitem_per_size():
    p = payload("a", {"S": 2, "M": 3})
    plan = plan_lines({"a": p}, {}, {})
    assert kinds(plan, "a") == (
        "create",
        [("create_item", None), ("create_subitem", "M"), ("create_subitem", "S")],
    )


def test_unchanged_line_plans_nothing():
    p = payload("a", {"S": 2})
    plan = plan_lines({"a": p}, {"a": synced(p, {"S": 2})}, {})
    assert kinds(plan, "a") == ("unchanged", [])
    assert plan.ops == []


def test_changed_line_updates_only_what_changed():
    old = payload("a", {"S": 2, "M": 3, "L": 1})
    new = payload("a", {"S": 5, "M": 3, "XL": 4}, name="renamed", group="G 2026")
    plan = plan_lines({"a": new}, {"a": synced(old, old.sizes)}, {})
    assert kinds(plan, "a") == (
        "update",
        [
            ("create_subitem", "XL"),
            ("delete_subitem", "L"),
            ("move_item", None),
            ("update_item", None),
            ("update_subitem", "S"),
        ],
    )


def test_lines_without_a_usable_id_are_planned_failed():
    kept = payload("a", {})
    failures = {"c": LineFailure("c", "DUPLICATE_LINE_ID", "twice")}
    plan = plan_lines({"a": kept}, {}, failures)
    assert kinds(plan, "c")[0] == "failed" and plan.count("create") == 1


def test_update_values_are_the_changed_cells_and_null_clears():
    p = LinePayload("a", "C", "N", "G", {"x": "1", "y": None, "z": {"text": "t"}}, {})
    assert p.update_values(None) == {"name": "N", "x": "1", "y": None, "z": {"text": "t"}}
    assert p.update_values({"name": "N", "x": "1", "y": "5", "z": {"text": "t"}}) == {"y": None}
    assert p.update_values({"name": "old", "x": "2", "z": {"text": "t"}}) == {"name": "N", "x": "1"}
