"""ServingSettings: one naming scheme, `<PREFIX>_<FIELD>`, and errors that name the variable."""

import pytest
from pydantic import Field, ValidationError
from pydantic_settings import SettingsConfigDict
from servicekit.settings import ServingSettings


class ShopSettings(ServingSettings):
    model_config = SettingsConfigDict(env_prefix="SHOP_")

    port: int = Field(9000, ge=0, le=65535)
    db_host: str = Field("127.0.0.1", validation_alias="DB_HOST")


def test_defaults_and_a_redeclared_default():
    settings = ShopSettings(_env_file=None)
    assert (settings.host, settings.port, settings.workers, settings.env) == (
        "127.0.0.1",
        9000,
        1,
        "development",
    )


def test_fields_are_read_with_the_prefix_aliases_without(monkeypatch):
    monkeypatch.setenv("SHOP_PORT", "9100")
    monkeypatch.setenv("SHOP_LOG_LEVEL", " WARNING ")
    monkeypatch.setenv("SHOP_ENV", "Production")
    monkeypatch.setenv("DB_HOST", "db.internal")
    settings = ShopSettings()
    assert (settings.port, settings.log_level, settings.env, settings.db_host) == (
        9100,
        "warning",
        "production",
        "db.internal",
    )


def test_variable_name():
    assert ShopSettings.variable_name("graceful_timeout") == "SHOP_GRACEFUL_TIMEOUT"
    assert ShopSettings.variable_name("db_host") == "DB_HOST"


def test_describe_names_each_offending_variable(monkeypatch):
    monkeypatch.setenv("SHOP_WORKERS", "0")
    monkeypatch.setenv("SHOP_LOG_LEVEL", "loud")
    with pytest.raises(ValidationError) as raised:
        ShopSettings()
    described = ShopSettings.describe(raised.value)
    assert described.startswith("SHOP_WORKERS: Input should be greater than or equal to 1; ")
    assert "SHOP_LOG_LEVEL: Input should be 'debug', 'info'" in described
