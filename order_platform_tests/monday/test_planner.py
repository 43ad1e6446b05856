from order_platform.monday.payloads import LineFailure, LinePayload, item_hash
from order_platform.monday.planner import plan_lines
from order_platform.monday.state import LineState, SubitemState


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
    plan = plan_lines({"a": p}, {}, {}, customer="C")
    assert kinds(plan, "a") == (
        "create",
        [("create_item", None), ("create_subitem", "M"), ("create_subitem", "S")],
    )


def test_unchanged_line_plans_nothing():
    p = payload("a", {"S": 2})
    plan = plan_lines({"a": p}, {"a": synced(p, {"S": 2})}, {}, customer="C")
    assert kinds(plan, "a") == ("unchanged", [])
    assert plan.ops == []


def test_changed_line_updates_only_what_changed():
    old = payload("a", {"S": 2, "M": 3, "L": 1})
    new = payload("a", {"S": 5, "M": 3, "XL": 4}, name="renamed", group="G 2026")
    plan = plan_lines({"a": new}, {"a": synced(old, old.sizes)}, {}, customer="C")
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


def test_cancelled_line_is_archived_but_format_failures_are_not():
    kept, gone, broken = payload("a", {}), payload("b", {}), payload("c", {})
    state = {p.record_uuid: synced(p, {}) for p in (kept, gone, broken)}
    failures = {"c": LineFailure("c", "NOT_A_NUMBER", "bad")}
    plan = plan_lines({"a": kept}, state, failures, customer="C")
    assert kinds(plan, "b") == ("archive", [("archive_item", None)])
    assert kinds(plan, "c")[0] == "failed"
    assert plan.count("archive") == 1


def test_archive_guard_refuses_to_archive_most_of_a_customer():
    lines = [payload(str(i), {}) for i in range(10)]
    state = {p.record_uuid: synced(p, {}) for p in lines}
    plan = plan_lines({"0": lines[0]}, state, {}, customer="C", archive_guard_fraction=0.5)
    assert plan.archive_guard_tripped and plan.count("archive") == 0


def test_other_customers_lines_are_never_archived():
    p = payload("x", {})
    other = synced(p, {})
    other.customer = "OTHER"
    assert plan_lines({}, {"x": other}, {}, customer="C").lines == []
