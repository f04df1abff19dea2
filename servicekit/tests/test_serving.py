"""The one Hypercorn configuration every service runs with."""

import logging

import pytest
from servicekit.serving import bind_address, hypercorn_config
from servicekit.settings import ServingSettings


@pytest.mark.parametrize(
    ("host", "bound"),
    [("127.0.0.1", "127.0.0.1:8080"), ("::1", "[::1]:8080"), ("0.0.0.0", "0.0.0.0:8080")],  # noqa: S104
)
def test_bind_address(host, bound):
    assert bind_address(host, 8080) == bound


def test_one_worker_without_reload_serves_in_the_process_itself():
    config = hypercorn_config(ServingSettings(workers=1), "svc.app:create_app()")
    assert config.workers == 0
    assert config.application_path == "svc.app:create_app()"


@pytest.mark.parametrize(("workers", "reload", "expected"), [(1, True, 1), (3, False, 3)])
def test_several_workers_or_reload_run_child_processes(workers, reload, expected):
    config = hypercorn_config(ServingSettings(workers=workers, reload=reload), "svc:app")
    assert (config.workers, config.use_reloader) == (expected, reload)


def test_extra_ports_are_bound_on_the_same_host():
    settings = ServingSettings(host="::1", port=8000)
    config = hypercorn_config(settings, "svc:app", extra_ports=[8001])
    assert config.bind == ["[::1]:8000", "[::1]:8001"]


def test_logs_go_through_the_apps_own_lines():
    config = hypercorn_config(ServingSettings(log_level="warning", graceful_timeout=2.5), "svc:app")
    assert config.accesslog is None
    assert config.errorlog is logging.getLogger("hypercorn.error")
    assert (config.loglevel, config.graceful_timeout) == ("WARNING", 2.5)
    assert config.include_server_header is False
    assert config.worker_class == "uvloop"
