"""Foreign test plants for ``template map``: a plant described in JSON, served over OPC UA.

The mapper must be judged on plants the templates were *not* written against. A plant description
(``tests/pilots/spreading/plants/plant_*.json``) lists objects (with a type name), variables (browse name, Korean
display name, data type, value and a little deterministic movement, unit as a UN/CEFACT code and/or text,
EURange, writability) and methods (input arguments and what a call changes). The same description is served
by asyncua (:func:`serving_plant`, in a background thread) or by node-opcua, another stack
(:func:`serving_node_plant`, a ``node`` subprocess on a free port). Each plant comes with an answer key
(``plant_*.answers.yaml``) that the tests and ``benchmarks/template_mapping.py`` score against.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import socket
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from asyncua import ua
from asyncua.common.node import Node
from asyncua.server.server import Server
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds

__all__ = ["NODE_OPCUA_VERSION", "PlantServer", "free_port", "load_plant", "node_modules", "serving_node_plant",
           "serving_plant"]

NODE_OPCUA_VERSION = "2.186.4"
_UNECE = "http://www.opcfoundation.org/UA/units/un/cefact"
_VT = {"Double": ua.VariantType.Double, "Int32": ua.VariantType.Int32, "Boolean": ua.VariantType.Boolean,
       "String": ua.VariantType.String}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def load_plant(path: Path) -> dict[str, Any]:
    return cast(dict[str, Any], json.loads(Path(path).read_text(encoding="utf-8")))


def _unit_id(code: str) -> int:
    uid = 0
    for ch in code.upper()[:3]:
        uid = (uid << 8) | ord(ch)
    return uid


def _nid(ns: int, ident: str) -> ua.NodeId:
    return ua.NodeId.from_string(f"ns={ns};{ident}")


def _text(display: dict[str, str] | None, fallback: str) -> ua.LocalizedText:
    if display and display.get("ko"):
        return ua.LocalizedText(display["ko"], "ko-KR")
    return ua.LocalizedText(fallback, "en-US")


@dataclass
class PlantServer:
    """A running foreign plant: its endpoint and a handle to change values from the plant's side."""

    endpoint: str
    description: dict[str, Any]
    _set: Any = None
    _get: Any = None
    _user_writable: Any = None
    notes: list[str] = field(default_factory=list)

    def set(self, ident: str, value: Any) -> None:
        """Set a variable (identifier without namespace, e.g. ``i=1003``) as the plant would (a fault)."""
        if self._set is None:
            raise RuntimeError("this plant server cannot be driven from the test")
        self._set(ident, value)

    def user_writable(self, ident: str, writable: bool) -> None:
        """Let the plant's users write the variable, or not (UserAccessLevel), as an administrator would."""
        if self._user_writable is None:
            raise RuntimeError("this plant server cannot be driven from the test")
        self._user_writable(ident, writable)

    def get(self, ident: str) -> Any:
        if self._get is None:
            raise RuntimeError("this plant server cannot be read from the test")
        return self._get(ident)


class _AsyncuaPlant:
    def __init__(self, desc: dict[str, Any], port: int) -> None:
        self.desc, self.port = desc, port
        self.server = Server()
        self.ns = 0
        self.nodes: dict[str, Node] = {}
        self.types: dict[str, ua.VariantType] = {}
        self.moving: list[dict[str, Any]] = []
        self.tick = 0

    async def start(self) -> None:
        await self.server.init()
        self.server.set_endpoint(f"opc.tcp://127.0.0.1:{self.port}")
        self.server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        self.ns = await self.server.register_namespace(self.desc["namespace"])
        types: dict[str, ua.NodeId] = {}
        for obj in self.desc["objects"]:
            await self._object(self.server.nodes.objects, obj, types)
        await self.server.start()

    async def _object(self, parent: Node, o: dict[str, Any], types: dict[str, ua.NodeId]) -> None:
        tname = o.get("type") or "Folder"
        nid = _nid(self.ns, o["id"])
        if tname == "Folder":
            node = await parent.add_folder(nid, ua.QualifiedName(o["browse"], self.ns))
        else:
            if tname not in types:
                t = await self.server.nodes.base_object_type.add_object_type(self.ns, tname)
                types[tname] = t.nodeid
            node = await parent.add_object(nid, ua.QualifiedName(o["browse"], self.ns), objecttype=types[tname])
        await node.write_attribute(AttributeIds.DisplayName, ua.DataValue(ua.Variant(
            _text(o.get("display"), o["browse"]), ua.VariantType.LocalizedText)))
        for v in o.get("variables", []):
            await self._variable(node, v)
        for m in o.get("methods", []):
            await self._method(node, m)
        for c in o.get("children", []):
            await self._object(node, c, types)

    async def _variable(self, parent: Node, v: dict[str, Any]) -> None:
        vt = _VT[v["type"]]
        nid = _nid(self.ns, v["id"])
        qn = ua.QualifiedName(v["browse"], self.ns)
        val = ua.Variant(v["value"], vt)
        node = await parent.add_variable(nid, qn, val)  # (asyncua's helper makes BaseDataVariableType only)
        await node.write_attribute(AttributeIds.DisplayName, ua.DataValue(ua.Variant(
            _text(v.get("display"), v["browse"]), ua.VariantType.LocalizedText)))
        if v.get("writable"):
            await node.set_writable()
            if v.get("user_writable") is False:  # the plant's users may not write it (a viewer login)
                await self.user_writable(v["id"], False, node)
        if v.get("unit"):
            u = v["unit"]
            eu = ua.EUInformation(NamespaceUri=_UNECE, UnitId=_unit_id(u["code"]) if u.get("code") else -1,
                                  DisplayName=ua.LocalizedText(u.get("text") or ""),
                                  Description=ua.LocalizedText(u.get("text") or ""))
            await node.add_property(self.ns, "EngineeringUnits", ua.Variant(eu, ua.VariantType.ExtensionObject))
        if v.get("range"):
            lo, hi = v["range"]
            await node.add_property(self.ns, "EURange", ua.Variant(ua.Range(Low=float(lo), High=float(hi)),
                                                                  ua.VariantType.ExtensionObject))
        self.nodes[v["id"]] = node
        self.types[v["id"]] = vt
        if v.get("noise") or v.get("count"):
            self.moving.append(v)

    async def _method(self, parent: Node, m: dict[str, Any]) -> None:
        effect = m.get("effect") or {}

        async def call(_parent: ua.NodeId, *args: ua.Variant) -> list[ua.Variant]:
            for ident, value in (effect.get("set") or {}).items():
                await self.write(ident, value)
            if effect.get("arg_to") and args:
                await self.write(effect["arg_to"], args[0].Value)
            return []

        inputs = [ua.Argument(Name=a["name"], DataType=ua.NodeId(getattr(ObjectIds, a["type"])), ValueRank=-1,
                              Description=ua.LocalizedText(a.get("description", ""))) for a in m["inputs"]]
        node = await parent.add_method(_nid(self.ns, m["id"]), ua.QualifiedName(m["browse"], self.ns), call,
                                       inputs, [])
        await node.write_attribute(AttributeIds.DisplayName, ua.DataValue(ua.Variant(
            _text(m.get("display"), m["browse"]), ua.VariantType.LocalizedText)))
        if m.get("description"):
            await node.write_attribute(AttributeIds.Description, ua.DataValue(ua.Variant(
                ua.LocalizedText(m["description"]), ua.VariantType.LocalizedText)))

    async def user_writable(self, ident: str, writable: bool, node: Node | None = None) -> None:
        level = ua.AccessLevel.CurrentRead.mask | (ua.AccessLevel.CurrentWrite.mask if writable else 0)
        await (node or self.nodes[ident]).write_attribute(
            AttributeIds.UserAccessLevel, ua.DataValue(ua.Variant(level, ua.VariantType.Byte)))

    async def write(self, ident: str, value: Any) -> None:
        vt = self.types[ident]
        if vt is ua.VariantType.Double:
            value = float(value)
        elif vt is ua.VariantType.Int32:
            value = int(value)
        await self.nodes[ident].write_value(ua.Variant(value, vt))

    async def move(self, stop: asyncio.Event) -> None:
        """A slow deterministic triangle around each nominal value; counters count (so values look alive)."""
        pinned: set[str] = set()
        self.pinned = pinned
        while not stop.is_set():
            self.tick += 1
            for v in self.moving:
                if v["id"] in pinned:
                    continue
                if v.get("count"):
                    await self.write(v["id"], v["value"] + self.tick)
                else:
                    await self.write(v["id"], v["value"] + v["noise"] * (((self.tick % 8) - 4) / 4))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.1)


@contextlib.contextmanager
def serving_plant(path: Path) -> Iterator[PlantServer]:
    """Serve the plant described in ``path`` with asyncua on 127.0.0.1 (background thread, free port)."""
    desc = load_plant(path)
    plant = _AsyncuaPlant(desc, free_port())
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    failure: list[BaseException] = []
    stop: asyncio.Event | None = None

    def run() -> None:
        nonlocal stop
        asyncio.set_event_loop(loop)

        async def main() -> None:
            nonlocal stop
            stop = asyncio.Event()
            try:
                await plant.start()
            except BaseException as exc:  # reported to the caller below
                failure.append(exc)
                ready.set()
                return
            ready.set()
            try:
                await plant.move(stop)
            finally:
                await plant.server.stop()

        loop.run_until_complete(main())

    thread = threading.Thread(target=run, name=f"plant-{desc['name']}", daemon=True)
    thread.start()
    ready.wait(60)
    if failure:
        raise failure[0]

    def setter(ident: str, value: Any) -> None:
        async def go() -> None:
            plant.pinned.add(ident)
            await plant.write(ident, value)

        asyncio.run_coroutine_threadsafe(go(), loop).result(30)

    def getter(ident: str) -> Any:
        async def go() -> Any:
            return await plant.nodes[ident].read_value()

        return asyncio.run_coroutine_threadsafe(go(), loop).result(30)

    def user_writable(ident: str, writable: bool) -> None:
        asyncio.run_coroutine_threadsafe(plant.user_writable(ident, writable), loop).result(30)

    try:
        yield PlantServer(f"opc.tcp://127.0.0.1:{plant.port}", desc, setter, getter, user_writable)
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set)
        thread.join(60)
        loop.close()


def node_modules() -> Path | None:
    """Where node-opcua is installed (``FACTORYPILOT_NODE_MODULES``, else the cache ``.ci/run`` fills)."""
    env = os.environ.get("FACTORYPILOT_NODE_MODULES")
    candidates = [Path(env)] if env else []
    candidates.append(Path.home() / ".cache" / "factorypilot" / f"node-opcua-{NODE_OPCUA_VERSION}" / "node_modules")
    return next((c for c in candidates if (c / "node-opcua").is_dir()), None)


@contextlib.contextmanager
def serving_node_plant(path: Path, script: Path) -> Iterator[PlantServer]:
    """Serve the plant with node-opcua (``node script plant.json port``); ``RuntimeError`` if node is missing."""
    node, modules = shutil.which("node"), node_modules()
    if node is None or modules is None:
        raise RuntimeError("node or node-opcua is not installed (bash .ci/run installs node-opcua "
                           f"{NODE_OPCUA_VERSION} into ~/.cache/factorypilot)")
    port = free_port()
    proc = subprocess.Popen([node, str(script), str(path), str(port)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "NODE_PATH": str(modules)})
    try:
        assert proc.stdout is not None
        seen: list[str] = []
        line = ""
        while not line.startswith("READY"):  # node-opcua prints notices first
            line = proc.stdout.readline()
            if not line:  # the process ended before it was ready
                proc.wait(20)
                err = proc.stderr.read() if proc.stderr else ""
                raise RuntimeError(f"node-opcua plant did not start: {''.join(seen)[-1000:]}{err[-2000:]}")
            seen.append(line)
        yield PlantServer(line.split()[1], load_plant(path))
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        for stream in (proc.stdin, proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()
