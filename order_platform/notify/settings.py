"""Notification settings, from the environment when a message is sent (never stored by Dagster)."""

from __future__ import annotations

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class NotifySettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore", populate_by_name=True)

    teams_webhook_url: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("TEAMS_WEBHOOK_URL"),
        description="Secret: the Teams Workflows webhook URL (its `sig` signs it). None: messages go to the run log.",
    )
    ui_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ORDER_PLATFORM_UI_URL"),
        description="The Dagster UI's address (e.g. https://dagster.example.com); messages then link to the run.",
    )
    max_attempts: int = Field(default=5, ge=1, le=20, validation_alias=AliasChoices("TEAMS_MAX_ATTEMPTS"))
    backoff_base_seconds: float = Field(default=1.0, ge=0, validation_alias=AliasChoices("TEAMS_BACKOFF_BASE_SECONDS"))
    max_retry_after_seconds: float = Field(
        default=120.0, ge=0, validation_alias=AliasChoices("TEAMS_MAX_RETRY_AFTER_SECONDS")
    )
    timeout_seconds: float = Field(default=30.0, gt=0, validation_alias=AliasChoices("TEAMS_TIMEOUT_SECONDS"))

    def run_url(self, run_id: str) -> str | None:
        if not self.ui_url:
            return None
        return f"{self.ui_url.rstrip('/')}/runs/{run_id}"
