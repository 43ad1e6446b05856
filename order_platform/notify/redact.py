"""Text fit for a message: one line, no traceback, no secret."""

from __future__ import annotations

import os
import re

from sqlalchemy.engine import make_url

# Environment variables whose values are secrets (or hold one) wherever they appear in an error text.
SECRET_VARIABLES = (
    "TEAMS_WEBHOOK_URL",
    "MONDAY_API_TOKEN",
    "AZURE_CLIENT_SECRET",
    "AZURE_STORAGE_CONNECTION_STRING",
    "ORDER_PLATFORM_TOKEN_CACHE_KEY",
    "DAGSTER_PG_PASSWORD",
)
_URL_PASSWORD = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://[^:/@\s]+:)[^@\s]+@")
_SIGNED_QUERY = re.compile(r"(?i)\b(sig|signature|token|code|key|password|pwd|secret)=[^&\s'\"]+")
_ACCOUNT_KEY = re.compile(r"(?i)(AccountKey|SharedAccessSignature)=[^;\s'\"]+")
LIMIT = 300


def _secret_values() -> list[str]:
    values = [os.environ.get(name) or "" for name in SECRET_VARIABLES]
    url = os.environ.get("ORDER_PLATFORM_DATABASE_URL")
    if url:
        try:
            password = make_url(url).password
        except Exception:  # not a URL SQLAlchemy reads: the whole value is hidden instead
            password = url
        if password:
            values.append(str(password))
    return [v for v in values if len(v) >= 4]


def redact(text: str) -> str:
    """`text` with every known secret, URL password, signature and account key replaced by `***`."""
    for secret in sorted(_secret_values(), key=len, reverse=True):
        text = text.replace(secret, "***")
    text = _URL_PASSWORD.sub(r"\g<scheme>***@", text)
    text = _SIGNED_QUERY.sub(lambda m: f"{m.group(1)}=***", text)
    return _ACCOUNT_KEY.sub(lambda m: f"{m.group(1)}=***", text)


def one_line(text: str | None, limit: int = LIMIT) -> str:
    """The first line of an error that matters (never a traceback), redacted, at most `limit` characters."""
    if not text:
        return ""
    head = text.split("Traceback (most recent call last)")[0]
    lines = [line.strip() for line in head.splitlines() if line.strip()]
    flat = redact(" ".join(lines) if lines else "")
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"
