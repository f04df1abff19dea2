"""The `healthcheck` command of both services; standard library only (the images' probe)."""

from __future__ import annotations

import http.client
import sys

WILDCARD_HOSTS = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}  # noqa: S104 - names


def healthcheck(host: str, port: int, path: str = "/livez", timeout: float = 2.0) -> int:
    """0 when the server at host:port answers `path` with 200 within `timeout`, 1 otherwise.

    A server bound to a wildcard address is asked on loopback. http.client rather than urllib:
    no proxy from the environment gets in the way, and the URL's scheme is always http.
    """
    target = WILDCARD_HOSTS.get(host, host)
    shown = f"[{target}]" if ":" in target else target
    connection = http.client.HTTPConnection(target, port, timeout=timeout)
    try:
        connection.request("GET", path)
        status = connection.getresponse().status
    except (OSError, http.client.HTTPException) as error:
        print(
            f"unhealthy: http://{shown}:{port}{path}: {error or type(error).__name__}",
            file=sys.stderr,
        )
        return 1
    finally:
        connection.close()
    if status != 200:
        print(f"unhealthy: http://{shown}:{port}{path} answered {status}", file=sys.stderr)
        return 1
    return 0
