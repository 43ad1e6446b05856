"""The dry-run board plan made by the loading worker: its failure is the board's, never the load's."""

from __future__ import annotations

import pytest

from order_platform.load import board_plan, stages
from order_platform.load.board_plan import BoardPlanError, PlannedBoard, plan_board


def test_a_failed_plan_is_kept_as_an_error_and_raised_where_the_board_is_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(store: object, customer: str, client: object) -> None:
        raise ValueError("MONDAY_LINE is locked")

    monkeypatch.setattr("order_platform.monday.sync.sync_published", broken)
    stages.take()
    planned = plan_board(object(), "GREYSON")
    assert planned.result is None and planned.error == "ValueError: MONDAY_LINE is locked"
    with pytest.raises(BoardPlanError, match="MONDAY_LINE is locked"):
        planned.outcome()
    assert board_plan.BOARD_PLAN in stages.take()  # timed as the board_plan stage


def test_a_plan_is_handed_on_as_made() -> None:
    assert PlannedBoard(None).outcome() is None
