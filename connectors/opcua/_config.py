"""``OpcUaConfig``: everything needed to reach one plant over OPC UA (one or several endpoints)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Self
from urllib.parse import urlparse

from pydantic import Field, SecretStr, model_validator

from factorypilot.connectors.base import ConnectorConfig

__all__ = ["OpcUaConfig"]


def _check_url(url: str) -> None:
    """A malformed endpoint is a config error now, not an ``unexpected ValueError`` at connect time."""
    example = "e.g. opc.tcp://192.168.0.10:4840/path"
    try:
        parsed = urlparse(url)
        port = parsed.port
    except ValueError as exc:
        raise ValueError(f"endpoint {url!r} is not a valid URL ({exc}); {example}") from exc
    if parsed.scheme != "opc.tcp":
        raise ValueError(f"endpoint {url!r} must start with opc.tcp://; {example}")
    if not parsed.hostname:
        raise ValueError(f"endpoint {url!r} names no host; {example}")
    if port == 0:
        raise ValueError(f"endpoint {url!r} has port 0; {example}")

SecurityPolicyName = Literal["None", "Basic256Sha256"]
SecurityModeName = Literal["None", "Sign", "SignAndEncrypt"]


class OpcUaConfig(ConnectorConfig):
    """Connection settings. Unknown keys are rejected; the password is a ``SecretStr``.

    A plant served by several server processes (shards) lists them in ``endpoints``; browse, read and
    subscribe fan out across them and each tag remembers which endpoint serves it.
    """

    endpoint: str | None = Field(default=None, description="opc.tcp://host:port/path of the server")
    endpoints: list[str] = Field(default_factory=list, description="several endpoints for one sharded plant")
    security_policy: SecurityPolicyName = "None"
    security_mode: SecurityModeName = "None"
    client_certificate: Path | None = Field(default=None, description="client application certificate (DER/PEM)")
    client_private_key: Path | None = Field(default=None, description="client private key (PEM/DER)")
    trusted_server_certificates: list[Path] = Field(
        default_factory=list, description="server certificates (DER/PEM files) this client trusts")
    trust_unknown_server: bool = Field(
        default=False, description="explicit opt-in: accept a server certificate that is not in the trust list")
    username: str | None = None
    password: SecretStr | None = None
    password_env: str | None = Field(
        default=None, description="name of the environment variable holding the password (the password itself "
        "is never written to YAML); with a username and neither set, FACTORYPILOT_OPCUA_PASSWORD is used")
    timeout_s: float = Field(default=4.0, gt=0, description="per-request timeout")
    condition_reads: Literal["auto", "refresh"] = Field(
        default="auto", description="checking an alarm before and after an acknowledgement: 'auto' reads the "
        "condition's own variables when they carry the EventId the server announced, else ConditionRefresh; "
        "'refresh' always asks with ConditionRefresh")
    read_chunk_size: int = Field(default=500, ge=1, description="node ids per Read request")
    session_tag_budget: int = Field(
        default=1000, ge=1, description="tags per session; bigger subscriptions open more sessions")
    browse_root: str = Field(default="i=85", description="node id where browse starts (default: Objects)")
    reconnect_max_delay_s: float = Field(
        default=10.0, ge=1.0, description="cap of the reconnect back-off (asyncua starts at 1 s and doubles)")
    watchdog_interval_s: float = Field(default=1.0, gt=0, description="how often a quiet connection is probed")
    namespace: str | int | None = Field(
        default=None, description="only browse tags of this namespace (index or URI)")

    @model_validator(mode="after")
    def _password_from_env(self) -> Self:
        if self.password is not None:
            return self
        name = self.password_env or ("FACTORYPILOT_OPCUA_PASSWORD" if self.username else None)
        if name is None:
            return self
        value = os.environ.get(name)
        if value is None and self.password_env:
            raise ValueError(f"password_env names {name}, which is not set: export {name}=... (the password is "
                             "never stored in the YAML)")
        if value is not None:
            object.__setattr__(self, "password", SecretStr(value))
        return self

    @model_validator(mode="after")
    def _check(self) -> Self:
        if not self.endpoint and not self.endpoints:
            raise ValueError("set 'endpoint' (or 'endpoints' for a plant served by several servers)")
        for url in self.all_endpoints():
            _check_url(url)
        if (self.security_policy == "None") != (self.security_mode == "None"):
            raise ValueError("security_policy and security_mode go together: both 'None', or a policy such as "
                             "'Basic256Sha256' with mode 'Sign' or 'SignAndEncrypt'")
        if self.security_policy != "None" and not (self.client_certificate and self.client_private_key):
            raise ValueError("a secure connection needs client_certificate and client_private_key")
        return self

    def all_endpoints(self) -> list[str]:
        """``endpoint`` followed by ``endpoints``, without duplicates, in order."""
        seen: list[str] = []
        for ep in ([self.endpoint] if self.endpoint else []) + list(self.endpoints):
            if ep not in seen:
                seen.append(ep)
        return seen
