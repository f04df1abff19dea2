"""An https backend is verified: the client's pools share one TLS context that checks the
certificate, and a certificate nobody vouches for is refused before any request is sent."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path

import pytest
from frontend.lib.backend_client import BackendClient, BackendUnavailable


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.skip("needs the openssl command")
    certificate, key = directory / "cert.pem", directory / "key.pem"
    request = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
    subject = ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    output = ["-keyout", str(key), "-out", str(certificate)]
    subprocess.run([*request, *subject, *output], check=True, capture_output=True)
    return certificate, key


async def test_a_self_signed_https_backend_is_refused(tmp_path: Path) -> None:
    certificate, key = self_signed_certificate(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate, key)
    requests_read: list[bytes] = []

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        requests_read.append(await reader.read(1024))
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0, ssl=server_tls)
    port = server.sockets[0].getsockname()[1]
    client = BackendClient(f"https://127.0.0.1:{port}", total_timeout=5)
    await client.open()
    try:
        with pytest.raises(BackendUnavailable, match="ConnectError"):
            await client.get_user(1)
    finally:
        await client.aclose()
        server.close()
    assert not any(requests_read), "a request went to a server whose certificate was not checked"
