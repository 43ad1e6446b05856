"""Development commands of `order-platform` (sample data, benchmarks): found by the main command where
the stand-ins are installed (a checkout), absent from the production wheel."""

from __future__ import annotations

from pathlib import Path

import click

from order_platform.settings import PlatformSettings


@click.group()
def dev_commands() -> None:
    """The stand-ins' commands, attached to `order-platform` by name."""


@dev_commands.command("sample-data")
@click.option("--target", type=click.Path(path_type=Path), help="Folder to write to (default: the source folder).")
@click.option("--lines", default=101_500, show_default=True, help="Order lines across the 46 customers.")
@click.option("--force", is_flag=True, help="Write even if the folder already holds workbooks.")
def sample_data(target: Path | None, lines: int, force: bool) -> None:
    """Write realistic sample workbooks for the 46 customers (only into an empty folder unless --force)."""
    from stand_ins.sample_data import generate_sample_workbooks

    target = target or PlatformSettings().source_dir
    assert target is not None
    existing = list(target.rglob("*.xlsx")) if target.exists() else []
    if existing and not force:
        click.echo(f"{target} already holds {len(existing)} workbook(s); leaving them (use --force to rewrite)")
        return
    written = generate_sample_workbooks(target, total_lines=lines)
    click.echo(f"wrote {len(written)} workbooks, {sum(w.lines for w in written)} order lines, into {target}")


@dev_commands.command()
@click.option(
    "--source", type=click.Path(path_type=Path, exists=True), help="Workbooks to load (default: sample data)."
)
@click.option("--workers", type=int, default=None, help="Processes (default: ORDER_PLATFORM_WORKERS or 2).")
@click.option("--profile", is_flag=True, help="The per-stage profile on one worker too (one more refresh).")
@click.option(
    "--refreshes", default=2, show_default=True, help="Whole `refresh` commands timed (0: only the in-process one)."
)
def bench(source: Path | None, workers: int | None, profile: bool, refreshes: int) -> None:
    """Full refresh vs. the calamine read floor, one changed workbook via the sensor, peak memory."""
    from stand_ins.bench import run_bench

    run_bench(source, workers, profile, refreshes)


@dev_commands.command("monday-bench")
@click.option("--lines", default=1000, show_default=True)
@click.option(
    "--reconcile-items", default=10_000, show_default=True, help="Items on the board of the reconcile bench (0: skip)."
)
def monday_bench(lines: int, reconcile_items: int) -> None:
    """monday.com sync against the local stand-in: requests per line, unchanged re-run, budget use; the
    reconcile of a full board (requests, complexity, seconds)."""
    from stand_ins.monday_bench import main as bench_main

    bench_main([str(lines), "6.0", str(reconcile_items)])


@dev_commands.command("monday-fault-bench")
@click.option("--lines", default=3000, show_default=True)
def monday_fault_bench(lines: int) -> None:
    """The sync under 429s, 5xx, dropped answers and slow answers: the stand-in's board after each of two runs."""
    from stand_ins.monday_fault_bench import main as bench_main

    bench_main(lines)
