"""The cycle collector's policy in the processes that load customers (workers/collector.py).

The start-up cases run in a fresh interpreter: freezing the test process's heap would outlive the test."""

from __future__ import annotations

import gc
import subprocess
import sys
import textwrap

import pytest

from order_platform.workers import collector


def _run(code: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_start_up_is_frozen_once_and_young_objects_are_collected_less_often() -> None:
    out = _run(
        """
        import gc
        from order_platform.workers import collector
        collector.quiet_start_up()
        assert not gc.isenabled()
        made_at_start = [[i] for i in range(50_000)]
        collector.settle_start_up()
        assert gc.isenabled()
        frozen = gc.get_freeze_count()
        assert frozen >= 50_000, frozen
        assert gc.get_threshold()[0] == collector.YOUNG_THRESHOLD
        later = [[i] for i in range(10_000)]
        collector.quiet_start_up()
        collector.settle_start_up()  # a second refresh in the same process
        assert gc.isenabled()
        assert gc.get_freeze_count() == frozen  # not frozen again: what the first run left can still go
        print("ok")
        """
    )
    assert out == "ok"


def test_reference_cycles_made_after_the_start_up_are_still_collected() -> None:
    out = _run(
        """
        import gc, weakref
        from order_platform.workers import collector
        collector.quiet_start_up()
        collector.settle_start_up()
        class Node:
            pass
        a, b = Node(), Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        gc.collect()
        print("collected" if gone() is None else "kept")
        """
    )
    assert out == "collected"


def test_paused_restores_the_collector_as_it_was() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("boom")
    assert gc.isenabled()
    gc.disable()
    try:
        with collector.paused():
            pass
        assert not gc.isenabled()  # paused by someone else before: left paused
    finally:
        gc.enable()
