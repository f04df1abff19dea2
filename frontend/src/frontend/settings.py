"""Typed configuration, read from FRONTEND_* environment variables."""

from __future__ import annotations

import secrets

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServingSettings


class Settings(ServingSettings):
    """Every setting of the web UI: servicekit's serving settings and the ones below."""

    model_config = SettingsConfigDict(env_prefix="FRONTEND_")

    host: str = Field("127.0.0.1", description="Address the pages and metrics listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port of the web pages.")
    graceful_timeout: float = Field(
        10.0, ge=0, description="Seconds in-flight requests get to finish after SIGTERM."
    )
    metrics: bool = Field(True, description="Collect metrics and serve them on metrics_port.")
    metrics_port: int = Field(8001, ge=0, le=65535, description="Port of /metrics only.")
    backend_url: str = Field("http://127.0.0.1:8080", description="Base URL of the users API.")
    backend_timeout: float = Field(
        5.0, gt=0, le=30, description="Time budget in seconds for one backend call, retry included."
    )
    backend_cache_size: int = Field(
        0,
        ge=0,
        le=100_000,
        description="Backend GET answers kept per worker to revalidate with If-None-Match; 0: off.",
    )
    secret_key: SecretStr | None = Field(
        None, description="Signs the session cookie; random per start in development."
    )

    @model_validator(mode="after")
    def _require_secret_in_production(self) -> Settings:
        if self.secret_key is None or not self.secret_key.get_secret_value():
            if self.env == "production":
                raise ValueError("FRONTEND_SECRET_KEY is required when FRONTEND_ENV=production")
            # A fresh key per start: sessions (and their CSRF tokens) do not survive a restart,
            # which is fine in development.
            self.secret_key = SecretStr(secrets.token_urlsafe(32))
        if self.metrics and self.metrics_port == self.port and self.port != 0:
            raise ValueError("FRONTEND_METRICS_PORT must differ from FRONTEND_PORT")
        return self
