"""Settings from the environment (prefix TRIAGE_) and an optional .env file, via pydantic-settings."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TRIAGE_", env_file=".env", extra="ignore")

    models_dir: Path = Path("models")
    model_version: str | None = None
    data_dir: Path = Path("var")
    database_url: str | None = Field(None, description="default: sqlite:///<data_dir>/triage.db")
    policy_file: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 1
    allow_public_without_keys: bool = False
    auth_required: bool | None = Field(None, description="default: required as soon as any API key exists")
    max_body_bytes: int = 2_000_000
    max_text_chars: int = 20_000
    max_batch: int = 1000
    classify_threads: int = Field(1, ge=1, le=64)  # worker threads classifying at once per process (raise for a slow database)
    classify_batch: int = Field(4, ge=1, le=256)  # queued classify calls one thread hop may take (see service.api.batcher)
    classify_max_wait_ms: int = Field(5000, ge=0)  # refuse (503 + Retry-After) when queued work exceeds this; 0 = never
    cpu_affinity: Literal["auto", "on", "off"] = "auto"  # pin each worker to a CPU of its own (see service.api.affinity)
    rate_limit_per_minute: int = Field(6000, ge=0)  # per key and worker process; 0 = no limit
    duplicate_window_days: int = 14
    duplicate_threshold: float | None = Field(None, ge=0, le=1, description="default: the model's pair-scorer threshold (0.5 for models without one)")
    incident_window_minutes: int = 120
    incident_min_customers: int = 3
    retention_days: int = 90
    log_text: bool = False
    log_level: str = "INFO"
    reload_poll_seconds: float = 2.0
    warm_on_start: bool = True
    shutdown_grace_seconds: int = 30

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.data_dir / 'triage.db').as_posix()}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
