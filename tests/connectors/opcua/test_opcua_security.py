"""Basic256Sha256 SignAndEncrypt with an explicit trust list, user names and passwords."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from _plant import OpcUaTestPlant, PlantOptions, make_certificates, running_test_plant
from pydantic import SecretStr

from factorypilot.connectors.opcua import OpcUaConnector, thumbprints
from factorypilot.errors import AuthenticationError, SecurityPolicyMismatch, UntrustedCertificateError

USERS = {"operator": "s3cret-pw", "작업자": "비밀번호"}


@pytest.fixture(scope="module")
def secure_plant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpcUaTestPlant]:
    options = PlantOptions(users=USERS, secure_only=True, cert_dir=tmp_path_factory.mktemp("server-pki"))
    with running_test_plant(options) as p:
        yield p


@pytest.fixture(scope="module")
def client_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return asyncio.run(make_certificates(tmp_path_factory.mktemp("client-pki"), "client", server=False))


def config(plant: OpcUaTestPlant, pki: tuple[Path, Path], **extra: object) -> OpcUaConnector.Config:
    data: dict[str, object] = {
        "endpoint": plant.endpoint, "security_policy": "Basic256Sha256", "security_mode": "SignAndEncrypt",
        "client_certificate": pki[0], "client_private_key": pki[1], "username": "operator", "password": "s3cret-pw",
        "timeout_s": 5}
    data.update(extra)
    return OpcUaConnector.Config.model_validate(data)


async def test_sign_and_encrypt_with_trusted_server_certificate(secure_plant: OpcUaTestPlant,
                                                                client_pki: tuple[Path, Path]) -> None:
    assert secure_plant.server_cert is not None
    cfg = config(secure_plant, client_pki, trusted_server_certificates=[secure_plant.server_cert])
    async with OpcUaConnector(cfg) as c:
        assert (await c.read([secure_plant.node_id("SpindleSpeed")]))[0].value == 1500.0
        assert (await c.health()).ok


async def test_korean_user_name_and_password(secure_plant: OpcUaTestPlant, client_pki: tuple[Path, Path]) -> None:
    assert secure_plant.server_cert is not None
    cfg = config(secure_plant, client_pki, trusted_server_certificates=[secure_plant.server_cert],
                 username="작업자", password="비밀번호")
    async with OpcUaConnector(cfg) as c:
        assert (await c.read([secure_plant.node_id("Program")]))[0].value == "O1000"


async def test_untrusted_server_certificate_is_refused_with_exact_instructions(
        secure_plant: OpcUaTestPlant, client_pki: tuple[Path, Path], fp_home: Path) -> None:
    assert secure_plant.server_cert is not None
    with pytest.raises(UntrustedCertificateError) as info:
        async with OpcUaConnector(config(secure_plant, client_pki)):
            pass
    sha1, sha256 = thumbprints(secure_plant.server_cert.read_bytes())
    text = str(info.value)
    saved = fp_home / "pki" / "rejected" / f"{sha1}.der"
    assert sha1 in text
    assert sha256 in text
    assert "trusted_server_certificates" in text
    assert "--trust-unknown" in text
    assert str(saved.resolve()) in text
    assert saved.read_bytes() == secure_plant.server_cert.read_bytes()
    # following the hint works
    async with OpcUaConnector(config(secure_plant, client_pki, trusted_server_certificates=[saved])) as c:
        assert (await c.read([secure_plant.node_id("Running")]))[0].value is True
    # and so does the explicit opt-in
    async with OpcUaConnector(config(secure_plant, client_pki, trust_unknown_server=True)) as c:
        assert (await c.read([secure_plant.node_id("Running")]))[0].value is True


async def test_trusting_a_different_certificate_is_not_enough(secure_plant: OpcUaTestPlant,
                                                              client_pki: tuple[Path, Path]) -> None:
    with pytest.raises(UntrustedCertificateError):
        async with OpcUaConnector(config(secure_plant, client_pki, trusted_server_certificates=[client_pki[0]])):
            pass


async def test_wrong_password_is_an_authentication_error_without_the_password(
        secure_plant: OpcUaTestPlant, client_pki: tuple[Path, Path], caplog: pytest.LogCaptureFixture) -> None:
    assert secure_plant.server_cert is not None
    cfg = config(secure_plant, client_pki, trusted_server_certificates=[secure_plant.server_cert],
                 password="wrong-guess-123")
    caplog.set_level("DEBUG", logger="factorypilot")
    with pytest.raises(AuthenticationError) as info:
        async with OpcUaConnector(cfg):
            pass
    assert secure_plant.endpoint in str(info.value)
    ours = [r for r in caplog.records if r.name.startswith("factorypilot")]
    assert ours, "the connector logs its connection attempt"
    assert "wrong-guess-123" not in str(info.value)
    assert not any("wrong-guess-123" in r.getMessage() for r in ours)
    assert "wrong-guess-123" not in repr(cfg)


async def test_policy_mismatch_lists_what_the_server_offers(secure_plant: OpcUaTestPlant) -> None:
    with pytest.raises(SecurityPolicyMismatch) as info:
        async with OpcUaConnector(OpcUaConnector.Config(endpoint=secure_plant.endpoint, timeout_s=5)):
            pass
    offered = str(info.value).split("it offers:")[1]
    assert "Basic256Sha256/SignAndEncrypt" in offered
    assert "None/None" not in offered


def test_config_rejects_half_security_settings(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="go together"):
        OpcUaConnector.Config(endpoint="opc.tcp://x:4840", security_policy="Basic256Sha256")
    with pytest.raises(ValueError, match="client_certificate"):
        OpcUaConnector.Config(endpoint="opc.tcp://x:4840", security_policy="Basic256Sha256",
                              security_mode="Sign")


def test_sign_and_encrypt_against_the_simulator(tmp_path: Path) -> None:
    """The simulator's secure endpoint with its generated certificates, username login, trust list."""
    from factorypilot.pilots.simulator import generate_certificates, running_plant

    certs = generate_certificates(tmp_path / "pki")
    with running_plant(model="mobility", realtime=False, secure=True, cert_dir=tmp_path / "pki",
                       users={"운전원": "암호-1234"}, allow_anonymous=False) as sim:
        cfg = OpcUaConnector.Config(
            endpoint=sim.endpoint, security_policy="Basic256Sha256", security_mode="SignAndEncrypt",
            client_certificate=certs.client_cert, client_private_key=certs.client_key,
            trusted_server_certificates=[certs.server_cert], username="운전원", password="암호-1234", timeout_s=5)

        async def go() -> float:
            async with OpcUaConnector(cfg) as c:
                value = (await c.read([sim.node_id("spindle_vibration")]))[0].value
                assert isinstance(value, float)
                return value

        assert asyncio.run(go()) > 0
        with pytest.raises(AuthenticationError):
            asyncio.run(OpcUaConnector(cfg.model_copy(update={"password": SecretStr("틀림")})).connect())
