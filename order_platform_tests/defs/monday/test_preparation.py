"""The board sync's preparation during a run's loads (defs/monday/preparation.py): bounded, and never
the reason a run fails."""

import pytest

from order_platform.defs.monday.preparation import BoardPreparation
from order_platform.defs.monday.resources import MondayResource
from order_platform.load.factory import PipelineSpec
from order_platform.monday.plan.prepared import PreparedSource
from order_platform.workers.runner import run_customers
from stand_ins.sample_data import customer_headers, write_customer_workbook


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("preparation")
    for customer in ("GREYSON", "AESCAPE"):
        write_customer_workbook(customer, customer_headers()[customer], 60, 2, root / "source" / "USA CUSTOMERS")
    spec = PipelineSpec(f"sqlite:///{root / 'order_list.db'}", str(root / "source"), str(root / "blob"))
    reports = list(run_customers(spec, ["GREYSON", "AESCAPE"], workers=1))
    assert all(r.ok for r in reports), [r.error for r in reports]
    return spec.build().store


def test_customers_are_prepared_while_their_lines_fit_the_budget(store):
    everyone = BoardPreparation(store, MondayResource(), None)
    for customer in ("GREYSON", "AESCAPE", "NOBODY"):  # NOBODY was never published: its sync says so
        everyone.add(customer)
    assert sorted(everyone.sources) == ["AESCAPE", "GREYSON"]
    assert isinstance(everyone.sources["GREYSON"], PreparedSource)
    greyson = everyone.sources["GREYSON"].lines
    assert greyson > 1 and everyone.lines == greyson + everyone.sources["AESCAPE"].lines

    room_for_one = BoardPreparation(store, MondayResource(), None, budget=greyson)
    room_for_one.add("GREYSON")
    room_for_one.add("AESCAPE")  # would cross the budget: read at sync time
    assert list(room_for_one.sources) == ["GREYSON"]

    too_small = BoardPreparation(store, MondayResource(), None, budget=greyson - 1)
    too_small.add("GREYSON")  # let go at once, not held over the budget
    too_small.add("AESCAPE")  # and none after it
    assert too_small.sources == {}


def test_a_broken_mapping_prepares_nothing_and_is_left_to_the_sync(store, tmp_path):
    broken = tmp_path / "board.json"
    broken.write_text("{}", encoding="utf-8")
    preparation = BoardPreparation(store, MondayResource(board_config_path=str(broken)), None)
    preparation.add("GREYSON")
    assert preparation.sources == {} and preparation.config is None
