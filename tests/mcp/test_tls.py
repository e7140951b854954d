"""HTTP over TLS served by ``factorypilot mcp`` itself (uvicorn), with a self-signed certificate made here.

The SDK's client reaches the pilot over https with a bearer token when it trusts the certificate, and fails
when it does not; bearer tokens never go in clear text beyond the loopback interface.
"""

from __future__ import annotations

import contextlib
import ipaddress
import ssl
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from factorypilot.agents import Ledger
from factorypilot.mcp import TokenStore
from factorypilot.pilots.simulator import PlantHandle

from .conftest import EXE, bindings_file, cli, env_for, free_port


def _self_signed(folder: Path, name: str = "127.0.0.1") -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address(name))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@contextlib.asynccontextmanager
async def _client(url: str, token: str, verify: ssl.SSLContext | bool) -> AsyncIterator[Client]:
    async with httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, verify=verify,
                                  timeout=httpx2.Timeout(60.0)) as http, \
            Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def test_plain_http_beyond_loopback_and_bad_certificates_are_refused(tmp_path: Path) -> None:
    home = tmp_path / "home"
    clear = cli(home, "mcp", "--pilot", "mobility", "--transport", "http", "--host", "0.0.0.0")
    assert clear.returncode == 1
    assert "--host 0.0.0.0 without TLS would send bearer tokens in clear text" in clear.stderr
    assert "--tls-cert" in clear.stderr
    cert, _ = _self_signed(tmp_path)
    (tmp_path / "other").mkdir()
    _, other_key = _self_signed(tmp_path / "other")
    mismatched = cli(home, "mcp", "--pilot", "mobility", "--transport", "http", "--tls-cert", str(cert),
                     "--tls-key", str(other_key))
    assert mismatched.returncode == 1
    assert "cannot use the TLS certificate and key" in mismatched.stderr
    half = cli(home, "mcp", "--pilot", "mobility", "--transport", "http", "--tls-cert", str(cert))
    assert half.returncode == 1
    assert "TLS needs both --tls-cert and --tls-key" in half.stderr


@pytest.fixture
def https_server(tmp_path: Path, plant: PlantHandle) -> Iterator[dict[str, Any]]:
    home = tmp_path / "home"
    cert, key = _self_signed(tmp_path)
    home.mkdir()
    with TokenStore(home / "mcp.sqlite") as tokens:
        token, info = tokens.create("acme", "read", client="desk-tls")
    port = free_port()
    proc = subprocess.Popen([EXE, "mcp", "--transport", "http", "--port", str(port), "--tls-cert", str(cert),
                             "--tls-key", str(key), "--pilot", "mobility@acme", "--endpoint", plant.endpoint,
                             "--bindings", str(bindings_file(tmp_path, plant))],
                            env=env_for(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    url = f"https://127.0.0.1:{port}/mcp"
    trust = ssl.create_default_context(cafile=str(cert))
    out: dict[str, Any] = {"url": url, "port": port, "home": home, "trust": trust, "token": token, "info": info}
    try:
        deadline = time.monotonic() + 90
        while True:  # up when it answers 401 (no token) over TLS
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the https server never answered"
            try:
                with httpx2.Client(verify=trust) as probe:
                    if probe.post(url, json={}).status_code == 401:
                        break
            except httpx2.TransportError:
                time.sleep(0.2)
        yield out
    finally:
        proc.terminate()
        try:
            out["stderr"] = proc.communicate(timeout=30)[1]
        except subprocess.TimeoutExpired:
            proc.kill()
            out["stderr"] = proc.communicate()[1]


async def test_https_with_a_self_signed_certificate(https_server: dict[str, Any], plant: PlantHandle) -> None:
    url, token, trust, port = https_server["url"], https_server["token"], https_server["trust"], https_server["port"]
    async with _client(url, token, trust) as client:
        tags = await client.call_tool("list_tags", {})
        assert not tags.is_error, tags.content
        assert tags.structured_content is not None
        assert (tags.structured_content["pilot"], tags.structured_content["company"]) == ("mobility-cnc", "acme")
        values = await client.call_tool("read_values", {"tags": ["feed_override"]})
        assert values.structured_content is not None
        assert values.structured_content["values"][0]["value"] == plant.value("feed_override")
    with pytest.raises(Exception):  # noqa: B017,PT011 - a client that does not trust the certificate
        async with _client(url, token, True) as client:
            await client.list_tools()
    async with httpx2.AsyncClient() as plain:  # clear text is not served on the TLS port
        with pytest.raises(httpx2.TransportError):
            await plain.post(f"http://127.0.0.1:{port}/mcp", json={})
    with Ledger(https_server["home"] / "ledger.sqlite") as ledger:
        calls = [r.payload for r in ledger.records(kind="mcp-call")]
    token_id = https_server["info"].token_id
    assert [(c["tool"], c["client"], c["token_id"], c["transport"]) for c in calls] == [
        ("list_tags", "desk-tls", token_id, "http"), ("read_values", "desk-tls", token_id, "http")]
