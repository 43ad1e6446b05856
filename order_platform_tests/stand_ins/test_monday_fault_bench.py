"""The fault bench's own figures: a small run under the mix ends with the board right."""

from stand_ins.monday_fault_bench import FaultMix, run_fault_bench


def test_the_fault_bench_reports_the_board_after_each_run():
    out = run_fault_bench(30, FaultMix(drop_after_apply_rate=0.3, delay_seconds=0.01, fault_seed=2), window_seconds=1.0)
    first, second = out["runs"]
    assert first["status"] == "success" and first["created"] == 30
    for run in (first, second):
        assert run["board"] == {"items": 30, "missing": 0, "wrong_values": 0, "wrong_subitems": 0, "duplicate_items": 0}
    assert second["requests"] == 0 and first["faults_so_far"]["drops"] >= 1
