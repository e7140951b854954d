"""``PlantSimulator``: a deterministic plant behind a real asyncua server."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from pathlib import Path
from types import TracebackType
from typing import Any

from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds

from factorypilot.connectors.opcua import quiet_asyncua
from factorypilot.errors import ConfigError, ConnectionError_, FactoryPilotError, NodeNotFoundError
from factorypilot.vocabulary import Scalar

from ._address_space import NodeLayout, variant
from ._alarms import PlantAlarms
from ._engine import PlantEngine
from ._faults import Fault
from ._model import MethodSpec, PlantModel
from ._opcua import History, ServerOptions, build_server, datavalue
from ._registry import resolve_model
from ._security import CertificatePaths, generate_certificates

__all__ = ["PlantSimulator"]

_log = logging.getLogger(__name__)


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


class PlantSimulator:
    """A simulated plant served over OPC UA. ``async with PlantSimulator() as sim:`` starts it.

    With ``realtime=False`` nothing moves until ``await sim.step(n)``; with ``realtime=True`` a task ticks
    every ``tick_seconds``. Values depend only on ``seed``, the tick index, injected faults and accepted
    client writes. ``scale=N`` replicates the model's line N times (roles ``lineKK_<role>`` for k > 1).
    """

    def __init__(self, model: str | PlantModel | type[PlantModel] = "mobility", *, seed: int = 0,
                 host: str = "127.0.0.1", port: int = 0, tick_seconds: float = 0.1, realtime: bool = True,
                 secure: bool = False, cert_dir: Path | None = None, users: dict[str, str] | None = None,
                 allow_anonymous: bool = True, scale: int = 1, offer_none: bool = False,
                 history_size: int = 10_000, first_line: int = 0) -> None:
        if tick_seconds <= 0:
            raise ConfigError(f"tick_seconds must be > 0, got {tick_seconds}", where="tick_seconds")
        if not 0 <= port <= 65535:
            raise ConfigError(f"port {port} is not a TCP port", where="--port",
                              hint="choose 1..65535 (e.g. 4840), or 0 for a free one")
        cls = resolve_model(model)
        self.engine = PlantEngine(cls, seed=seed, scale=scale, first=model if isinstance(model, PlantModel) else None,
                                  first_line=first_line)
        self.model_name = cls.name
        self.seed = seed
        self.host = host
        self.port = port
        self.tick_seconds = tick_seconds
        self.realtime = realtime
        self.certificates: CertificatePaths | None = None
        if secure:
            if cert_dir is None:
                raise ConfigError("secure=True needs a certificate directory", where="cert_dir",
                                  hint="pass cert_dir=Path(...); certificates are generated there if missing")
            self.certificates = generate_certificates(cert_dir)
        self._secure = secure
        self._offer_none = offer_none
        self._users = users
        self._allow_anonymous = allow_anonymous
        self._history = History(history_size)
        self.alarms = PlantAlarms(self.engine, history=self._history)
        self._server: Server | None = None
        self._layout: NodeLayout | None = None
        self._ticker: asyncio.Task[None] | None = None
        self._comms_down = False
        self._lock = asyncio.Lock()
        ServerOptions(endpoint="", secure=secure, offer_none=offer_none, certs=self.certificates, users=users,
                      allow_anonymous=allow_anonymous)  # validate early

    # -- identity ----------------------------------------------------------------------------------
    @property
    def endpoint(self) -> str:
        if self.port == 0:
            raise ConnectionError_("the simulator has no port yet", where="PlantSimulator.endpoint",
                                   hint="start it first (`async with sim:` or `await sim.start()`)")
        return f"opc.tcp://{self.host}:{self.port}/factorypilot/{self.model_name}"

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def tick_index(self) -> int:
        return self.engine.tick_index

    @property
    def write_log(self) -> list[tuple[int, str, Scalar]]:
        """(tick, role, value) of every client write the server accepted, in order."""
        return self.engine.write_log

    @property
    def method_log(self) -> list[tuple[int, str, tuple[Scalar, ...]]]:
        return self.engine.method_log

    @property
    def models(self) -> list[PlantModel]:
        return self.engine.models

    @property
    def namespace_uri(self) -> str:
        return f"urn:factorypilot:simulator:{self.model_name}"

    def roles(self) -> dict[str, str]:
        """Role → node id string (``ns=2;s=mobility.line-01.cnc-01.spindle_vibration``)."""
        return {role: self.node_id(role) for role in self.engine.signals}

    def method_ids(self) -> dict[str, str]:
        """Method name → node id string of the first line's methods (``ResetFault`` → ``ns=2;s=...ResetFault``).

        Available while the server runs (method nodes are laid out when it starts)."""
        if self._layout is None:
            return {}
        return {spec.name: nid.to_string() for nid, (unit, spec) in self._layout.methods.items() if unit == 0}

    def node_id(self, role: str) -> str:
        if role not in self.engine.signals:
            raise NodeNotFoundError(f"no role {role!r} in model {self.model_name!r}", where=self.model_name,
                                    hint=f"known roles: {', '.join(list(self.engine.signals)[:20])}")
        if self._layout is not None:
            return self._layout.node_str(role)
        unit = self.engine.unit_of[role]
        sig = self.engine.signals[role]
        cls = self.engine.cls
        line = self.engine.line_key(unit)
        path = f"{cls.name}.{line}." + (f"{sig.equipment}." if sig.equipment else "") + sig.role
        return f"ns=2;s={path}"

    def value(self, role: str) -> Scalar:
        """The value the server publishes for ``role`` now."""
        if role not in self.engine.published:
            raise NodeNotFoundError(f"no role {role!r} in model {self.model_name!r}", where=self.model_name)
        return self.engine.published[role]

    # -- faults ------------------------------------------------------------------------------------
    def inject(self, fault: Fault) -> None:
        """Add a fault; it acts from ``max(fault.start_tick, tick_index)``."""
        self.engine.inject(fault)

    def clear_faults(self) -> None:
        self.engine.clear_faults()

    @property
    def faults(self) -> list[Fault]:
        return self.engine.plan.active

    # -- life cycle --------------------------------------------------------------------------------
    async def __aenter__(self) -> PlantSimulator:
        await self.start()
        return self

    async def __aexit__(self, et: type[BaseException] | None, e: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self.stop()

    async def start(self) -> None:
        """Start serving (same port as before after a stop) and, if realtime, ticking."""
        async with self._lock:
            await self._start_server()
        if self.realtime and self._ticker is None:
            self._ticker = asyncio.create_task(self._run(), name=f"simulator-{self.model_name}")

    async def stop(self) -> None:
        """Stop ticking and serving. The plant state, history and port are kept for :meth:`start`."""
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        async with self._lock:
            await self._stop_server()
        self._comms_down = False

    async def _start_server(self) -> None:
        if self._server is not None:
            return
        if self.port == 0:
            self.port = _free_port(self.host)
        opts = ServerOptions(endpoint=self.endpoint, secure=self._secure, offer_none=self._offer_none,
                             certs=self.certificates, users=self._users, allow_anonymous=self._allow_anonymous)
        server, layout = await build_server(self.engine, opts, self._history, self._on_client_write,
                                            self._run_method)
        quiet_asyncua()
        try:
            await server.start()
        except OSError as exc:
            raise ConnectionError_(f"cannot listen on {self.host}:{self.port}: {exc}", where=self.endpoint,
                                   hint="choose another --port (or port=0 for a free one)") from exc
        self._server, self._layout = server, layout
        await self.alarms.attach(server, layout)
        now_values = [(layout.variables[r], self.engine.signals[r], v) for r, v in self.engine.published.items()]
        for nid, sig, value in now_values:
            if sig.historize:
                await self._history.save_node_value(nid, datavalue(variant(sig.data_type, value)))
        _log.info("simulator %s serving %d signals at %s", self.model_name, len(layout.variables), self.endpoint)

    async def _stop_server(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            # asyncua's clock task sleeps 1 s between updates and stop() waits for it; cancel it instead
            clock = server.iserver.time_task
            if clock is not None:
                clock.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await clock
                server.iserver.time_task = None
            # Stop listening first: asyncua's stop() closes client transports before the listening socket, and a
            # client that reconnects in between can make stop() hang.
            listener = getattr(getattr(server, "bserver", None), "_server", None)
            if listener is not None:
                listener.close()
            await server.stop()

    # -- ticking -----------------------------------------------------------------------------------
    async def step(self, n: int = 1) -> None:
        """Advance ``n`` ticks now (deterministic; meant for ``realtime=False``)."""
        for _ in range(n):
            await self._tick()

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time()
        while True:
            try:
                await self._tick()
            except (FactoryPilotError, OSError) as exc:  # e.g. the port was taken during a comms drop
                _log.error("simulator tick %d failed: %s", self.engine.tick_index, exc)
            deadline += self.tick_seconds
            await asyncio.sleep(max(0.0, deadline - loop.time()))

    async def _tick(self) -> None:
        async with self._lock:
            changed, effects = self.engine.tick()
            if effects.comms_down and not self._comms_down:
                self._comms_down = True
                _log.info("simulator comms drop at tick %d", self.engine.tick_index - 1)
                await self._stop_server()
            elif not effects.comms_down and self._comms_down:
                await self._start_server()  # if this fails, the next tick tries again
                self._comms_down = False
                return  # the new address space already carries every current value
            await self._publish(changed)

    async def _publish(self, changed: dict[str, Scalar]) -> None:
        if self._server is None or self._layout is None or not changed:
            return
        aspace = self._server.iserver.aspace
        for role, value in changed.items():
            sig = self.engine.signals[role]
            nid = self._layout.variables[role]
            dv = datavalue(variant(sig.data_type, value))
            await aspace.write_attribute_value(nid, AttributeIds.Value, dv)
            if sig.historize:
                await self._history.save_node_value(nid, dv)
        await self.alarms.on_change(changed)

    # -- client side effects (run on the server's loop) --------------------------------------------
    async def _on_client_write(self, role: str, value: Scalar) -> None:
        self.engine.apply_write(role, value)
        if self._layout is not None and self.engine.signals[role].historize:
            sig = self.engine.signals[role]
            await self._history.save_node_value(self._layout.variables[role],
                                                datavalue(variant(sig.data_type, value)))

    async def _run_method(self, unit: int, spec: Any, args: tuple[Scalar, ...]) -> tuple[Scalar, bool]:
        assert isinstance(spec, MethodSpec)
        out, changed = self.engine.call(unit, spec, args)
        await self._publish(changed)
        return out, spec.output is not None
