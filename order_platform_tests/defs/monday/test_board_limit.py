"""The item limit for the whole plan of a run: a refresh whose customers together would overflow the
board is refused before anything is sent, each customer with the counts: in the UI (metadata and
check), the run's failure, and the command line."""

from pathlib import Path

import pytest
from click.testing import CliRunner

from order_platform.cli.main import main
from order_platform.monday import load_board_config
from order_platform_tests.defs.monday.conftest import BOARD, CUSTOMERS, live_monday, order_list_slice
from order_platform_tests.defs.monday.test_monday_assets import check_results, failure_text, observed
from order_platform_tests.workbooks import line, workbook_name, write_workbook


def limit_board(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, limit: int) -> None:
    """A test mapping (MONDAY_BOARD_CONFIG): every line in scope, a board of `limit` items."""
    config = load_board_config().with_scope()
    config = config.with_boards(config.board.model_copy(update={"item_limit": limit}))
    path = tmp_path / "limited_board.json"
    path.write_text(config.model_dump_json(), encoding="utf-8")
    monkeypatch.setenv("MONDAY_BOARD_CONFIG", str(path))


def test_customers_that_each_fit_but_not_together_are_refused_before_anything_is_sent(
    sync, server, order_platform, tmp_path, monkeypatch
):
    sizes = {c: len(order_list_slice(order_platform, c)) for c in CUSTOMERS}  # 24 + 12 lines
    limit_board(tmp_path, monkeypatch, max(sizes.values()) + 1)  # each alone fits, both do not
    live = sync(live_monday(server))
    assert not live.success
    assert server.fake.stats.mutation_requests == 0 and not server.fake.items  # nothing sent at all
    shown = observed(live)
    assert set(shown) == set(CUSTOMERS)
    for customer, metadata in shown.items():
        assert metadata["status"] == "refused" and metadata["created"] == 0
        message = metadata["message"]
        assert f"would hold {sum(sizes.values())} items" in message and "the board says" in message
        assert f"{sizes[customer]} of them {customer}'s" in message and "nothing was sent" in message
    assert check_results(live) == {c: False for c in CUSTOMERS}
    text = failure_text(live)
    assert text.startswith("2 of 2 customer(s) failed") and f"refused: board {BOARD} would hold 36 items" in text

    dry = sync(live_monday(server, token=""))  # dry run: the same check against the state
    assert not dry.success and {m["status"] for m in observed(dry).values()} == {"refused"}
    assert "a live run would send nothing" in failure_text(dry)


def test_a_customer_alone_within_the_limit_goes_through(sync, server, order_platform, tmp_path, monkeypatch):
    sizes = {c: len(order_list_slice(order_platform, c)) for c in CUSTOMERS}
    limit_board(tmp_path, monkeypatch, max(sizes.values()) + 1)
    first = sync(live_monday(server), "GREYSON")
    assert first.success and len(server.fake.active_items(BOARD)) == sizes["GREYSON"]
    second = sync(live_monday(server), "TITLE NINE")  # 24 there + 12 > 25: refused, nothing sent
    assert not second.success
    [metadata] = observed(second).values()
    assert metadata["status"] == "refused" and "24 there now, the board says" in metadata["message"]
    assert len(server.fake.active_items(BOARD)) == sizes["GREYSON"]


def test_a_refresh_over_the_board_limit_says_why_on_the_command_line(platform, dagster_home, tmp_path, monkeypatch):
    write_workbook(platform.source / workbook_name("GREYSON"), [line("GRE-1", "A"), line("GRE-2", "B")])
    write_workbook(platform.source / workbook_name("RHONE"), [line("RHO-1", "A"), line("RHO-2", "B")])
    monkeypatch.delenv("MONDAY_API_TOKEN", raising=False)
    limit_board(tmp_path, monkeypatch, 3)
    result = CliRunner().invoke(main, ["refresh"])
    assert result.exit_code == 1, result.output
    rows = {row.split()[0]: row for row in result.output.splitlines() if row.startswith(("GREYSON", "RHONE"))}
    for customer in ("GREYSON", "RHONE"):
        assert "monday dry run refused: refused: board" in rows[customer]
        assert "would hold 4 items" in rows[customer] and "over its limit of 3" in rows[customer]
    errors = [row for row in result.output.splitlines() if row.startswith("error: ")]
    assert errors and "2 of 2 customer(s) failed" in errors[0] and "would hold 4 items" in errors[0]
