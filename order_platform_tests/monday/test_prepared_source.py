"""A customer's lines prepared ahead of its sync (plan/prepared.py) plan and store exactly what a sync
reading them at sync time does, and are handed over once."""

from pathlib import Path

import pytest
import sqlalchemy as sa

from order_platform.load.factory import PipelineSpec
from order_platform.load.report import CustomerReport
from order_platform.monday import Target, load_board_config, sync_customer, sync_published
from order_platform.monday.capacity import line_counts
from order_platform.monday.plan.lines import needed_columns, store_source
from order_platform.monday.plan.prepared import PreparedSource
from order_platform.monday.state import sync_state as st
from order_platform.workers.runner import run_customers
from stand_ins.sample_data import customer_headers, write_customer_workbook


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> tuple[PipelineSpec, CustomerReport]:
    root = tmp_path_factory.mktemp("prepared")
    write_customer_workbook("GREYSON", customer_headers()["GREYSON"], 300, 5, root / "source" / "USA CUSTOMERS")
    spec = PipelineSpec(f"sqlite:///{root / 'order_list.db'}", str(root / "source"), str(root / "blob"))
    reports = list(run_customers(spec, ["GREYSON"], workers=1))
    assert all(r.ok for r in reports), [r.error for r in reports]
    return spec, reports[0]


@pytest.fixture(scope="module")
def spec(loaded: tuple[PipelineSpec, CustomerReport]) -> PipelineSpec:
    return loaded[0]


def test_a_slice_from_its_load_report_is_the_slice_the_load_log_names(loaded):
    spec, report = loaded
    store = spec.build().store
    config = load_board_config().with_scope().with_knobs(chunk_lines=70)
    logged, reported = store_source(store, "GREYSON"), store_source(store, "GREYSON", report.published_slice)
    assert logged is not None and reported is not None
    assert report.published_slice == (store.last_load("GREYSON", "published")["load_id"], logged.total())
    assert reported.total() == logged.total() == 300 - report.quarantined_rows
    columns = needed_columns(config)
    chunks = list(reported.chunks(config, 0, "GREYSON", None, columns))
    assert len(chunks) > 1 and chunks == list(logged.chunks(config, 0, "GREYSON", None, columns))


def _copy(spec: PipelineSpec, tmp_path: Path, name: str):
    """A copy of the published database, so that two syncs start from the same state."""
    source = Path(str(spec.build().store.engine.url.database))
    target = tmp_path / f"{name}.db"
    with sa.create_engine(f"sqlite:///{source}").connect() as conn:
        conn.exec_driver_sql(f"VACUUM INTO '{target}'")
    return PipelineSpec(f"sqlite:///{target}", spec.source_dir, spec.blob_dir).build().store


def _stored(engine: sa.Engine) -> tuple[dict[str, str], list[tuple]]:
    """The dry run's MONDAY_PLAN payloads and MONDAY_CELL_ISSUE rows (without their run's time)."""
    with engine.connect() as conn:
        plan = dict(conn.execute(sa.select(st.plan_table.c.record_uuid, st.plan_table.c.payload)).all())
        t = st.cell_issue_table
        kept = [t.c.record_uuid, t.c.column_name, t.c.monday_column_id, t.c.value, t.c.code, t.c.reason]
        issues = sorted(tuple(r) for r in conn.execute(sa.select(*kept)).all())
    return plan, issues


@pytest.mark.parametrize("target", [None, "po"])
def test_a_prepared_sync_plans_and_stores_what_a_sync_reading_at_sync_time_does(spec, tmp_path, target):
    config = load_board_config().with_scope().with_knobs(chunk_lines=70)  # several chunks
    plain_store, prepared_store = _copy(spec, tmp_path, "plain"), _copy(spec, tmp_path, "prepared")
    chosen = None
    if target:
        po = str(plain_store.order_list_for_customer("GREYSON")["PO NUMBER"].iloc[0])
        chosen = Target(po_number=po)
    source = store_source(prepared_store, "GREYSON")
    assert source is not None
    prepared = PreparedSource(source, config, "GREYSON", chosen)
    # the run-wide capacity check reads the prepared chunks (the same counts)
    st.create_tables(prepared_store.engine)
    assert line_counts(prepared_store.engine, prepared, config, 0, "GREYSON", chosen) == line_counts(
        prepared_store.engine, source, config, 0, "GREYSON", chosen
    )
    plain = sync_published(plain_store, "GREYSON", None, config=config, target=chosen)
    assert plain is not None and prepared.lines == plain.lines and prepared.total() == source.total()
    result = sync_customer(prepared_store.engine, "GREYSON", prepared, None, config=config, target=chosen)
    for name in ("lines", "created", "updated", "unchanged", "archived", "failed", "cell_issues", "planned_operations"):
        assert getattr(result, name) == getattr(plain, name), name
    assert result.plan == plain.plan and result.cell_issue_sample == plain.cell_issue_sample
    assert _stored(prepared_store.engine) == _stored(plain_store.engine)
    assert prepared.boards == {}  # handed over, and freed


def test_a_preparation_answers_only_what_it_prepared(spec):
    store = spec.build().store
    config = load_board_config().with_scope()
    source = store_source(store, "GREYSON")
    assert source is not None
    prepared = PreparedSource(source, config, "GREYSON", None)
    ids = ["record_uuid"]
    assert prepared.chunks(config, 0, "GREYSON", None, ids) == [c for c, _ in prepared.boards[0]]
    # another mapping, target or column set: read from the store, the preparation kept for its sync
    other = config.with_knobs(chunk_lines=7)
    assert prepared.take(other, 0, "GREYSON", None) is None
    assert not isinstance(prepared.chunks(other, 0, "GREYSON", None, ids), list)
    assert prepared.take(config, 0, "GREYSON", Target(po_number="1")) is None
    assert not isinstance(prepared.chunks(config, 0, "GREYSON", None, [*needed_columns(config), "_LOAD_ID"]), list)
    taken = prepared.take(config, 0, "GREYSON", None)
    assert taken is not None and sum(len(c) for c, _ in taken) == prepared.lines
    assert prepared.take(config, 0, "GREYSON", None) is None  # once
    assert sum(len(c) for c in prepared.chunks(config, 0, "GREYSON", None, ids)) == prepared.lines  # read again
