"""A local Microsoft Teams Workflows webhook ("Post to a channel when a webhook request is received"),
as strict as the real one about what it accepts.

Teams Workflows take a POST of JSON in one shape only, a message with Adaptive Card attachments:

    {"type": "message",
     "attachments": [{"contentType": "application/vnd.microsoft.card.adaptive",
                      "content": {"type": "AdaptiveCard", "version": "1.4", "body": [...]}}]}

and answer 202 Accepted with an empty body. This stand-in refuses (400, with the reason) any other body:
not JSON, another `type`, no attachments, another content type (the old connector's MessageCard), a card
without `type`/`version`/`body`, a body element without a known `type`, a TextBlock without text; it
refuses a message over Teams' 28 KB limit (413) and a URL without the workflow's signature (401).
Answers can be scripted (`answer_next(429, retry_after=1)`) to exercise the client's retries.

A real HTTP server (pytest-httpserver, werkzeug) on a free local port: `with TeamsWebhookStandIn() as hook:
hook.url ...`.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

CARD_CONTENT_TYPE = "application/vnd.microsoft.card.adaptive"
MAX_BYTES = 28 * 1024  # Teams' message size limit
CARD_VERSIONS = {"1.0", "1.1", "1.2", "1.3", "1.4", "1.5"}
ELEMENT_TYPES = {
    "TextBlock",
    "RichTextBlock",
    "FactSet",
    "Container",
    "ColumnSet",
    "Column",
    "ActionSet",
    "Image",
    "Table",
}
ACTION_TYPES = {"Action.OpenUrl", "Action.ShowCard", "Action.ToggleVisibility"}
PATH = "/workflows/6a1c0f/triggers/manual/paths/invoke"
SIGNATURE = "stand-in-signature-never-shown"


def workflows_refusal(body: Any) -> str | None:
    """Why Teams Workflows would refuse this body; None when it is a valid message."""
    if not isinstance(body, dict) or body.get("type") != "message":
        return 'the body must be an object with "type": "message"'
    attachments = body.get("attachments")
    if not isinstance(attachments, list) or not attachments:
        return '"attachments" must be a non-empty list'
    for attachment in attachments:
        if not isinstance(attachment, dict) or attachment.get("contentType") != CARD_CONTENT_TYPE:
            return f'every attachment must have "contentType": "{CARD_CONTENT_TYPE}"'
        card = attachment.get("content")
        if not isinstance(card, dict) or card.get("type") != "AdaptiveCard":
            return 'an attachment\'s "content" must be an AdaptiveCard'
        if card.get("version") not in CARD_VERSIONS:
            return f"unsupported Adaptive Card version {card.get('version')!r}"
        if not isinstance(card.get("body"), list) or not card["body"]:
            return 'the card\'s "body" must be a non-empty list'
        for element in _elements(card["body"]):
            if not isinstance(element, dict) or element.get("type") not in ELEMENT_TYPES:
                return f"unknown card element {element!r:.80}"
            if element["type"] == "TextBlock" and not isinstance(element.get("text"), str):
                return "a TextBlock needs its text"
        for action in card.get("actions", []):
            if not isinstance(action, dict) or action.get("type") not in ACTION_TYPES:
                return f"unknown card action {action!r:.80}"
    return None


def _elements(items: list) -> list:
    out = []
    for item in items:
        out.append(item)
        if isinstance(item, dict):
            for key in ("items", "columns"):
                if isinstance(item.get(key), list):
                    out.extend(_elements(item[key]))
    return out


@dataclass
class TeamsWebhookStandIn:
    host: str = "127.0.0.1"
    received: list[dict] = field(default_factory=list)  # accepted messages, in order
    refused: list[str] = field(default_factory=list)  # why each refused post was refused
    posts: int = 0  # every POST, answered or refused
    _script: list[tuple[int, str | None]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.server = HTTPServer(host=self.host, port=0, threaded=True)
        self.server.expect_request(PATH, method="POST").respond_with_handler(self._handle)

    @property
    def url(self) -> str:
        """The webhook's address, with its signature (a secret, as in Teams)."""
        return f"{self.server.url_for(PATH)}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={SIGNATURE}"

    def answer_next(self, status: int, retry_after: float | None = None, times: int = 1) -> None:
        """The next `times` posts get this answer (429 with Retry-After, 500, 503...), whatever they hold."""
        with self._lock:
            self._script.extend([(status, None if retry_after is None else str(retry_after))] * times)

    def texts(self) -> list[str]:
        """Every accepted message's text (all TextBlocks and facts), one string per message."""
        out = []
        for message in self.received:
            parts: list[str] = []
            for attachment in message["attachments"]:
                card = attachment["content"]
                for element in _elements(card["body"]):
                    if element.get("type") == "TextBlock":
                        parts.append(element["text"])
                    for fact in element.get("facts", []):
                        parts.append(f"{fact['title']} {fact['value']}")
                for action in card.get("actions", []):
                    parts.append(str(action.get("url", "")))
            out.append("\n".join(parts))
        return out

    def _handle(self, request: Request) -> Response:
        with self._lock:
            self.posts += 1
            scripted = self._script.pop(0) if self._script else None
        if scripted is not None:
            status, retry_after = scripted
            headers = {"Retry-After": retry_after} if retry_after is not None else {}
            error = {"error": {"code": "TooManyRequests" if status == 429 else "ServerError", "message": "scripted"}}
            return Response(json.dumps(error), status=status, headers=headers, content_type="application/json")
        reason, status = self._refusal(request)
        if reason is not None:
            with self._lock:
                self.refused.append(reason)
            return Response(json.dumps({"error": {"code": "BadRequest", "message": reason}}), status=status)
        with self._lock:
            self.received.append(json.loads(request.get_data()))
        return Response("", status=202)

    def _refusal(self, request: Request) -> tuple[str | None, int]:
        if request.args.get("sig") != SIGNATURE:
            return "the workflow's signature is missing or wrong", 401
        if not (request.content_type or "").startswith("application/json"):
            return "Content-Type must be application/json", 400
        data = request.get_data()
        if len(data) > MAX_BYTES:
            return f"the message is {len(data)} bytes, over Teams' {MAX_BYTES}", 413
        try:
            body = json.loads(data)
        except ValueError:
            return "the body is not JSON", 400
        return workflows_refusal(body), 400

    def start(self) -> TeamsWebhookStandIn:
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server.is_running():
            self.server.stop()

    def __enter__(self) -> TeamsWebhookStandIn:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.stop()
