"""Opening an asyncua ``Client`` for one endpoint, with every failure mapped to a typed error.

Reconnect decision: asyncua 2.1's ``Client(auto_reconnect=True)`` runs a supervisor task that probes the
server every ``watchdog_interval_s``, notices a dropped socket at once, reconnects with exponential back-off
(1 s doubling up to ``reconnect_max_delay_s``), re-activates or recreates the session and restores every
live subscription (TransferSubscriptions, else recreate with the same client handles). We use it instead of
a watchdog of our own and observe its state transitions (``uaclient.subscribe_state()``) to turn each
outage into a ``Gap`` (see ``_subscribe.py``).
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from urllib.parse import urlparse

from asyncua import ua
from asyncua.client.client import Client
from asyncua.crypto import security_policies
from asyncua.ua import uaerrors
from cryptography import x509

from factorypilot.connectors.opcua._config import OpcUaConfig
from factorypilot.connectors.opcua._security import check_trust, load_der, select_endpoint, thumbprints
from factorypilot.errors import (
    AuthenticationError,
    ConnectionError_,
    ConnectorTimeout,
    FactoryPilotError,
    SecurityError,
    SecurityPolicyMismatch,
)

__all__ = ["map_error", "open_client", "our_certificate_refused", "quiet_asyncua", "safe_url"]

_log = logging.getLogger("factorypilot.connectors.opcua")


class _AsyncuaBridge(logging.Handler):
    """asyncua logs every failed reconnect attempt (and a failed bind) with a full traceback. Our connector
    reports an outage itself (a ``Gap``, one INFO line from the service), so asyncua's records go to our
    logger at DEBUG, as one line without the traceback — unless our logger is at DEBUG (``--debug``), where
    the traceback is kept."""

    def emit(self, record: logging.LogRecord) -> None:
        if _log.isEnabledFor(logging.DEBUG):
            _log.debug("asyncua %s: %s", record.name, record.getMessage(), exc_info=record.exc_info)


def quiet_asyncua() -> None:
    """Route asyncua's own log records through :class:`_AsyncuaBridge` (idempotent)."""
    root = logging.getLogger("asyncua")
    if not any(isinstance(h, _AsyncuaBridge) for h in root.handlers):
        root.addHandler(_AsyncuaBridge())
    root.propagate = False

_AUTH = {"BadUserAccessDenied", "BadIdentityTokenInvalid", "BadIdentityTokenRejected", "BadUserSignatureInvalid"}
_POLICY = {"BadSecurityPolicyRejected", "BadSecurityModeRejected"}
_CERT = {"BadCertificateInvalid", "BadCertificateUntrusted", "BadSecurityChecksFailed",
         "BadCertificateUriInvalid", "BadCertificateTimeInvalid", "BadCertificateUseNotAllowed"}


def safe_url(url: str) -> str:
    """The endpoint without any ``user:password@`` part (for messages and logs)."""
    parsed = urlparse(url)
    if parsed.password is None and parsed.username is None:
        return url
    return parsed._replace(netloc=(parsed.hostname or "") + (f":{parsed.port}" if parsed.port else "")).geturl()


def map_error(exc: BaseException, url: str, doing: str) -> FactoryPilotError:
    """One typed error for anything asyncua or the network raised while ``doing`` something at ``url``."""
    where = safe_url(url)
    if isinstance(exc, FactoryPilotError):
        return exc
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return ConnectorTimeout(f"OPC UA server did not answer in time while {doing}", where=where,
                                hint="check that the endpoint is an OPC UA server and reachable, or raise timeout_s")
    if isinstance(exc, uaerrors.UaStatusCodeError):
        name = type(exc).__name__
        code = getattr(exc, "code", None)
        if name in _AUTH:
            return AuthenticationError(f"the server refused the identity ({name}) while {doing}", where=where,
                                       hint="check the user name and password (FACTORYPILOT_OPCUA_PASSWORD) and "
                                            "that this user may log in")
        if name in _POLICY:
            return SecurityPolicyMismatch(f"the server rejected the security policy/mode ({name})", where=where,
                                          hint="run 'factorypilot connect browse ENDPOINT' with another "
                                               "--policy/--mode")
        if name in _CERT:
            return SecurityError(f"the server rejected this client's certificate ({name})", where=where,
                                 hint="add the client certificate to the server's trusted certificates (on many "
                                      "servers: move it from the rejected to the trusted folder)")
        return ConnectionError_(f"OPC UA error {name or code} while {doing}", where=where,
                                hint="see the server's log for the reason")
    if isinstance(exc, OSError | ConnectionError | uaerrors.UaError):
        detail = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
        return ConnectionError_(f"cannot reach the OPC UA server while {doing}: {detail}", where=where,
                                hint=f"check host, port and that the server runs; try "
                                     f"'factorypilot connect browse {where}'")
    return ConnectionError_(f"unexpected {type(exc).__name__} while {doing}: {exc}", where=where)


def _client_application_uri(cert_path: str) -> str | None:
    data = load_der_or_none(cert_path)
    if data is None:
        return None
    cert = x509.load_der_x509_certificate(data)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return None
    uris = san.value.get_values_for_type(x509.UniformResourceIdentifier)
    return uris[0] if uris else None


def load_der_or_none(path: str) -> bytes | None:

    try:
        return load_der(Path(path))
    except FactoryPilotError:
        return None


async def _configure_security(client: Client, config: OpcUaConfig, url: str) -> None:
    try:
        endpoints = await client.connect_and_get_server_endpoints()
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        raise map_error(exc, url, "listing the server's endpoints") from exc
    chosen = select_endpoint(endpoints, config.security_policy, config.security_mode, safe_url(url))
    if config.security_policy == "None":
        return
    server_der = bytes(chosen.ServerCertificate or b"")
    check_trust(server_der, config.trusted_server_certificates, config.trust_unknown_server, safe_url(url))
    assert config.client_certificate is not None
    assert config.client_private_key is not None
    uri = _client_application_uri(str(config.client_certificate))
    if uri:
        client.application_uri = uri
    try:
        await client.set_security(
            security_policies.SecurityPolicyBasic256Sha256,
            certificate=str(config.client_certificate),
            private_key=str(config.client_private_key),
            server_certificate=server_der,
            mode=getattr(ua.MessageSecurityMode, config.security_mode),
        )
    except (OSError, ValueError) as exc:
        raise SecurityError(f"cannot load the client certificate or key: {exc}",
                            where=f"{config.client_certificate}, {config.client_private_key}",
                            hint="give a DER/PEM application certificate and its private key") from exc


async def open_client(config: OpcUaConfig, url: str) -> Client:
    """A connected, activated client for ``url`` that reconnects by itself."""
    client = Client(url, timeout=config.timeout_s, watchdog_intervall=config.watchdog_interval_s,
                    auto_reconnect=True, reconnect_max_delay=config.reconnect_max_delay_s,
                    reconnect_request_timeout=config.timeout_s)
    quiet_asyncua()
    client.name = client.description = "factorypilot"
    if config.username:
        client.set_user(config.username)
    if config.password is not None:
        client.set_password(config.password.get_secret_value())
    await _configure_security(client, config, url)
    if config.password is not None and config.security_policy == "None":
        _log.warning("the password for %s is sent without encryption (security policy None); prefer "
                     "Basic256Sha256/SignAndEncrypt", safe_url(url))
    _log.debug("connecting to %s (security %s/%s, user %s)", safe_url(url), config.security_policy,
               config.security_mode, config.username or "anonymous")
    try:
        await client.connect()
    except BaseException as exc:
        if isinstance(exc, asyncio.CancelledError):
            raise
        await close_client(client)
        mapped = map_error(exc, url, "connecting")
        if config.security_policy != "None" and config.client_certificate is not None and (
                isinstance(exc, AssertionError) or type(exc).__name__ in _CERT):
            raise our_certificate_refused(config.client_certificate, url, type(exc).__name__) from exc
        raise mapped from exc
    return client


def our_certificate_refused(cert: Path, url: str, status: str) -> SecurityError:
    """The server would not accept this client's certificate: name the file, its thumbprint and the fix."""
    try:
        sha1, _ = thumbprints(load_der(cert))
    except FactoryPilotError:
        sha1 = "(unreadable)"
    return SecurityError(f"the server refused our client certificate ({status})", where=safe_url(url),
                         hint=f"ask the plant's OPC UA administrator to trust {cert.resolve()} (SHA-1 {sha1}); on many "
                              "servers: move it from the rejected to the trusted folder. Show it: factorypilot "
                              "connect cert show")


async def close_client(client: Client) -> None:
    try:
        await client.disconnect()
    except (TimeoutError, OSError, ConnectionError, uaerrors.UaError) as exc:
        _log.debug("disconnect raised %r (ignored)", exc)
