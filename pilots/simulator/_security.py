"""Self-signed certificates for the simulator (server) and a test client, with the application URIs in the SAN.

The client's ``ApplicationUri`` must equal :attr:`CertificatePaths.client_uri` (asyncua checks it against the
certificate); the server trusts every certificate in ``trusted/`` (the generated client certificate is put
there).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import ExtendedKeyUsageOID

from factorypilot.errors import SecurityError

__all__ = ["CLIENT_URI", "SERVER_URI", "CertificatePaths", "generate_certificates"]

SERVER_URI = "urn:factorypilot:simulator"
CLIENT_URI = "urn:factorypilot:client"


@dataclass(frozen=True)
class CertificatePaths:
    """Files written by :func:`generate_certificates` (certificates DER, keys PEM)."""

    directory: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    trusted_dir: Path
    server_uri: str = SERVER_URI
    client_uri: str = CLIENT_URI

    @classmethod
    def in_dir(cls, directory: Path) -> CertificatePaths:
        d = Path(directory)
        return cls(d, d / "server_cert.der", d / "server_key.pem", d / "client_cert.der", d / "client_key.pem",
                   d / "trusted")

    def exist(self) -> bool:
        return all(p.is_file() for p in (self.server_cert, self.server_key, self.client_cert, self.client_key))


def _write(path: Path, data: bytes) -> None:
    path.write_bytes(data)
    path.chmod(0o600 if path.suffix == ".pem" else 0o644)


def generate_certificates(directory: Path | str, *, days: int = 365, overwrite: bool = False) -> CertificatePaths:
    """Create a self-signed server cert/key and client cert/key in ``directory`` (kept if present).

    The server certificate's SAN holds ``urn:factorypilot:simulator``, ``localhost``, the host name and
    ``127.0.0.1``; the client's holds ``urn:factorypilot:client``. The client certificate is copied to
    ``trusted/`` so the simulator accepts it.
    """
    from asyncua.crypto import cert_gen

    paths = CertificatePaths.in_dir(Path(directory))
    if paths.exist() and not overwrite:
        paths.trusted_dir.mkdir(exist_ok=True)
        trusted = paths.trusted_dir / paths.client_cert.name
        if not trusted.exists():
            trusted.write_bytes(paths.client_cert.read_bytes())
        return paths
    try:
        paths.directory.mkdir(parents=True, exist_ok=True)
        paths.trusted_dir.mkdir(exist_ok=True)
    except OSError as exc:
        raise SecurityError(f"cannot create certificate directory: {exc}", where=str(directory),
                            hint="pass a writable --cert-dir") from exc
    host = socket.gethostname()
    names = {"organizationName": "factorypilot", "countryName": "KR", "localityName": "Daegu"}
    specs = (
        (paths.server_cert, paths.server_key, "factorypilot simulator", SERVER_URI, ExtendedKeyUsageOID.SERVER_AUTH),
        (paths.client_cert, paths.client_key, "factorypilot client", CLIENT_URI, ExtendedKeyUsageOID.CLIENT_AUTH),
    )
    for cert_path, key_path, cn, uri, usage in specs:
        key = cert_gen.generate_private_key()
        san: list[x509.GeneralName] = [x509.UniformResourceIdentifier(uri), x509.DNSName("localhost"),
                                       x509.DNSName(host), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
        cert = cert_gen.generate_self_signed_app_certificate(key, cn, names, san, extended=[usage], days=days)
        _write(key_path, cert_gen.dump_private_key_as_pem(key))
        _write(cert_path, cert.public_bytes(Encoding.DER))
    (paths.trusted_dir / paths.client_cert.name).write_bytes(paths.client_cert.read_bytes())
    return paths
