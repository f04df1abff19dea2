"""Configuration from FRONTEND_* variables."""

from __future__ import annotations

import pytest
from frontend.app import create_app
from frontend.server import hypercorn_config
from frontend.settings import Settings
from pydantic import ValidationError


def test_defaults_match_the_documentation(monkeypatch):
    for name in (
        "HOST",
        "PORT",
        "METRICS_PORT",
        "BACKEND_URL",
        "SECRET_KEY",
        "ENV",
        "WORKERS",
        "RELOAD",
        "LOG_LEVEL",
        "BACKEND_TIMEOUT",
    ):
        monkeypatch.delenv(f"FRONTEND_{name}", raising=False)

    settings = Settings()

    assert (settings.host, settings.port, settings.metrics_port) == ("127.0.0.1", 8000, 8001)
    assert settings.backend_url == "http://127.0.0.1:8080"
    assert (settings.env, settings.workers, settings.reload) == ("development", 1, False)
    assert (settings.log_level, settings.backend_timeout) == ("info", 5.0)
    assert len(settings.secret_key.get_secret_value()) >= 32


def test_development_gets_a_new_random_secret_per_start(monkeypatch):
    monkeypatch.delenv("FRONTEND_SECRET_KEY", raising=False)

    assert Settings().secret_key != Settings().secret_key


def test_values_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("FRONTEND_PORT", "9000")
    monkeypatch.setenv("FRONTEND_BACKEND_URL", "http://api.internal:8080")
    monkeypatch.setenv("FRONTEND_SECRET_KEY", "s3cret")
    monkeypatch.setenv("FRONTEND_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("FRONTEND_RELOAD", "true")

    settings = Settings()

    assert settings.port == 9000
    assert settings.backend_url == "http://api.internal:8080"
    assert settings.secret_key.get_secret_value() == "s3cret"
    assert settings.log_level == "warning"
    assert settings.reload is True


def test_production_requires_a_secret_key(monkeypatch):
    monkeypatch.delenv("FRONTEND_SECRET_KEY", raising=False)
    monkeypatch.setenv("FRONTEND_ENV", "production")

    with pytest.raises(ValidationError, match="FRONTEND_SECRET_KEY is required"):
        Settings()


def test_the_metrics_port_must_differ_from_the_pages_port():
    with pytest.raises(ValidationError, match="must differ"):
        Settings(port=8000, metrics_port=8000)


def test_reload_turns_on_template_auto_reload():
    assert create_app(Settings(reload=True)).config["TEMPLATES_AUTO_RELOAD"] is True
    assert create_app(Settings(reload=False)).config["TEMPLATES_AUTO_RELOAD"] is False


def test_hypercorn_binds_both_ports_with_uvloop():
    config = hypercorn_config(Settings(host="127.0.0.1", port=8000, metrics_port=8001))

    assert config.bind == ["127.0.0.1:8000", "127.0.0.1:8001"]
    assert config.worker_class == "uvloop"
    assert config.application_path == "frontend.server:build_asgi_app()"
    # One worker runs in the serving process itself: no child process to leak.
    assert config.workers == 0


def test_several_workers_or_reload_use_a_supervisor():
    assert hypercorn_config(Settings(workers=3)).workers == 3
    reloading = hypercorn_config(Settings(reload=True))
    assert (reloading.workers, reloading.use_reloader) == (1, True)


def test_ipv6_hosts_are_bracketed():
    config = hypercorn_config(Settings(host="::1", port=8000, metrics_port=8001))

    assert config.bind == ["[::1]:8000", "[::1]:8001"]
