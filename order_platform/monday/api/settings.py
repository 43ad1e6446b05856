"""monday.com connection settings from the environment (MONDAY_*). The token is a secret: never logged."""

from __future__ import annotations

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class MondaySettings(BaseSettings):
    """Where and as whom to talk to monday.com. No token means dry run (plan only, nothing sent)."""

    model_config = SettingsConfigDict(env_prefix="MONDAY_", extra="ignore")

    api_token: SecretStr | None = Field(default=None, description="Personal/app API token (secret).")
    api_url: str = Field(default="https://api.monday.com/v2", description="GraphQL endpoint.")
    board_id: str | None = Field(default=None, description="Board id; default: board.id in monday_board.json.")
    api_version: str | None = Field(default=None, description="API-Version header; default: sync.api_version.")

    @property
    def has_token(self) -> bool:
        return self.api_token is not None and bool(self.api_token.get_secret_value().strip())
