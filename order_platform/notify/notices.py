"""After a run: its change summary and its failure message, each sent once (Teams, or the run log).

Plain Python: the facts of the run come from Dagster's records (defs/notify/facts.py), the changes and
board results from the platform database. Whoever notices the run's end first (the run-status sensors,
or the CLI that ran it in process) claims each message in PLATFORM_NOTIFICATIONS and sends it; a second
caller finds it claimed. A message that cannot be delivered is logged and recorded as failed; nothing
here raises into a data run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from order_platform.monday.reconcile.drift import drift_table
from order_platform.monday.state.sync_state import run_table
from order_platform.notify import records
from order_platform.notify.cards import BoardReport, FailedCustomer, Message, change_summary, failure_message
from order_platform.notify.redact import one_line
from order_platform.notify.settings import NotifySettings
from order_platform.notify.teams import TeamsWebhook, WebhookError
from order_platform.warehouse.changes.reads import changes_of
from order_platform.warehouse.changes.report import by_customer

log = logging.getLogger(__name__)
Log = Callable[[int, str], None]  # (logging level, text): the run's log


@dataclass
class RunFacts:
    """What one run did, as far as the messages need it."""

    run_id: str
    load_ids: dict[str, str] = field(default_factory=dict)  # customer -> the load it published
    failures: list[FailedCustomer] = field(default_factory=list)
    sync_run_ids: dict[str, int] = field(default_factory=dict)  # customer -> its MONDAY_SYNC_RUN row
    run_failed: bool = False
    run_error: str | None = None  # the run's own error when no customer is named (a broken database...)
    where: str = ""  # e.g. " (weekday_reconcile)"
    will_retry: bool = False  # Dagster retries the run (production: a pod died): its retry reports the failure


@dataclass
class Notice:
    kind: str
    status: str  # sent | logged | failed | already (another caller claimed it)
    attempts: int = 0
    detail: str | None = None
    text: str = ""


def board_drift(engine: sa.Engine, run_id: str) -> dict[str, tuple[int, int]]:
    """Per customer, the board drift the run's reconcile found (MONDAY_DRIFT rows of this Dagster run):
    (repaired: restored, recreated, moved or archived; reported only: left for people, or a failed repair)."""
    with engine.connect() as conn:
        if not sa.inspect(conn).has_table(drift_table.name):
            return {}
        rows = conn.execute(
            sa.select(drift_table.c.customer, drift_table.c.action, sa.func.count())
            .where(drift_table.c.run == run_id[:64])
            .group_by(drift_table.c.customer, drift_table.c.action)
        ).all()
    out: dict[str, tuple[int, int]] = {}
    for customer, action, count in rows:
        name = customer or "(items no customer owns)"
        repaired, reported = out.get(name, (0, 0))
        if action == "reported":
            reported += int(count)
        else:
            repaired += int(count)
        out[name] = (repaired, reported)
    return out


def board_reports(engine: sa.Engine, run_id: str, sync_run_ids: dict[str, int]) -> list[BoardReport]:
    """What each customer's board sync and reconcile of the run report: lines that failed (refused by
    monday.com), a refused plan (item limit...), board drift repaired and drift only reported."""
    found = {}
    if sync_run_ids:
        with engine.connect() as conn:
            if sa.inspect(conn).has_table(run_table.name):
                rows = conn.execute(sa.select(run_table).where(run_table.c.run_id.in_(list(sync_run_ids.values()))))
                found = {row.customer: row for row in rows}
    drift = board_drift(engine, run_id)
    out = []
    for customer in sorted(set(found) | set(drift)):
        row = found.get(customer)
        repaired, reported = drift.get(customer, (0, 0))
        out.append(
            BoardReport(
                customer,
                status=row.status if row is not None else "",
                failed_lines=int(row.failed or 0) + int(row.skipped or 0) if row is not None else 0,
                refused=row is not None and row.status == "refused",
                drift_repaired=repaired,
                drift_reported=reported,
                message=row.message if row is not None else None,
            )
        )
    return out


def messages_for(engine: sa.Engine, changes: sa.Table, facts: RunFacts, settings: NotifySettings) -> list[Message]:
    """The run's messages: a change summary when it published changes (or the board has something to tell),
    a failure message when customers (or the run) failed."""
    run_url = settings.run_url(facts.run_id)
    out = []
    groups = by_customer(changes_of(engine, changes, load_ids=list(facts.load_ids.values())))
    board = [b for b in board_reports(engine, facts.run_id, facts.sync_run_ids) if b.worth_telling]
    if groups or board:
        out.append(change_summary(groups, board, run_url, facts.where))
    if (facts.failures or facts.run_failed) and not facts.will_retry:  # one failure message per run, not per retry
        out.append(failure_message(facts.failures, facts.run_error, run_url, facts.where))
    return out


def notify_run(
    engine: sa.Engine,
    changes: sa.Table,
    facts: RunFacts,
    settings: NotifySettings | None = None,
    run_log: Log | None = None,
) -> list[Notice]:
    """Send the run's messages once each; never raises (a failed notification is logged and recorded)."""
    say = run_log or (lambda level, text: log.log(level, text))
    try:
        settings = settings or NotifySettings()
        records.ensure_table(engine)
        messages = messages_for(engine, changes, facts, settings)
    except Exception as exc:  # the data run is over and stays as it is
        say(logging.ERROR, f"notification not prepared: {one_line(f'{type(exc).__name__}: {exc}')}")
        return [Notice("any", "failed", detail=one_line(str(exc)))]
    return [_deliver(engine, facts.run_id, message, settings, say) for message in messages]


def _deliver(engine: sa.Engine, run_id: str, message: Message, settings: NotifySettings, say: Log) -> Notice:
    try:
        if not records.claim(engine, run_id, message.kind, message.title):
            return Notice(message.kind, "already", text=message.text)
    except Exception as exc:
        say(logging.ERROR, f"notification not recorded: {one_line(str(exc))}")
        return Notice(message.kind, "failed", detail=one_line(str(exc)), text=message.text)
    url = settings.teams_webhook_url.get_secret_value() if settings.teams_webhook_url else None
    if not url:
        say(logging.INFO, f"Teams not configured (TEAMS_WEBHOOK_URL); the {message.kind} message:\n{message.text}")
        notice = Notice(message.kind, "logged", text=message.text)
    else:
        webhook = TeamsWebhook(url, settings)
        try:
            delivery = webhook.post(message.body)
            say(logging.INFO, f"Teams {message.kind} message sent ({delivery.attempts} attempt(s)):\n{message.text}")
            notice = Notice(message.kind, "sent", delivery.attempts, text=message.text)
        except WebhookError as exc:
            detail = one_line(str(exc))
            say(
                logging.ERROR,
                f"Teams {message.kind} message not delivered after {exc.attempts} attempt(s): {detail}\n{message.text}",
            )
            notice = Notice(message.kind, "failed", exc.attempts, detail, message.text)
        except Exception as exc:  # a bug must not fail the data run either
            detail = one_line(f"{type(exc).__name__}: {exc}")
            say(logging.ERROR, f"Teams {message.kind} message not delivered: {detail}\n{message.text}")
            notice = Notice(message.kind, "failed", 1, detail, message.text)
        finally:
            webhook.close()
    try:
        records.finish(engine, run_id, message.kind, notice.status, notice.attempts, notice.detail)
    except Exception as exc:
        say(logging.ERROR, f"notification outcome not recorded: {one_line(str(exc))}")
    return notice
