"""The webhook client against the strict Workflows stand-in: the shape, retries honouring Retry-After,
what is never retried, and errors that never carry the URL's signature."""

from __future__ import annotations

import time

import pytest
import requests

from order_platform.notify.cards import BoardReport, FailedCustomer, change_summary, failure_message
from order_platform.notify.redact import one_line
from order_platform.notify.settings import NotifySettings
from order_platform.notify.teams import RetryAfterTooLong, TeamsWebhook, WebhookError
from order_platform.warehouse.changes.report import by_customer
from stand_ins.teams_webhook import SIGNATURE, TeamsWebhookStandIn


@pytest.fixture
def hook():
    with TeamsWebhookStandIn() as stand_in:
        yield stand_in


def settings(**values) -> NotifySettings:
    return NotifySettings(**{"backoff_base_seconds": 0, **values})


def change(customer="GREYSON", column="M", old="20", new="25", kind="changed", significance=1) -> dict:
    return {
        "customer": customer,
        "record_uuid": f"{customer}-{column}",
        "change_kind": kind,
        "column_name": column,
        "old_value": old,
        "new_value": new,
        "cell_issue": None,
        "significance": significance,
        "po_number": "PO-1",
        "customer_style": "ST1",
        "aag_order_number": "GRE-1",
    }


def test_the_stand_in_refuses_what_teams_workflows_refuses(hook):
    post = lambda body, **kw: requests.post(hook.url, json=body, timeout=5, **kw)  # noqa: E731
    legacy = {"@type": "MessageCard", "@context": "http://schema.org/extensions", "text": "hello"}
    assert post(legacy).status_code == 400
    wrong_type = {"type": "message", "attachments": [{"contentType": "application/json", "content": {}}]}
    assert post(wrong_type).status_code == 400
    no_body = {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "content": {"type": "AdaptiveCard", "version": "1.4"},
            }
        ],
    }
    assert post(no_body).status_code == 400
    assert requests.post(hook.url.replace(SIGNATURE, "forged"), json=legacy, timeout=5).status_code == 401
    message = change_summary(by_customer([change()]), [], None)
    huge = change_summary(by_customer([change()]), [], None).body
    huge["attachments"][0]["content"]["body"].append({"type": "TextBlock", "text": "x" * 30_000})
    assert post(huge).status_code == 413
    assert post(message.body).status_code == 202
    assert len(hook.received) == 1 and len(hook.refused) == 5


def test_a_429_is_retried_after_its_retry_after_and_a_5xx_after_a_backoff(hook):
    hook.answer_next(429, retry_after=1)
    hook.answer_next(503)
    client = TeamsWebhook(hook.url, settings())
    started = time.perf_counter()
    delivery = client.post(
        failure_message([FailedCustomer("RHONE", "RHONE ORDER LIST (M3).xlsx", "bad")], None, None).body
    )
    assert delivery.attempts == 3 and delivery.status == 202
    assert time.perf_counter() - started >= 1.0  # the Retry-After was waited out
    assert hook.posts == 3 and len(hook.received) == 1


def test_what_is_not_retried_and_errors_without_the_signature(hook):
    client = TeamsWebhook(hook.url, settings(max_retry_after_seconds=5))
    hook.answer_next(429, retry_after=600)  # longer than allowed: fails now rather than holding the sensor
    with pytest.raises(RetryAfterTooLong) as too_long:
        client.post(change_summary(by_customer([change()]), [], None).body)
    assert too_long.value.attempts == 1
    with pytest.raises(WebhookError) as refused:  # a 400 (wrong body) is not retried
        client.post({"type": "message", "attachments": []})
    assert refused.value.attempts == 1 and "HTTP 400" in str(refused.value)
    hook.stop()
    with pytest.raises(WebhookError) as down:
        TeamsWebhook(hook.url, settings(max_attempts=2)).post(change_summary(by_customer([change()]), [], None).body)
    assert down.value.attempts == 2 and str(down.value) == "connection failed"
    for error in (too_long.value, refused.value, down.value):
        assert SIGNATURE not in str(error)


def test_messages_are_the_workflows_shape_with_the_most_significant_changes_and_no_secret(hook, monkeypatch):
    monkeypatch.setenv("MONDAY_API_TOKEN", "monday-token-never-shown")
    rows = [
        change(column="NOTES", old="a", new="b", significance=9),
        change(column="EX FACTORY DATE", old="2025-03-01", new="2025-04-15", significance=2),
        change(column="M", significance=1),
        change(customer="RHONE", column="ORDER TYPE", old="RECEIVED", new="CANCELLED", significance=4),
    ]
    board = [BoardReport("RHONE", status="partial", failed_lines=2), BoardReport("GREYSON")]
    summary = change_summary(by_customer(rows), board, "http://ui/runs/abc")
    failed = FailedCustomer(
        "TITLE NINE",
        "EU CUSTOMERS/TITLE 9 ORDER LIST (M3).xlsx",
        "boom with monday-token-never-shown\nTraceback (most recent call last):\n  File x",
    )
    failure = failure_message([failed], None, None)
    client = TeamsWebhook(hook.url, settings())
    client.post(summary.body)
    client.post(failure.body)
    summary_text, failure_text = hook.texts()
    assert summary_text.index("M: 20 -> 25") < summary_text.index("EX FACTORY DATE") < summary_text.index("NOTES")
    assert "ORDER TYPE: RECEIVED -> CANCELLED" in summary_text
    assert "RHONE: 2 line(s) refused by the board" in summary_text and "GREYSON:" not in summary_text.split("board")[-1]
    assert "http://ui/runs/abc" in summary_text
    assert "TITLE NINE" in failure_text and "TITLE 9 ORDER LIST (M3).xlsx: boom with ***" in failure_text
    assert "Traceback" not in failure_text and "monday-token-never-shown" not in failure_text


def test_one_line_hides_urls_passwords_and_signatures():
    text = "could not reach mssql+mssqlpython://user:p%40ss@host/db and https://x/invoke?sig=abc&sv=1\nsecond"
    assert (
        one_line(text)
        == "could not reach mssql+mssqlpython://user:***@host/db and https://x/invoke?sig=***&sv=1 second"
    )
