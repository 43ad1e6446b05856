"""The monday.com resource: board mapping, connection settings and a client, or None for a dry run.

Every field is an optional override; what is left unset comes from the MONDAY_* environment variables
when the run starts (pydantic `MondaySettings`), so an unset token never breaks loading the code
location: it only means a dry run. Set the token as `dg.EnvVar("MONDAY_API_TOKEN")` or leave it to
the environment; never as a literal, which Dagster would show with the resource's config.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import sqlalchemy as sa
from pydantic import Field

from order_platform.monday import BoardConfig, MondayClient, MondaySettings, load_board_config
from order_platform.monday.api.pacing import monday_throttle


class MondayResource(dg.ConfigurableResource):
    """monday.com for the delivery assets. No token (or `dry_run`) = plan only, nothing sent."""

    api_token: str | None = Field(
        default=None, description="API token; default: MONDAY_API_TOKEN read at run time. A secret."
    )
    api_url: str | None = Field(default=None, description="GraphQL endpoint; default: MONDAY_API_URL.")
    board_id: str | None = Field(
        default=None, description="Board id; default: MONDAY_BOARD_ID, else board.id in the mapping."
    )
    api_version: str | None = Field(
        default=None, description="API-Version header; default: MONDAY_API_VERSION, else the mapping's."
    )
    board_config_path: str | None = Field(
        default=None, description="Board mapping JSON; default: the packaged config/monday_board.json."
    )
    dry_run: bool = Field(default=False, description="Plan and record only, even when a token is set.")

    def settings(self) -> MondaySettings:
        """MONDAY_* from the environment, with this resource's fields taking precedence."""
        overrides = {
            "api_token": self.api_token,
            "api_url": self.api_url,
            "board_id": self.board_id,
            "api_version": self.api_version,
        }
        return MondaySettings.model_validate({k: v for k, v in overrides.items() if v is not None})

    def board_config(self) -> BoardConfig:
        return load_board_config(self.board_config_path)

    def is_live(self) -> bool:
        return not self.dry_run and self.settings().has_token

    @contextmanager
    def client(
        self, settings: MondaySettings, config: BoardConfig, engine: sa.Engine
    ) -> Iterator[MondayClient | None]:
        """A connected client for the run, or None for a dry run; its throttle kept in `engine`'s database
        (the platform's), shared with every process and pod."""
        client = (
            None
            if self.dry_run or not settings.has_token
            else MondayClient.from_settings(settings, config, throttle=monday_throttle(settings.api_url, engine))
        )
        if client is None:
            yield None
            return
        with client:
            yield client

