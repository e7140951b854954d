"""Basic256Sha256 SignAndEncrypt with the generated certificates; username/password; untrusted clients."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from asyncua import Client, ua
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256

from factorypilot.pilots.simulator import CertificatePaths, PlantSimulator, generate_certificates

PASSWORD = "비밀번호123"


@pytest.fixture
async def secure_sim(tmp_path: Path) -> AsyncIterator[PlantSimulator]:
    async with PlantSimulator(seed=1, realtime=False, secure=True, cert_dir=tmp_path / "pki",
                              users={"operator": PASSWORD}, allow_anonymous=False) as sim:
        await sim.step(3)
        yield sim


async def _client(sim: PlantSimulator, certs: CertificatePaths, *, user: str, password: str,
                  mode: ua.MessageSecurityMode = ua.MessageSecurityMode.SignAndEncrypt) -> Client:
    client = Client(sim.endpoint, timeout=5)
    client.application_uri = certs.client_uri
    client.set_user(user)
    client.set_password(password)
    await client.set_security(SecurityPolicyBasic256Sha256, str(certs.client_cert), str(certs.client_key),
                              server_certificate=str(certs.server_cert), mode=mode)
    return client


def test_generate_certificates_writes_both_pairs_with_uris(tmp_path: Path) -> None:
    from cryptography import x509

    paths = generate_certificates(tmp_path / "pki")
    assert paths.exist()
    server = x509.load_der_x509_certificate(paths.server_cert.read_bytes())
    san = server.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert paths.server_uri in san.get_values_for_type(x509.UniformResourceIdentifier)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert (paths.trusted_dir / paths.client_cert.name).read_bytes() == paths.client_cert.read_bytes()
    again = generate_certificates(tmp_path / "pki")  # kept, not regenerated
    assert again.server_cert.read_bytes() == paths.server_cert.read_bytes()


async def test_sign_and_encrypt_with_generated_client_cert_and_password(secure_sim: PlantSimulator) -> None:
    certs = secure_sim.certificates
    assert certs is not None
    endpoints = await Client(secure_sim.endpoint).connect_and_get_server_endpoints()
    modes = {(e.SecurityPolicyUri.rsplit("#", 1)[-1], e.SecurityMode) for e in endpoints}
    assert ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt) in modes
    assert ("Basic256Sha256", ua.MessageSecurityMode.Sign) in modes
    assert all(mode != ua.MessageSecurityMode.None_ for _, mode in modes)
    client = await _client(secure_sim, certs, user="operator", password=PASSWORD)
    async with client:
        node = client.get_node(secure_sim.node_id("feed_override"))
        await node.write_value(ua.DataValue(ua.Variant(70.0, ua.VariantType.Double)))
        assert await node.read_value() == 70.0
    assert secure_sim.write_log == [(3, "feed_override", 70.0)]


async def test_wrong_password_and_untrusted_certificate_are_refused(secure_sim: PlantSimulator,
                                                                     tmp_path: Path) -> None:
    certs = secure_sim.certificates
    assert certs is not None
    client = await _client(secure_sim, certs, user="operator", password="wrong")
    with pytest.raises(ua.UaError):
        await client.connect()
    await client.disconnect()  # idempotent clean-up of the half-open channel
    anonymous = Client(secure_sim.endpoint, timeout=5)  # allow_anonymous=False
    anonymous.application_uri = certs.client_uri
    await anonymous.set_security(SecurityPolicyBasic256Sha256, str(certs.client_cert), str(certs.client_key),
                                 server_certificate=str(certs.server_cert),
                                 mode=ua.MessageSecurityMode.SignAndEncrypt)
    with pytest.raises(ua.UaError):
        await anonymous.connect()
    await anonymous.disconnect()
    stranger = generate_certificates(tmp_path / "stranger")  # a different, untrusted client pair
    mixed = CertificatePaths(certs.directory, certs.server_cert, certs.server_key, stranger.client_cert,
                             stranger.client_key, certs.trusted_dir)
    client = await _client(secure_sim, mixed, user="operator", password=PASSWORD)
    with pytest.raises((ua.UaError, ConnectionError, TimeoutError)):
        await client.connect()
    await client.disconnect()
