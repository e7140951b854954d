"""The asyncua side: server construction, security, users, write guard, methods, in-memory history."""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.address_space import AttributeService
from asyncua.server.history import HistoryDict
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.status_codes import StatusCodes

from factorypilot.errors import ConfigError
from factorypilot.vocabulary import Scalar

from ._address_space import NodeLayout, build_items, variant
from ._engine import PlantEngine
from ._security import CertificatePaths

__all__ = ["ServerOptions", "build_server", "datavalue", "status"]

_log = logging.getLogger(__name__)
WriteHook = Callable[[str, Scalar], Awaitable[None]]


class _Users:
    """Anonymous (if allowed) plus a fixed user → password table; a wrong password gets no session."""

    def __init__(self, users: dict[str, str] | None, allow_anonymous: bool) -> None:
        self._users = dict(users or {})
        self._anonymous = allow_anonymous

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is None:
            return User(role=UserRole.User) if self._anonymous else None
        expected = self._users.get(username)
        if expected is None or not hmac.compare_digest(expected.encode(), (password or "").encode()):
            _log.info("simulator refused user %r", username)
            return None
        return User(role=UserRole.User, name=username)


class _GuardedAttributeService(AttributeService):
    """Client writes to a setpoint outside its limits get ``BadOutOfRange`` and change nothing."""

    def __init__(self, aspace: Any, engine: PlantEngine, role_of: dict[ua.NodeId, str], on_write: WriteHook) -> None:
        super().__init__(aspace)
        self._engine = engine
        self._role_of = role_of
        self._on_write = on_write

    async def write(self, params: ua.WriteParameters, user: User = User(role=UserRole.Admin)) -> list[ua.StatusCode]:  # noqa: B008
        results: list[ua.StatusCode] = []
        for wv in params.NodesToWrite:
            role = self._role_of.get(wv.NodeId) if wv.AttributeId == AttributeIds.Value else None
            if role is not None:
                value = wv.Value.Value.Value if wv.Value and wv.Value.Value is not None else None
                sig = self._engine.signals[role]
                if sig.writable and not self._engine.accepts(role, value):
                    _log.info("simulator rejected write %s=%r (limits %s)", role, value, sig.limits)
                    results.append(status(StatusCodes.BadOutOfRange))
                    continue
            single = ua.WriteParameters(NodesToWrite=[wv])
            result = (await super().write(single, user))[0]
            if role is not None and result.is_good():
                await self._on_write(role, wv.Value.Value.Value)
            results.append(result)
        return results


class History(HistoryDict):
    """In-memory history kept by the simulator itself (one sample per published change), across restarts."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.size = size

    async def ensure(self, node_id: ua.NodeId) -> None:
        if node_id not in self._datachanges:
            await self.new_historized_node(node_id, None, self.size)

    async def ensure_events(self, notifier: ua.NodeId) -> None:
        """Keep the events emitted by ``notifier`` (the last ``size`` of them)."""
        if notifier not in self._events:
            await self.new_historized_event(notifier, [], None, self.size)


def datavalue(variant: ua.Variant, when: datetime | None = None) -> ua.DataValue:
    now = cast(ua.DateTime, when or datetime.now(UTC))
    return ua.DataValue(variant, SourceTimestamp=now, ServerTimestamp=now)


def status(code: int) -> ua.StatusCode:
    return ua.StatusCode(cast(ua.UInt32, code))


class ServerOptions:
    def __init__(self, *, endpoint: str, secure: bool, offer_none: bool, certs: CertificatePaths | None,
                 users: dict[str, str] | None, allow_anonymous: bool) -> None:
        if not allow_anonymous and not users:
            raise ConfigError("anonymous access is off and no users are configured", where="PlantSimulator",
                              hint="pass users={'operator': '...'} or allow_anonymous=True")
        if secure and certs is None:
            raise ConfigError("secure=True needs certificates", where="PlantSimulator", hint="pass cert_dir=...")
        self.endpoint = endpoint
        self.secure = secure
        self.offer_none = offer_none
        self.certs = certs
        self.users = users
        self.allow_anonymous = allow_anonymous


MethodRunner = Callable[[int, Any, tuple[Scalar, ...]], Awaitable[tuple[Scalar, bool]]]


async def build_server(engine: PlantEngine, opts: ServerOptions, history: History, on_write: WriteHook,
                       run_method: MethodRunner) -> tuple[Server, NodeLayout]:
    """A configured, populated (not yet started) asyncua server for the engine's current values."""
    from asyncua.crypto.truststore import TrustStore
    from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

    from ._fast_init import install

    server = Server(user_manager=_Users(opts.users, opts.allow_anonymous))  # type: ignore[arg-type]
    install(server)
    server.iserver.bind_condition_methods = True  # ConditionRefresh for the plant's alarms (see _alarms.py)
    await server.init()
    server.set_endpoint(opts.endpoint)
    server.set_server_name(f"factorypilot simulator ({engine.cls.name})")
    if opts.secure and opts.certs is not None:
        c = opts.certs
        await server.set_application_uri(c.server_uri)
        await server.load_certificate(str(c.server_cert))
        await server.load_private_key(str(c.server_key))
        policies = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt, ua.SecurityPolicyType.Basic256Sha256_Sign]
        if opts.offer_none:
            policies.append(ua.SecurityPolicyType.NoSecurity)
        server.set_security_policy(policies)
        store = TrustStore([Path(c.trusted_dir)], [])
        await store.load()
        options = CertificateValidatorOptions.TRUSTED_VALIDATION | CertificateValidatorOptions.PEER_CLIENT
        server.set_certificate_validator(CertificateValidator(options, store))
    else:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
    tokens: list[type] = []
    if opts.allow_anonymous:
        tokens.append(ua.AnonymousIdentityToken)
    if opts.users:
        tokens.append(ua.UserNameIdentityToken)
    server.set_identity_tokens(tokens)
    ns = await server.register_namespace(f"urn:factorypilot:simulator:{engine.cls.name}")
    items, layout = build_items(engine.cls, len(engine.models), engine.published, ns,
                                engine.first_line)  # restarts keep values
    results = await server.iserver.isession.add_nodes(items)
    for item, res in zip(items, results, strict=True):
        if not res.StatusCode.is_good():
            raise ConfigError(f"cannot create node {item.RequestedNewNodeId.to_string()}: {res.StatusCode}",
                              where=opts.endpoint, hint="node ids must be unique; check the model's roles")
    role_of = {nid: role for role, nid in layout.variables.items()}
    server.iserver.attribute_service = _GuardedAttributeService(server.iserver.aspace, engine, role_of, on_write)
    server.iserver.history_manager.set_storage(history)
    for role, nid in layout.variables.items():
        if layout.signals[role].historize:
            await history.ensure(nid)
    for nid, (unit, spec) in layout.methods.items():
        server.iserver.aspace.add_method_callback(nid, _method_callback(unit, spec, run_method))
    return server, layout


def _method_callback(unit: int, spec: Any, run: MethodRunner) -> Callable[..., Awaitable[Any]]:
    async def call(parent: ua.NodeId, *args: ua.Variant) -> Any:
        if len(args) != len(spec.args):
            code = StatusCodes.BadArgumentsMissing if len(args) < len(spec.args) else \
                StatusCodes.BadTooManyArguments
            return status(code)
        out, has_output = await run(unit, spec, tuple(a.Value for a in args))
        if not has_output or spec.output is None:
            return []
        return [variant(spec.output.data_type, out)]

    return call
