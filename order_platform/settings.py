"""Platform settings, read from the environment and validated once.

Every variable is documented in the README. Defaults are the embedded ones: a folder of
workbooks, a local blob folder and a SQLite file, all under ORDER_PLATFORM_HOME.
"""

from __future__ import annotations

import os
from pathlib import Path

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class PlatformSettings(BaseSettings):
    """Where the platform keeps its state and finds its inputs."""

    model_config = SettingsConfigDict(env_prefix="ORDER_PLATFORM_", extra="ignore")

    home: Path = Field(default=Path(".order_platform"), description="Embedded state folder.")
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default sqlite:///<home>/order_platform.db."
    )
    source_dir: Path | None = Field(
        default=None, description="Folder standing in for SharePoint; default <home>/source."
    )
    blob_dir: Path | None = Field(default=None, description="Local blob store; default <home>/blob.")
    workers: int | None = Field(
        default=None,
        ge=1,
        le=16,
        description="Processes loading customers side by side; default min(2, CPUs).",
    )
    backfill_partitions_per_run: int | None = Field(
        default=None,
        ge=1,
        description="Customers per run in an ORDER_LIST backfill; default all in one run. Set it on "
        "Kubernetes so batches of customers load in parallel pods.",
    )
    worker_memory_mb: int = Field(
        default=4096,
        ge=0,
        description="Memory limit of each worker process (one customer), in MB; 0: none. Over it, the customer "
        "fails alone with 'over the N MB memory limit'.",
    )
    customer_timeout_seconds: float = Field(
        default=900.0,
        ge=0,
        description="Time limit of one customer's load, in seconds; 0: none. Over it, its worker is killed and "
        "the customer fails alone.",
    )
    max_sheet_cells: int = Field(
        default=20_000_000,
        ge=1,
        description="A sheet whose declared used range (rows x columns) is larger is refused before it is read.",
    )
    max_uncompressed_mb: int = Field(
        default=1024, ge=1, description="A workbook that decompresses to more MB is refused before it is read."
    )
    max_compression_ratio: int = Field(
        default=100,
        ge=2,
        description="A workbook part (over 10 MB) that decompresses more times than this is a zip bomb, refused.",
    )
    read_ahead: bool = Field(
        default=True,
        description="The CLI's refresh has the fork server read the largest workbooks into cell text while "
        "Dagster starts the run (workers/read_ahead.py); false: the workers read every workbook.",
    )
    timezone: str = Field(
        default="UTC", description="Time zone of the reconcile, full-refresh and daily change report schedules."
    )
    changes_retention_days: int = Field(
        default=400, ge=1, description="Days ORDER_LIST_CHANGES keeps a change (pruned by the daily change report)."
    )

    @model_validator(mode="after")
    def _fill_defaults(self) -> PlatformSettings:
        self.home = self.home.expanduser().absolute()
        if self.database_url is None:
            self.database_url = f"sqlite:///{self.home / 'order_platform.db'}"
        if self.source_dir is None:
            self.source_dir = self.home / "source"
        if self.blob_dir is None:
            self.blob_dir = self.home / "blob"
        self.source_dir = self.source_dir.expanduser().absolute()
        self.blob_dir = self.blob_dir.expanduser().absolute()
        return self

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def worker_count(self) -> int:
        """ORDER_PLATFORM_WORKERS, else min(2, CPUs)."""
        return self.workers or max(1, min(2, os.cpu_count() or 1))
