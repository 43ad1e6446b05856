"""The published slice read in SQL chunks (lines.StoreSource) plans exactly what the whole frame plans."""

import datetime as dt
from pathlib import Path

import pytest
import sqlalchemy as sa

from order_platform.load.factory import PipelineSpec
from order_platform.monday import Target, load_board_config, sync_customer, sync_published
from order_platform.monday.plan.lines import StoreSource, store_source
from order_platform.monday.state import sync_state as st
from order_platform.workers.runner import run_customers
from stand_ins.sample_data import customer_headers, write_customer_workbook


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("published")
    headers = customer_headers()["GREYSON"]
    write_customer_workbook("GREYSON", headers, 300, 5, root / "source" / "USA CUSTOMERS")
    spec = PipelineSpec(f"sqlite:///{root / 'order_list.db'}", str(root / "source"), str(root / "blob"))
    reports = list(run_customers(spec, ["GREYSON"], workers=1))
    assert all(r.ok for r in reports), [r.error for r in reports]
    return spec.build().store


def plan_payloads(engine: sa.Engine) -> dict[str, str]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(st.plan_table.c.record_uuid, st.plan_table.c.payload)).all())


def test_chunked_sql_read_plans_the_same_as_the_whole_frame(store, tmp_path: Path):
    config = load_board_config().with_scope().with_knobs(chunk_lines=70)  # several chunks
    frame = store.order_list_for_customer("GREYSON")
    source = store_source(store, "GREYSON")
    assert isinstance(source, StoreSource) and source.total() == len(frame) > 250
    chunks = list(source.chunks(config, 0, "GREYSON", None, ["record_uuid", "XS", "S", "M", "L", "XL", "XXL"]))
    assert [len(c) for c in chunks][:-1] == [70] * (len(chunks) - 1)
    assert any(c.size_cells for c in chunks)
    whole = sa.create_engine(f"sqlite:///{tmp_path / 'whole.db'}")
    by_frame = sync_customer(whole, "GREYSON", frame, None, config=config)
    by_chunks = sync_published(store, "GREYSON", None, config=config)
    assert by_chunks is not None and by_chunks.lines == by_frame.lines == len(frame)
    assert (by_chunks.created, by_chunks.cell_issues) == (by_frame.created, by_frame.cell_issues)
    assert by_chunks.planned_operations == by_frame.planned_operations
    assert plan_payloads(store.engine) == plan_payloads(whole)


def test_scope_and_target_are_filtered_in_sql(store):
    config = load_board_config(today=dt.date(2026, 8, 1))  # the default scope: RECEIVED, 2026 FALL and HOLIDAY
    assert config.board.scope.aag_seasons == ["2026 FALL", "2026 HOLIDAY"]
    frame = store.order_list_for_customer("GREYSON")
    in_scope = frame[
        (frame["ORDER TYPE"].str.strip().str.upper() == "RECEIVED")
        & (frame["AAG SEASON"].str.strip().str.upper().isin(["2026 FALL", "2026 HOLIDAY"]))
    ]
    result = sync_published(store, "GREYSON", None, config=config)
    assert result is not None and result.lines == len(in_scope) and result.out_of_scope == len(frame) - len(in_scope)
    po = str(in_scope["PO NUMBER"].iloc[0])
    targeted = sync_published(store, "GREYSON", None, config=config, target=Target(po_number=po))
    assert targeted is not None and targeted.lines == int((in_scope["PO NUMBER"] == po).sum())
    assert sync_published(store, "NOBODY", None, config=config) is None


def test_cli_targeted_sync_needs_a_filter_and_syncs_one_po_live(store, server, monkeypatch, tmp_path):
    from click.testing import CliRunner

    from order_platform.cli.main import main
    from order_platform_tests.monday_fixtures import TOKEN

    url = str(store.engine.url)
    monkeypatch.setenv("ORDER_PLATFORM_DATABASE_URL", url)
    pinned = load_board_config().with_scope(order_types=["RECEIVED"], aag_seasons=["2026 FALL"])  # a pinned scope
    path = tmp_path / "pinned.json"
    path.write_text(pinned.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("MONDAY_BOARD_CONFIG", str(path))
    runner = CliRunner()
    assert runner.invoke(main, ["monday-sync", "--customer", "GREYSON"]).exit_code == 2  # no filter
    frame = store.order_list_for_customer("GREYSON")
    in_scope = frame[(frame["ORDER TYPE"] == "RECEIVED") & (frame["AAG SEASON"] == "2026 FALL")]
    po = str(in_scope["PO NUMBER"].iloc[0])
    monkeypatch.setenv("MONDAY_API_TOKEN", TOKEN)
    monkeypatch.setenv("MONDAY_API_URL", server.url)
    outcome = runner.invoke(main, ["monday-sync", "--customer", "greyson clothiers", "--po", po])
    assert outcome.exit_code == 0, outcome.output
    wanted = set(in_scope.loc[in_scope["PO NUMBER"] == po, "record_uuid"])
    on_board = {i.values["text_line_id"] for i in server.fake.active_items("9609317401")}
    assert on_board == wanted and "GREYSON: success" in outcome.output
    missing = runner.invoke(main, ["monday-sync", "--customer", "NOBODY", "--po", "1"])
    assert missing.exit_code == 1 and "no published ORDER_LIST slice" in missing.output


def test_the_store_reads_a_slice_in_chunks(store):
    whole = store.order_list_for_customer("GREYSON")
    chunks = list(store.order_list_chunks("GREYSON", 70))
    assert [len(c) for c in chunks[:-1]] == [70] * (len(chunks) - 1) and sum(map(len, chunks)) == len(whole)
    assert list(chunks[0]["record_uuid"]) == list(whole["record_uuid"][:70])
    assert store.order_list_chunks("NOBODY") is None and store.order_list_for_customer("NOBODY") is None
