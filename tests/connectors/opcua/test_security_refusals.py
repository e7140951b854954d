"""Every certificate/identity refusal is one clear line: a typed ``SecurityError`` naming the file, its
thumbprint and what the plant's administrator (or the user) must do. Real asyncua servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from typer.testing import CliRunner

from factorypilot.cli._app import app
from factorypilot.cli._commands import register
from factorypilot.connectors.opcua._security import describe_certificate, own_certificate
from factorypilot.connectors.registry import create
from factorypilot.errors import AuthenticationError, SecurityError, UntrustedCertificateError
from factorypilot.pilots.simulator import running_plant

register(app)
runner = CliRunner()


def _connect(cfg: dict[str, object]) -> None:
    async def go() -> None:
        async with create("opcua", cfg) as conn:
            await conn.browse()

    asyncio.run(go())


def test_cert_create_show_and_a_server_that_refuses_our_certificate(fp_home: Path, tmp_path: Path) -> None:
    out = runner.invoke(app, ["connect", "cert", "create"])
    assert out.exit_code == 0, out.output
    cert, key = own_certificate()
    info = describe_certificate(cert)
    assert info["application_uri"] == "urn:factorypilot:client"
    shown = runner.invoke(app, ["connect", "cert", "show"])
    assert info["sha1"] in shown.output
    assert "관리자" in shown.output
    again = runner.invoke(app, ["connect", "cert", "create"])
    assert again.exit_code == 1
    assert "exists already" in str(again.exception)
    with running_plant(model="mobility", seed=1, secure=True, cert_dir=tmp_path / "pki", offer_none=False) as plant:
        assert plant.certificates is not None
        with pytest.raises(SecurityError) as refused:
            _connect({"endpoint": plant.endpoint, "security_policy": "Basic256Sha256",
                      "security_mode": "SignAndEncrypt", "client_certificate": str(cert),
                      "client_private_key": str(key),
                      "trusted_server_certificates": [str(plant.certificates.server_cert)]})
        text = str(refused.value)
        assert "the server refused our client certificate" in text
        assert str(cert.resolve()) in text
        assert info["sha1"] in text
        # and the other way round: we refuse a server certificate that is not in our trust list
        with pytest.raises(UntrustedCertificateError) as ours:
            _connect({"endpoint": plant.endpoint, "security_policy": "Basic256Sha256",
                      "security_mode": "SignAndEncrypt", "client_certificate": str(cert),
                      "client_private_key": str(key)})
        assert "not in the trust list" in str(ours.value)
        assert "SHA-1" in str(ours.value)
        assert "--trust" in str(ours.value)


def test_wrong_user_is_an_authentication_error(fp_home: Path) -> None:
    with running_plant(model="mobility", seed=1, users={"operator": "s3cret"}, allow_anonymous=False) as plant, \
            pytest.raises(AuthenticationError, match="refused the identity"):
        _connect({"endpoint": plant.endpoint, "username": "operator", "password": "wrong"})


def test_password_comes_from_the_environment_never_the_yaml(fp_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PLANT_PW", "s3cret")
    with running_plant(model="mobility", seed=1, users={"operator": "s3cret"}, allow_anonymous=False) as plant:
        _connect({"endpoint": plant.endpoint, "username": "operator", "password_env": "PLANT_PW"})
        monkeypatch.delenv("PLANT_PW")
        with pytest.raises(Exception, match="PLANT_PW, which is not set"):
            _connect({"endpoint": plant.endpoint, "username": "operator", "password_env": "PLANT_PW"})


def test_template_init_security_options_never_write_a_password(fp_home: Path, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import yaml

    from factorypilot.pilots.spreading.templates import export_template

    export_template("mobility", fp_home / "templates", home=fp_home, override_reason="test", by="lead")
    monkeypatch.setenv("FACTORYPILOT_OPCUA_PASSWORD", "s3cret")
    no_cert = runner.invoke(app, ["template", "init", "mobility-cnc", "--company", "firm", "--endpoint",
                                  "opc.tcp://127.0.0.1:4840", "--dir", str(tmp_path / "a"), "--security",
                                  "Basic256Sha256"])
    assert no_cert.exit_code == 1
    assert "connect cert create" in str(no_cert.exception)
    assert runner.invoke(app, ["connect", "cert", "create"]).exit_code == 0
    out = runner.invoke(app, ["template", "init", "mobility-cnc", "--company", "firm", "--endpoint",
                              "opc.tcp://127.0.0.1:4840", "--dir", str(tmp_path / "b"), "--security",
                              "Basic256Sha256", "--user", "viewer", "--trust", str(tmp_path / "server.der")])
    assert out.exit_code == 0, out.output
    text = (tmp_path / "b" / "pilot.yaml").read_text(encoding="utf-8")
    assert "s3cret" not in text
    config = yaml.safe_load(text)["connector"]["config"]
    assert config["password_env"] == "FACTORYPILOT_OPCUA_PASSWORD"
    assert config["username"] == "viewer"
    assert (config["security_policy"], config["security_mode"]) == ("Basic256Sha256", "SignAndEncrypt")
    assert config["client_certificate"] == str(own_certificate()[0])
