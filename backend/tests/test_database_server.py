"""The development database server of scripts/mysql-run, as the suite starts it."""

from __future__ import annotations

MIB = 1024 * 1024


def test_its_caches_are_sized_for_a_development_database(mysql_server) -> None:
    connection = mysql_server.connect()
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT @@innodb_buffer_pool_size, @@key_buffer_size, @@version")
            buffer_pool, key_buffer, version = cursor.fetchone()
            assert (buffer_pool, key_buffer) == (32 * MIB, 1 * MIB)
            if "mariadb" in version.lower():
                cursor.execute("SELECT @@aria_pagecache_buffer_size")
                assert cursor.fetchone()[0] == 8 * MIB
    finally:
        connection.close()
