"""The `order-platform` command: headless refresh through Dagster, summary, targeted sync, DDL, retire
(and, in a checkout, the development commands of stand_ins/: sample data and benchmarks).

An error is one line on stderr (`error: ...`, exit 1); its traceback goes to the log file
(<ORDER_PLATFORM_HOME>/order-platform.log), and to the terminal with `--debug`.
"""

from __future__ import annotations

import atexit
import gc
import logging
import sys
import warnings
from pathlib import Path
from typing import Any

import click

from order_platform.cli.errors import one_line, open_log
from order_platform.settings import PlatformSettings

log = logging.getLogger("order_platform.cli")


# Commands of the development tools (stand_ins/, outside the production wheel): listed and loaded only
# where they are installed (`uv sync`, the default dev group); elsewhere they say how to get them.
DEV_COMMANDS = {"sample-data", "bench", "monday-bench", "monday-fault-bench"}


def _dev_commands() -> click.Group | None:
    try:
        from stand_ins.cli import dev_commands
    except ModuleNotFoundError:
        return None
    return dev_commands


class _OneLineErrors(click.Group):
    """Unexpected exceptions become one line; click's own (usage, abort, ClickException) pass through."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        dev = _dev_commands()
        return sorted(set(super().list_commands(ctx)) | (set(dev.commands) if dev else set()))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in DEV_COMMANDS:
            return command
        dev = _dev_commands()
        if dev is None:
            raise click.UsageError(
                f"`{cmd_name}` is a development command: the stand-ins are not installed here "
                "(a checkout's `make install` / `uv sync` installs them)"
            )
        return dev.get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as exc:
            logfile = open_log()
            log.error("order-platform %s failed", ctx.invoked_subcommand, exc_info=True)
            if (ctx.obj or {}).get("debug"):
                raise
            where = f"traceback in {logfile}" if logfile else "run with --debug for the traceback"
            click.echo(f"error: {one_line(exc)} ({where})", err=True)
            sys.exit(1)


@click.group(cls=_OneLineErrors)
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def main(ctx: click.Context, debug: bool) -> None:
    """The order team's data platform (see README)."""
    ctx.obj = {"debug": debug}
    # BackfillPolicy is marked beta in Dagster 1.13; the warning is noise for the people running this.
    warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=Warning)


@main.command()
@click.option(
    "--customer", "customers", multiple=True, help="Canonical or file name; repeat for several. Default: all."
)
@click.option("--force", is_flag=True, help="Reload every customer, also those whose workbook has not changed.")
def refresh(customers: tuple[str, ...], force: bool) -> None:
    """Run the ORDER_LIST layers (then the monday.com sync) through Dagster for customers whose workbook is
    new or changed (all with --force); print a per-customer summary; exit 1 if any failed."""
    from order_platform.workers.collector import quiet_start_up
    from order_platform.workers.server import start_worker_server

    quiet_start_up()  # until the run's step starts (defs/customer_layers.py): nothing imported is garbage

    start_worker_server()  # first: its imports (~1 s) overlap this process's own (Dagster, the definitions)
    from order_platform.workers.read_ahead import start_for_refresh

    ahead = start_for_refresh(list(customers) or None, force=force)  # read while Dagster loads and plans
    from order_platform.cli.summary import format_refresh
    from order_platform.defs.headless import UnknownCustomerError
    from order_platform.defs.headless import refresh as run_refresh

    try:
        outcome = run_refresh(list(customers) or None, force=force, ahead=ahead)
    except UnknownCustomerError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(format_refresh(outcome))
    exit_without_final_collections()
    sys.exit(0 if outcome.ok else 1)


def exit_without_final_collections() -> None:
    """Let the interpreter's shutdown (not a test's CliRunner, which goes on) skip the cyclic collections
    over every object left (the imported Dagster, pandas and SQLAlchemy, the run's own): ~1 s of CPU
    after the work is done, for memory the OS frees anyway. atexit handlers (the worker pool's),
    logging's flush, the standard streams and freeing by reference count happen as before; only
    objects in reference cycles are left to the OS unfinalised, and by now every database write is
    committed and every file closed."""
    atexit.register(gc.freeze)


@main.command()
def summary() -> None:
    """Print every customer's latest load (status, rows, quarantine, errors)."""
    from order_platform.cli.summary import format_loads
    from order_platform.defs.resources import OrderPlatformResource

    store = OrderPlatformResource().pipeline().store
    click.echo(format_loads(sorted(store.latest_loads().values(), key=lambda r: r["customer"])))


@main.command()
@click.option("--line", "line_key", help="A line's changes over time: its record_uuid, or a PO NUMBER (its lines).")
@click.option("--as-of", type=click.DateTime(["%Y-%m-%d"]), help="With --line: also the line as it was that day.")
@click.option("--since", type=click.DateTime(["%Y-%m-%d"]), help="Changes from this day on (default: each "
              "customer's latest published load).")
@click.option("--customer", "customers", multiple=True, help="Canonical or file name; repeat for several.")
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False, path_type=Path), help="Also write them to FILE.")
def changes(
    line_key: str | None, as_of: Any, since: Any, customers: tuple[str, ...], csv_path: Path | None
) -> None:
    """What changed in ORDER_LIST per customer: counts, then each changed line with old -> new values, most
    significant first (quantities, ex-factory and delivery dates, prices, order type); or one line's history."""
    from order_platform.cli.changes import format_line, format_report, report_rows
    from order_platform.defs.resources import OrderPlatformResource
    from order_platform.staging.customers import customer_directory
    from order_platform.warehouse.changes.report import write_csv

    store = OrderPlatformResource().pipeline().store
    if line_key:
        click.echo(format_line(store, line_key, as_of.date() if as_of else None))
        return
    directory = customer_directory()
    names = sorted({directory.partition_key(n) for n in customers})
    rows, title = report_rows(store, since.date() if since else None, names)
    click.echo(format_report(rows, title))
    if csv_path is not None:
        written = write_csv(rows, csv_path)
        click.echo(f"wrote {written} change(s) to {csv_path}")


@main.command("monday-sync")
@click.option("--customer", required=True, help="Canonical or file name, e.g. GREYSON or 'TITLE 9'.")
@click.option("--po", "po_number", help="Only this PO NUMBER.")
@click.option("--aag-season", help="Only this AAG SEASON, e.g. '2026 FALL'.")
@click.option("--customer-season", help="Only this CUSTOMER SEASON, e.g. FA26.")
@click.option("--all", "full", is_flag=True, help="The whole slice instead (lines gone from it are archived).")
@click.option("--dry-run", is_flag=True, help="Plan and store only, even with MONDAY_API_TOKEN set.")
@click.option("--audit", is_flag=True, help="Also read the whole board and delete duplicates (keeping one).")
def monday_sync(
    customer: str,
    po_number: str | None,
    aag_season: str | None,
    customer_season: str | None,
    full: bool,
    dry_run: bool,
    audit: bool,
) -> None:
    """Targeted monday.com sync of one customer's PO, AAG season or customer season (at least one filter,
    or --all); prints the outcome, exits 1 unless it succeeded (cell issues are warnings)."""
    from order_platform.monday import Target, TargetError
    from order_platform.monday.targeted import NotPublishedError, sync_target

    try:
        target = None if full else Target(po_number, aag_season, customer_season)
    except TargetError as exc:
        raise click.UsageError(f"{exc} (or --all)") from exc
    url = str(PlatformSettings().database_url)
    try:
        result = sync_target(url, customer, target, dry_run=dry_run, audit=audit)
    except NotPublishedError as exc:
        raise click.ClickException(str(exc)) from exc
    counts = ", ".join(f"{k} {getattr(result, k)}" for k in ("lines", "created", "updated", "unchanged", "archived"))
    click.echo(
        f"{result.customer}: {result.status}{' (dry run)' if result.dry_run else ''}; {counts}; "
        f"failed {result.failed}; {result.requests} requests" + (f"; {result.target}" if result.target else "")
    )
    if result.cell_issues:
        click.echo(f"warning: {result.cell_issues} cell(s) cleared or neutralised (MONDAY_CELL_ISSUE), e.g.:")
        for issue in result.cell_issue_sample[:5]:
            click.echo(f"  {issue['record_uuid']} {issue['column']} {issue['value']!r}: {issue['code']}")
    for failure in result.failures[:5]:
        click.echo(f"  failed {failure['record_uuid']}: {failure['code']}: {failure['message']}")
    if result.message:
        click.echo(result.message)
    sys.exit(0 if result.ok and not result.failed and not result.skipped else 1)


@main.command("reconcile-board")
@click.option(
    "--customer", "customers", multiple=True, help="Canonical or file name; repeat for several. Default: all."
)
@click.option("--dry-run", is_flag=True, help="Read and compare only: nothing is sent or stored.")
def reconcile_board(customers: tuple[str, ...], dry_run: bool) -> None:
    """Read the board(s) back, compare every item with ORDER_LIST, repair what people changed on the
    platform's columns and items (never the team's own), record it in MONDAY_DRIFT and print the counts;
    exit 0 when the board matches ORDER_LIST after the repair, 1 otherwise. Needs MONDAY_API_TOKEN."""
    from order_platform.monday.reconcile import ReconcileError
    from order_platform.monday.reconcile.command import NoTokenError, reconcile_database

    url = str(PlatformSettings().database_url)
    try:
        result = reconcile_database(url, list(customers) or None, dry_run=dry_run)
    except (NoTokenError, ReconcileError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    for line in result.lines():
        click.echo(line)
    shown = [f for c in result.customers.values() for f in c.findings][:10] + result.people[:5]
    if shown:
        click.echo("first findings:")
    for f in shown:
        where = f"{f.customer or '-'} item {f.item_id}" + (f" {f.column_name}" if f.column_name else "")
        click.echo(f"  {f.action:9} {where}: board {f.board_value!r}, expected {f.expected_value!r}")
    sys.exit(0 if result.ok else 1)


@main.command()
@click.option("--check", is_flag=True, help="Fail if sql/ differs from what the schema generates.")
def ddl(check: bool) -> None:
    """Write the SQL Server DDL for ORDER_LIST and the platform's tables into sql/."""
    from order_platform.warehouse.ddl import DDL_PATH, generate_ddl

    text = generate_ddl()
    if check:
        if not DDL_PATH.exists() or DDL_PATH.read_text() != text:
            raise click.ClickException(f"{DDL_PATH} is out of date; run `order-platform ddl`")
        click.echo(f"{DDL_PATH} is up to date")
        return
    DDL_PATH.parent.mkdir(parents=True, exist_ok=True)
    DDL_PATH.write_text(text)
    click.echo(f"wrote {DDL_PATH}")


@main.command("sharepoint-login")
def sharepoint_login() -> None:
    """Delegated (device-code) sign-in for SharePoint; stores the encrypted token cache in the database."""
    from order_platform.defs.resources import OrderPlatformResource
    from order_platform.ingest.connectors import sharepoint_login as login

    store = OrderPlatformResource().pipeline().store
    user = login(None, store.engine, echo=click.echo)
    click.echo(f"signed in as {user}")


@main.command()
@click.argument("name")
@click.option("--yes", is_flag=True, help="Retire without asking for confirmation.")
def retire(name: str, yes: bool) -> None:
    """Retire a customer whose workbook is gone: archive its ORDER_LIST slice (to ORDER_LIST_ARCHIVE), drop
    its raw/staging tables, archive its monday.com items (a dry run without MONDAY_API_TOKEN)."""
    from order_platform.load.factory import PipelineSpec
    from order_platform.load.retirement import RetireRefused, plan_retirement, retire_customer
    from order_platform.monday import MondayClient, MondaySettings, load_board_config
    from order_platform.staging.customers import customer_directory

    settings = PlatformSettings()
    pipeline = PipelineSpec.from_settings(settings).build()
    customer = customer_directory().partition_key(name)
    try:
        plan = plan_retirement(pipeline, customer)
        click.echo(plan.describe())
        if not yes:
            click.confirm(f"Retire {customer}?", abort=True)
        client = MondayClient.from_settings(MondaySettings(), load_board_config())
        try:
            result = retire_customer(pipeline, customer, monday_client=client)
        finally:
            if client is not None:
                client.close()
    except RetireRefused as exc:
        raise click.ClickException(str(exc)) from exc
    monday = result.monday
    board = f"{monday.get('archived', 0)} monday.com item(s) " + (
        "planned for archiving (dry run: no MONDAY_API_TOKEN)" if monday.get("dry_run") else "archived"
    )
    from order_platform.defs.headless import forget_customer_partition

    partition = "its Dagster partition removed" if forget_customer_partition(customer, settings) else "no partition"
    click.echo(
        f"retired {customer}: {result.archived_rows:,} rows archived to ORDER_LIST_ARCHIVE, "
        f"dropped {', '.join(result.dropped_tables) or 'no tables'}, {board}, {partition}"
    )


if __name__ == "__main__":
    main()
