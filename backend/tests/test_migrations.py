"""`backend migrate`: versioned, recorded, idempotent, safe to run concurrently."""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiomysql
import pytest
from backend.migrations import apply_migrations, available_migrations
from testkit.environment import bare_environ
from testkit.mysql import MySQLServer
from testkit.network import free_port


def run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "backend.cli", *args],
        env=bare_environ(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_migrations_are_ordered_files() -> None:
    versions = [migration.version for migration in available_migrations()]

    assert versions[0] == "0001_create_users"
    assert versions == sorted(versions)


def test_running_migrate_again_changes_nothing(
    db_env: dict[str, str], mysql_server: MySQLServer
) -> None:
    result = run_cli(db_env, "migrate")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "database schema is up to date"
    with mysql_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in cursor.fetchall()] == [
            migration.version for migration in available_migrations()
        ]


def test_users_table_shape(db_env: dict[str, str], mysql_server: MySQLServer) -> None:
    with mysql_server.connect() as connection, connection.cursor() as cursor:
        cursor.execute(
            "SELECT column_name, column_type, collation_name, is_nullable"
            " FROM information_schema.columns"
            " WHERE table_schema = DATABASE() AND table_name = 'users'"
        )
        columns = {row[0].lower(): row[1:] for row in cursor.fetchall()}
        cursor.execute(
            "SELECT index_name, column_name, non_unique, sub_part"
            " FROM information_schema.statistics"
            " WHERE table_schema = DATABASE() AND table_name = 'users'"
        )
        indexes = {(row[0], row[1].lower()): (row[2], row[3]) for row in cursor.fetchall()}

    assert columns["id"][0] == "bigint(20) unsigned" or columns["id"][0] == "bigint unsigned"
    assert columns["username"] == ("varchar(32)", "utf8mb4_unicode_ci", "NO")
    assert columns["full_name"][:2] == ("varchar(100)", "utf8mb4_unicode_ci")
    assert columns["email"][:2] == ("varchar(254)", "utf8mb4_unicode_ci")
    assert columns["created_at"][0] == "datetime(6)"
    assert columns["updated_at"][0] == "datetime(6)"
    # Unique over the whole value (no prefix length).
    assert indexes[("users_username_unique", "username")] == (0, None)


def test_concurrent_runs_apply_each_migration_once(mysql_server: MySQLServer) -> None:
    database = "users_concurrent_migrate"
    mysql_server.setup(database=database)

    async def run_once() -> list[str]:
        connection = await aiomysql.connect(
            host="127.0.0.1",
            port=mysql_server.port,
            user=mysql_server.user,
            password=mysql_server.password,
            db=database,
            autocommit=True,
        )
        try:
            return await apply_migrations(connection, database)
        finally:
            connection.close()

    async def run_together() -> list[list[str]]:
        return await asyncio.gather(*(run_once() for _ in range(4)))

    results = asyncio.run(run_together())

    everything = [migration.version for migration in available_migrations()]
    assert sorted(results, key=len) == [[], [], [], everything]
    with mysql_server.connect(database) as connection, connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM schema_migrations")
        assert cursor.fetchone()[0] == len(everything)


def test_migrate_against_an_unreachable_database_fails_in_one_line(
    db_env: dict[str, str],
) -> None:
    result = run_cli({**db_env, "DB_PORT": str(free_port())}, "migrate")

    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("backend migrate: cannot connect to the database users_app@")
    assert "Can't connect" in lines[0]
    assert "Traceback" not in result.stderr


def test_migrate_with_a_wrong_password_fails_in_one_line(db_env: dict[str, str]) -> None:
    result = run_cli({**db_env, "DB_PASSWORD": "wrong"}, "migrate")

    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Access denied" in result.stderr


def test_invalid_configuration_fails_in_one_line(db_env: dict[str, str]) -> None:
    result = run_cli({**db_env, "DB_PORT": "not-a-port"}, "migrate")

    assert result.returncode == 2
    assert result.stderr.startswith("backend migrate: invalid configuration: DB_PORT:")
    assert len(result.stderr.strip().splitlines()) == 1


def test_migrate_can_wait_for_the_database_to_come_up(
    db_env: dict[str, str], mysql_server: MySQLServer
) -> None:
    mysql_server.stop()
    try:
        waiting = subprocess.Popen(
            [sys.executable, "-m", "backend.cli", "migrate", "--wait", "60"],
            env=bare_environ(**db_env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # It keeps trying rather than failing at once.
        with pytest.raises(subprocess.TimeoutExpired):
            waiting.wait(timeout=1)
    finally:
        mysql_server.start()

    stdout, stderr = waiting.communicate(timeout=60)
    assert waiting.returncode == 0, stderr
    assert stdout.strip() == "database schema is up to date"
