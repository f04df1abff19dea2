"""Configuration from environment variables."""

from __future__ import annotations

import pytest
from backend.settings import Settings
from pydantic import ValidationError


def test_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings()

    assert settings.database.url == ("mysql://users_app:users_dev_password@127.0.0.1:3306/users")
    assert (settings.host, settings.port) == ("127.0.0.1", 8080)
    assert settings.workers == 1
    assert settings.reload is False
    assert settings.db_pool_size == 10
    assert settings.db_connect_timeout == 2
    assert settings.db_query_timeout == 3
    assert settings.cors_origins == []


def test_environment_variables_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "db.internal")
    monkeypatch.setenv("DB_PORT", "3307")
    monkeypatch.setenv("BACKEND_WORKERS", "4")
    monkeypatch.setenv("BACKEND_RELOAD", "true")
    monkeypatch.setenv("BACKEND_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("BACKEND_CORS_ORIGINS", "https://a.example, https://b.example")

    settings = Settings()

    assert str(settings.database) == "users_app@db.internal:3307/users"
    assert settings.workers == 4
    assert settings.reload is True
    assert settings.log_level == "warning"
    assert settings.cors_origins == ["https://a.example", "https://b.example"]


def test_database_url_overrides_the_separate_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_HOST", "ignored")
    monkeypatch.setenv("DATABASE_URL", "mysql://app:p%40ss%3Aword@10.0.0.5:3310/people")

    location = Settings().database

    assert (location.host, location.port, location.name) == ("10.0.0.5", 3310, "people")
    assert (location.user, location.password) == ("app", "p@ss:word")
    assert location.url == "mysql://app:p%40ss%3Aword@10.0.0.5:3310/people"


def test_a_malformed_database_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgres://x@y/z")

    with pytest.raises(ValidationError, match="DATABASE_URL must look like"):
        Settings()


def test_production_refuses_the_development_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BACKEND_ENV", "production")

    with pytest.raises(ValidationError, match="needs a real DB_PASSWORD"):
        Settings()

    monkeypatch.setenv("DB_PASSWORD", "a-real-secret")
    assert Settings().env == "production"


def test_out_of_range_values_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DB_POOL_SIZE", "0")

    with pytest.raises(ValidationError, match="db_pool_size"):
        Settings()
