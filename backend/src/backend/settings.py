"""Configuration, read from environment variables only."""

from __future__ import annotations

from functools import cached_property
from typing import Annotated
from urllib.parse import quote, unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict
from servicekit.settings import ServingSettings

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


class Settings(ServingSettings):
    """Every setting of the backend: BACKEND_<FIELD> (servicekit's serving settings and the
    ones below), except the database's, read as DB_<FIELD> and DATABASE_URL. BACKEND_ENV set to
    production refuses to start with the development database password."""

    model_config = SettingsConfigDict(env_prefix="BACKEND_")

    port: int = Field(8080, ge=0, le=65535)
    # Comma-separated origins allowed to call the API from a browser; empty turns CORS off.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    # Where the database is; DATABASE_URL (mysql://user:password@host:port/name), when set,
    # replaces the five DB_* values. (A validation_alias is read without the BACKEND_ prefix.)
    db_host: str = Field("127.0.0.1", validation_alias="db_host")
    db_port: int = Field(3306, ge=1, le=65535, validation_alias="db_port")
    db_name: str = Field("users", validation_alias="db_name")
    db_user: str = Field("users_app", validation_alias="db_user")
    db_password: SecretStr = Field(SecretStr(DEV_DB_PASSWORD), validation_alias="db_password")
    database_url: SecretStr | None = Field(None, validation_alias="database_url")
    # Connections per worker process; opened on demand, kept for reuse.
    db_pool_size: int = Field(10, ge=1, le=1000, validation_alias="db_pool_size")
    # Seconds to open a TCP connection to the server.
    db_connect_timeout: float = Field(2.0, gt=0, validation_alias="db_connect_timeout")
    # Seconds a request may spend on the database in all (waiting for a pooled connection,
    # connecting, querying); past it the request answers 503 with Retry-After.
    db_query_timeout: float = Field(3.0, gt=0, validation_alias="db_query_timeout")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @model_validator(mode="after")
    def _check_database(self) -> Settings:
        location = self.database  # parses DATABASE_URL now, so a bad one fails at start-up
        if self.env == "production" and location.password == DEV_DB_PASSWORD:
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
