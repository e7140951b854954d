"""A small real asyncua server for the OPC-UA connector tests (own thread, own loop, free port).

Address space (namespace ``urn:factorypilot:test``)::

    Objects/대구정밀/대구공장/가공동/1라인/CNC1/
        SpindleSpeed   Double  rpm   EURange 0..12000  writable  (DisplayName ko-KR "주축 속도",
                                                                   Description en-US "Spindle speed")
        Vibration      Double  mm/s  historized, read-only
        FeedOverride   Double  %     EURange 0..120   writable
        Running        Boolean       writable
        PartCount      Int32         writable
        Program        String        writable
        Reset()        method: (Int32) -> Boolean
        Bulk/B0000..   Double tags (``bulk`` of them) for chunked reads
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography.x509.oid import ExtendedKeyUsageOID

NS_URI = "urn:factorypilot:test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class _Users(UserManager):
    def __init__(self, users: dict[str, str]) -> None:
        self.users = users

    def get_user(self, iserver: Any, username: str | None = None, password: str | None = None,
                 certificate: Any = None) -> User | None:
        if username is None:
            return None
        if self.users.get(username) == password:
            return User(role=UserRole.User)
        return None


async def make_certificates(directory: Path, name: str, *, server: bool) -> tuple[Path, Path]:
    """A self-signed application certificate (DER) and key (PEM) for a client or a server."""
    await asyncio.to_thread(directory.mkdir, parents=True, exist_ok=True)
    key, cert = directory / f"{name}-key.pem", directory / f"{name}-cert.der"
    uri = f"urn:factorypilot:{name}" if server else "urn:example.org:FreeOpcUa:opcua-asyncio"
    use = [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
    await setup_self_signed_certificate(key, cert, uri, socket.gethostname(), use, {"commonName": name})
    return cert, key


@dataclass
class PlantOptions:
    bulk: int = 0
    users: dict[str, str] | None = None
    secure_only: bool = False
    cert_dir: Path | None = None
    history_points: int = 5
    machine: str = "CNC1"


@dataclass
class OpcUaTestPlant:
    """Runs the server in a background thread; ``stop()``/``start()`` restart it on the same port."""

    options: PlantOptions = field(default_factory=PlantOptions)
    port: int = field(default_factory=free_port)
    server_cert: Path | None = None
    _loop: asyncio.AbstractEventLoop | None = None
    _thread: threading.Thread | None = None
    _server: Server | None = None

    @property
    def endpoint(self) -> str:
        return f"opc.tcp://127.0.0.1:{self.port}/factorypilot/"

    def node_id(self, name: str) -> str:
        return f"ns=2;s={self.options.machine}.{name}"

    # -- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> OpcUaTestPlant:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="opcua-test-plant")
        self._thread.start()
        self._call(self._start())
        return self

    def stop(self) -> None:
        if self._loop is None:
            return
        self._call(self._stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        assert self._thread is not None
        self._thread.join(10)
        self._loop.close()
        self._loop = None

    def _call(self, coro: Any) -> Any:
        assert self._loop is not None
        fut: Future[Any] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return fut.result(30)

    def set_value(self, name: str, value: Any, vtype: ua.VariantType = ua.VariantType.Double) -> None:
        async def go() -> None:
            assert self._server is not None
            await self._server.get_node(self.node_id(name)).write_value(ua.Variant(value, vtype))
        self._call(go())

    async def _stop(self) -> None:
        if self._server is not None:
            # Stop listening *first*: asyncua's stop() closes the client transports before the listening
            # socket, so a client that reconnects in between gets accepted and stop() then waits for it.
            listener = getattr(self._server.bserver, "_server", None)
            if listener is not None:
                listener.close()
            await self._server.stop()
            self._server = None

    async def _start(self) -> None:
        o = self.options
        server = Server(user_manager=_Users(o.users) if o.users else None)
        await server.init()
        server.set_endpoint(self.endpoint)
        server.set_server_name("factorypilot test plant")
        if o.cert_dir is not None:
            cert, key = await make_certificates(o.cert_dir, "server", server=True)
            await server.set_application_uri("urn:factorypilot:server")
            await server.load_certificate(str(cert))
            await server.load_private_key(str(key))
            self.server_cert = cert
            policies = [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt, ua.SecurityPolicyType.Basic256Sha256_Sign]
            if not o.secure_only:
                policies.insert(0, ua.SecurityPolicyType.NoSecurity)
            server.set_security_policy(policies)
        if o.users:
            server.set_identity_tokens([ua.UserNameIdentityToken])
        idx = await server.register_namespace(NS_URI)
        assert idx == 2
        parent = server.nodes.objects
        for i, name in enumerate(["대구정밀", "대구공장", "가공동", "1라인", o.machine]):
            parent = await parent.add_object(ua.NodeId(f"{o.machine}.Asset{i}", idx), ua.QualifiedName(name, idx))
        cnc = parent

        async def var(name: str, value: Any, vtype: ua.VariantType, *, ko: str, en: str, unit: str | None = None,
                      rng: tuple[float, float] | None = None, writable: bool = False) -> Any:
            node = await cnc.add_variable(ua.NodeId(f"{o.machine}.{name}", idx), ua.QualifiedName(name, idx),
                                          ua.Variant(value, vtype))
            await node.write_attribute(ua.AttributeIds.DisplayName,
                                       ua.DataValue(ua.Variant(ua.LocalizedText(ko, "ko-KR"))))
            await node.write_attribute(ua.AttributeIds.Description,
                                       ua.DataValue(ua.Variant(ua.LocalizedText(en, "en-US"))))
            if unit is not None:
                eu = ua.EUInformation(NamespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
                                      UnitId=-1, DisplayName=ua.LocalizedText(unit), Description=ua.LocalizedText(unit))
                await node.add_property(ua.NodeId(f"{o.machine}.{name}.EU", idx),
                                        ua.QualifiedName("EngineeringUnits", 0),
                                        ua.Variant(eu, ua.VariantType.ExtensionObject))
            if rng is not None:
                await node.add_property(ua.NodeId(f"{o.machine}.{name}.EURange", idx), ua.QualifiedName("EURange", 0),
                                        ua.Variant(ua.Range(rng[0], rng[1]), ua.VariantType.ExtensionObject))
            if writable:
                await node.set_writable()
            return node

        await var("SpindleSpeed", 1500.0, ua.VariantType.Double, ko="주축 속도", en="Spindle speed", unit="rpm",
                  rng=(0, 12000), writable=True)
        vib = await var("Vibration", 2.5, ua.VariantType.Double, ko="주축 진동", en="Spindle vibration", unit="mm/s")
        await var("FeedOverride", 100.0, ua.VariantType.Double, ko="이송 오버라이드", en="Feed override", unit="%",
                  rng=(0, 120), writable=True)
        await var("Running", True, ua.VariantType.Boolean, ko="가동 중", en="Running", writable=True)
        await var("PartCount", 0, ua.VariantType.Int32, ko="생산 수량", en="Part count", writable=True)
        await var("Program", "O1000", ua.VariantType.String, ko="가공 프로그램", en="Program", writable=True)

        def reset(parent: Any, level: Any) -> list[ua.Variant]:
            return [ua.Variant(level.Value == 1, ua.VariantType.Boolean)]

        await cnc.add_method(ua.NodeId(f"{o.machine}.Reset", idx), ua.QualifiedName("Reset", idx), reset,
                             [ua.VariantType.Int32], [ua.VariantType.Boolean])
        if o.bulk:
            bulk = await cnc.add_folder(ua.NodeId(f"{o.machine}.Bulk", idx), ua.QualifiedName("Bulk", idx))
            for i in range(o.bulk):
                await bulk.add_variable(ua.NodeId(f"{o.machine}.Bulk.B{i:04d}", idx),
                                        ua.QualifiedName(f"B{i:04d}", idx), float(i))
        await server.start()
        await server.historize_node_data_change(vib, period=None, count=1000)
        start = datetime.now(UTC) - timedelta(seconds=o.history_points)
        for i in range(o.history_points):
            await vib.write_value(ua.DataValue(ua.Variant(2.0 + i / 10, ua.VariantType.Double),
                                               SourceTimestamp=start + timedelta(seconds=i)))
        self._server = server


@contextlib.contextmanager
def running_test_plant(options: PlantOptions | None = None) -> Iterator[OpcUaTestPlant]:
    plant = OpcUaTestPlant(options or PlantOptions()).start()
    try:
        yield plant
    finally:
        plant.stop()
