"""The settings every service serves by; each service subclasses them with its own prefix."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

LogLevel = Literal["debug", "info", "warning", "error", "critical"]
Environment = Literal["development", "production"]


class ServingSettings(BaseSettings):
    """How a service listens, logs and stops: `<PREFIX>_HOST`, `<PREFIX>_PORT` and so on.

    A subclass sets `model_config = SettingsConfigDict(env_prefix="BACKEND_")` and may change a
    default by declaring the field again; a field with a `validation_alias` is read from that
    name, without the prefix.
    """

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    host: str = Field("127.0.0.1", description="Address to listen on.")
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on.")
    workers: int = Field(1, ge=1, description="Hypercorn worker processes; one per core.")
    reload: bool = Field(False, description="Restart when a source file changes (development).")
    log_level: LogLevel = "info"
    access_log: bool = Field(True, description="One JSON line per request on stdout.")
    graceful_timeout: float = Field(
        5.0, ge=0, description="Seconds in-flight requests get to finish after SIGTERM."
    )
    metrics: bool = Field(True, description="Collect and serve Prometheus metrics.")
    env: Environment = "development"

    @field_validator("log_level", "env", mode="before")
    @classmethod
    def _lowercase(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @classmethod
    def variable_name(cls, field: str) -> str:
        """The environment variable a field is read from."""
        info = cls.model_fields.get(field)
        if info is not None and isinstance(info.validation_alias, str):
            return info.validation_alias.upper()
        return f"{cls.model_config.get('env_prefix', '')}{field}".upper()

    @classmethod
    def describe(cls, error: ValidationError) -> str:
        """One line naming each offending variable: `BACKEND_WORKERS: Input should be ...`."""
        problems = []
        for item in error.errors(include_url=False):
            message = item["msg"].removeprefix("Value error, ")
            location = item["loc"]
            name = cls.variable_name(str(location[0])) if location else ""
            problems.append(f"{name}: {message}" if name else message)
        return "; ".join(problems)
