"""The per-stage clock: a stage inside another is taken out of it, so a customer's stages add up."""

from __future__ import annotations

import time

from order_platform.load import stages


def _spin(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_nested_stages_are_taken_out_of_the_outer_one_and_taken_once() -> None:
    stages.take()
    with stages.timed("cell_text"):
        _spin(0.02)
        with stages.timed("read"):
            _spin(0.05)
    taken = stages.take()
    assert set(taken) == {"cell_text", "read"}
    assert taken["read"][1] >= 0.05 and taken["cell_text"][1] < 0.05  # CPU seconds, read's not in cell_text's
    assert stages.take() == {}


def test_stages_taken_for_a_customer_are_given_back_to_the_caller() -> None:
    stages.take()
    with stages.timed("listing"):
        pass
    outer = stages.take()
    with stages.timed("read"):
        pass
    stages.give_back(outer)
    assert set(stages.take()) == {"listing", "read"}
    summed: dict[str, tuple[float, float]] = {}
    stages.add(summed, {"read": (1.0, 0.5)})
    stages.add(summed, {"read": (2.0, 0.25)})
    assert summed == {"read": (3.0, 0.75)}
