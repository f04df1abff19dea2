"""The session's throwaway MySQL/MariaDB server and the `integration` mark.

Every test that needs the server, directly or through another fixture, is marked
`integration`: package builds without a database (the Nix packages) leave those out.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testkit.mysql import MySQLServer
from testkit.project import scripts_dir
from testkit.services import run_backend_migrate


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "integration: needs a MySQL/MariaDB server (and so live servers or a browser)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "mysql_server" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def mysql_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MySQLServer]:
    """A running server with the application database and user, for the session.

    Tests that stop or pause it must start or resume it again before they end.
    """
    server = MySQLServer(scripts_dir(), tmp_path_factory.mktemp("mysql"))
    try:
        server.start()
        server.setup()
        yield server
    finally:
        server.cleanup()


@pytest.fixture(scope="session")
def db_env(mysql_server: MySQLServer) -> dict[str, str]:
    """DB_* variables for the session's server, with the migrations applied."""
    env = mysql_server.db_env()
    run_backend_migrate(env)
    return env


@pytest.fixture
def empty_users_table(mysql_server: MySQLServer, db_env: dict[str, str]) -> dict[str, str]:
    """Delete every user first, for tests that count them."""
    connection = mysql_server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM users")
    finally:
        connection.close()
    return db_env
