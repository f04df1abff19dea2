"""Configuration, read from environment variables only."""

from __future__ import annotations

from functools import cached_property
from typing import Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEV_DB_PASSWORD = "users_dev_password"  # noqa: S105 - the documented development-only default


class DatabaseLocation:
    """Where the database is and who to log in as, from a DSN or the five DB_* variables."""

    def __init__(self, host: str, port: int, name: str, user: str, password: str) -> None:
        self.host = host
        self.port = port
        self.name = name
        self.user = user
        self.password = password

    @property
    def url(self) -> str:
        """The DSN in the form the `databases` package expects."""
        return (
            f"mysql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{self.name}"
        )

    def __str__(self) -> str:
        return f"{self.user}@{self.host}:{self.port}/{self.name}"


class Settings(BaseSettings):
    """Every setting of the backend; field names are the environment variable names."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore")

    # Where the database is; DATABASE_URL (mysql://user:password@host:port/name), when set,
    # replaces the five DB_* values.
    db_host: str = "127.0.0.1"
    db_port: int = Field(3306, ge=1, le=65535)
    db_name: str = "users"
    db_user: str = "users_app"
    db_password: SecretStr = SecretStr(DEV_DB_PASSWORD)
    database_url: SecretStr | None = None
    # Connections per worker process; opened on demand, kept for reuse.
    db_pool_size: int = Field(10, ge=1, le=1000)
    # Seconds to open a TCP connection to the server.
    db_connect_timeout: float = Field(2.0, gt=0)
    # Seconds a request may spend on the database in all (waiting for a pooled connection,
    # connecting, querying); past it the request answers 503 with Retry-After.
    db_query_timeout: float = Field(3.0, gt=0)

    backend_host: str = "127.0.0.1"
    backend_port: int = Field(8080, ge=0, le=65535)
    # Worker processes; one per core in production.
    backend_workers: int = Field(1, ge=1)
    # Restart the workers when a source file changes (development).
    backend_reload: bool = False
    backend_log_level: Literal["debug", "info", "warning", "error", "critical"] = "info"
    # One JSON line per request on stdout.
    backend_access_log: bool = True
    # Comma-separated origins allowed to call the API from a browser; empty turns CORS off.
    backend_cors_origins: str = ""
    # "production" refuses to start with the development database password.
    backend_env: Literal["development", "production"] = "development"
    # Seconds in-flight requests get to finish after SIGTERM.
    backend_graceful_timeout: float = Field(5.0, ge=0)
    # Collect and serve Prometheus metrics at /metrics.
    backend_metrics: bool = True

    @model_validator(mode="before")
    @classmethod
    def _lowercase_choices(cls, data: object) -> object:
        if isinstance(data, dict):
            for key in ("backend_log_level", "backend_env"):
                if isinstance(data.get(key), str):
                    data[key] = data[key].strip().lower()
        return data

    @model_validator(mode="after")
    def _check_database(self) -> Settings:
        location = self.database  # parses DATABASE_URL now, so a bad one fails at start-up
        if self.backend_env == "production" and location.password == DEV_DB_PASSWORD:
            raise ValueError(
                "BACKEND_ENV=production needs a real DB_PASSWORD (or DATABASE_URL), "
                "not the development default"
            )
        return self

    @cached_property
    def database(self) -> DatabaseLocation:
        if self.database_url is not None and self.database_url.get_secret_value():
            return _parse_dsn(self.database_url.get_secret_value())
        return DatabaseLocation(
            host=self.db_host,
            port=self.db_port,
            name=self.db_name,
            user=self.db_user,
            password=self.db_password.get_secret_value(),
        )

    @property
    def cors_origins(self) -> list[str]:
        return [origin.strip() for origin in self.backend_cors_origins.split(",") if origin.strip()]


def _parse_dsn(dsn: str) -> DatabaseLocation:
    parts = urlsplit(dsn)
    if parts.scheme not in {"mysql", "mariadb"} or not parts.hostname:
        raise ValueError("DATABASE_URL must look like mysql://user:password@host:port/name")
    name = parts.path.lstrip("/")
    return DatabaseLocation(
        host=parts.hostname,
        port=parts.port or 3306,
        name=unquote(name) or "users",
        user=unquote(parts.username or "users_app"),
        password=unquote(parts.password or ""),
    )


def load_settings() -> Settings:
    return Settings()
