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


def test_customers_are_prepared_until_the_budget_is_reached(store):
    preparation = BoardPreparation(store, MondayResource(), None, budget=1)
    preparation.add("GREYSON")
    preparation.add("AESCAPE")  # the budget was crossed by the first: read at sync time
    preparation.add("NOBODY")  # never published: its sync says so
    assert list(preparation.sources) == ["GREYSON"] and isinstance(preparation.sources["GREYSON"], PreparedSource)
    assert preparation.lines == preparation.sources["GREYSON"].lines > 1

    everyone = BoardPreparation(store, MondayResource(), None)
    for customer in ("GREYSON", "AESCAPE", "NOBODY"):
        everyone.add(customer)
    assert sorted(everyone.sources) == ["AESCAPE", "GREYSON"]


def test_a_broken_mapping_prepares_nothing_and_is_left_to_the_sync(store, tmp_path):
    broken = tmp_path / "board.json"
    broken.write_text("{}", encoding="utf-8")
    preparation = BoardPreparation(store, MondayResource(board_config_path=str(broken)), None)
    preparation.add("GREYSON")
    assert preparation.sources == {} and preparation.config is None
