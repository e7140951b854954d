"""Endpoint selection and the explicit server-certificate trust list.

OPC UA servers present a self-signed (or CA-signed) application certificate in their endpoint
description. We never accept one silently: it must be byte-identical to a certificate listed in
``trusted_server_certificates``, unless the user opted in with ``trust_unknown_server``. A refused
certificate is saved under ``$FACTORYPILOT_HOME/pki/rejected/`` so the user can inspect it and add the
exact file to the trust list (the error hint names the file and its thumbprints).
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from asyncua import ua
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from factorypilot.errors import ConfigError, SecurityPolicyMismatch, UntrustedCertificateError
from factorypilot.settings import get_settings

__all__ = ["check_trust", "create_own_certificate", "describe_certificate", "first_certificate", "load_der",
           "own_certificate", "select_endpoint", "thumbprints"]

_log = logging.getLogger("factorypilot.connectors.opcua")
POLICY_URIS = {
    "None": "http://opcfoundation.org/UA/SecurityPolicy#None",
    "Basic256Sha256": "http://opcfoundation.org/UA/SecurityPolicy#Basic256Sha256",
}
MODES = {
    "None": ua.MessageSecurityMode.None_,
    "Sign": ua.MessageSecurityMode.Sign,
    "SignAndEncrypt": ua.MessageSecurityMode.SignAndEncrypt,
}


def _describe(ep: ua.EndpointDescription) -> str:
    policy = (ep.SecurityPolicyUri or "").rsplit("#", 1)[-1]
    mode = ep.SecurityMode.name.rstrip("_")
    return f"{policy}/{mode}"


def select_endpoint(endpoints: list[ua.EndpointDescription], policy: str, mode: str,
                    url: str) -> ua.EndpointDescription:
    """The server endpoint offering ``policy``/``mode``, or ``SecurityPolicyMismatch`` listing what it offers."""
    want_uri, want_mode = POLICY_URIS[policy], MODES[mode]
    for ep in endpoints:
        if ep.SecurityPolicyUri == want_uri and ep.SecurityMode == want_mode:
            return ep
    offered = sorted({_describe(ep) for ep in endpoints}) or ["nothing"]
    raise SecurityPolicyMismatch(
        f"the server does not offer security {policy}/{mode}", where=url,
        hint=f"it offers: {', '.join(offered)}; set security_policy/security_mode (CLI: --policy/--mode) to one "
             "of these")


def first_certificate(der: bytes) -> bytes:
    """The leading certificate of a DER blob that may carry a chain after it."""
    if len(der) < 4:
        return der
    length = int.from_bytes(der[2:4], "big") + 4
    return der[:length]


def thumbprints(der: bytes) -> tuple[str, str]:
    """(SHA-1, SHA-256) of a DER certificate as colon-less upper-case hex."""
    return hashlib.sha1(der).hexdigest().upper(), hashlib.sha256(der).hexdigest().upper()


def load_der(path: Path) -> bytes:
    """A certificate file (DER or PEM) as DER bytes; ``ConfigError`` naming the file if unreadable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read trusted certificate: {exc.strerror}", where=str(path),
                          hint="fix the path in trusted_server_certificates") from exc
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
        return x509.load_der_x509_certificate(first_certificate(data)).public_bytes(Encoding.DER)
    except ValueError as exc:
        raise ConfigError("not an X.509 certificate (DER or PEM)", where=str(path),
                          hint="list certificate files (.der/.pem) in trusted_server_certificates") from exc


def check_trust(server_der: bytes, trusted: list[Path], trust_unknown: bool, url: str) -> None:
    """Accept the server certificate only if it is in ``trusted`` (or the user opted in)."""
    der = first_certificate(server_der)
    if not der:
        raise UntrustedCertificateError("the server sent no certificate for a secure endpoint", where=url,
                                        hint="check the server's certificate configuration")
    if any(load_der(p) == der for p in trusted):
        return
    sha1, sha256 = thumbprints(der)
    if trust_unknown:
        _log.warning("trusting unknown server certificate of %s (SHA-256 %s) because trust_unknown_server is set",
                     url, sha256)
        return
    rejected = get_settings().home / "pki" / "rejected" / f"{sha1}.der"
    try:
        rejected.parent.mkdir(parents=True, exist_ok=True)
        rejected.write_bytes(der)
        saved = str(rejected.resolve())
    except OSError:
        saved = "(could not save it; export it from the server)"
    raise UntrustedCertificateError(
        "the server certificate is not in the trust list", where=url,
        hint=f"if the thumbprint matches the one shown on the server (SHA-1 {sha1}, SHA-256 {sha256}), add the file "
             f"{saved} to trusted_server_certificates (CLI: --trust {saved}); or opt in to unknown certificates "
             "with trust_unknown_server: true (CLI: --trust-unknown)")


def own_certificate() -> tuple[Path, Path]:
    """Where this client's application certificate (DER) and private key (PEM) live: ``FACTORYPILOT_HOME/pki/own``."""
    own = get_settings().home / "pki" / "own"
    return own / "cert.der", own / "key.pem"


CLIENT_APP_URI = "urn:factorypilot:client"


def create_own_certificate(*, days: int = 730, overwrite: bool = False, host: str | None = None) -> tuple[Path, Path]:
    """Create this client's self-signed application certificate and key (``own_certificate()`` paths)."""
    import ipaddress
    import socket

    from asyncua.crypto import cert_gen
    from cryptography.x509.oid import ExtendedKeyUsageOID

    cert_path, key_path = own_certificate()
    if cert_path.exists() and not overwrite:
        raise ConfigError("a client certificate exists already", where=str(cert_path),
                          hint="show it with: factorypilot connect cert show (or --overwrite to replace it; servers "
                               "that trusted the old one must then trust the new one)")
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    name = host or socket.gethostname()
    key = cert_gen.generate_private_key()
    san: list[x509.GeneralName] = [x509.UniformResourceIdentifier(CLIENT_APP_URI), x509.DNSName(name),
                                   x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
    cert = cert_gen.generate_self_signed_app_certificate(
        key, f"factorypilot client@{name}", {"organizationName": "factorypilot"}, san,
        extended=[ExtendedKeyUsageOID.CLIENT_AUTH], days=days)
    key_path.write_bytes(cert_gen.dump_private_key_as_pem(key))
    key_path.chmod(0o600)
    cert_path.write_bytes(cert.public_bytes(Encoding.DER))
    return cert_path, key_path


def describe_certificate(path: Path) -> dict[str, str]:
    """Subject, application URI, validity and thumbprints of a certificate file."""
    der = load_der(path)
    cert = x509.load_der_x509_certificate(der)
    sha1, sha256 = thumbprints(der)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = san.get_values_for_type(x509.UniformResourceIdentifier)
    except x509.ExtensionNotFound:
        uris = []
    return {"file": str(path.resolve()), "subject": cert.subject.rfc4514_string(),
            "application_uri": uris[0] if uris else "", "valid_from": cert.not_valid_before_utc.isoformat(),
            "valid_until": cert.not_valid_after_utc.isoformat(), "sha1": sha1, "sha256": sha256}
