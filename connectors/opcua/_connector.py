"""``OpcUaConnector``: browse, batched read, sharded subscriptions with gaps, history, writes, methods."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar, cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua import uaerrors
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds

from factorypilot.connectors._events import EventFilter
from factorypilot.connectors.base import BaseConnector, Capability, Health
from factorypilot.connectors.opcua import _ack, _services
from factorypilot.connectors.opcua._browse import PlantStructure, browse_variables, chunks
from factorypilot.connectors.opcua._condition import ConditionRead, read_condition
from factorypilot.connectors.opcua._config import OpcUaConfig
from factorypilot.connectors.opcua._event_history import event_history
from factorypilot.connectors.opcua._events import merge_alarm_streams
from factorypilot.connectors.opcua._session import close_client, map_error, open_client, safe_url
from factorypilot.connectors.opcua._subscribe import ShardPlan, subscribe_shards
from factorypilot.connectors.opcua._values import sample_from, status_name
from factorypilot.errors import ConfigError, NodeNotFoundError
from factorypilot.vocabulary import AlarmEvent, Gap, Sample, Scalar, Tag

__all__ = ["OpcUaConnector"]

_log = logging.getLogger("factorypilot.connectors.opcua")
T = TypeVar("T")
_NOT_FOUND = {"BadNodeIdUnknown", "BadNodeIdInvalid"}
_ERRORS = (OSError, ConnectionError, asyncio.TimeoutError, uaerrors.UaError)


class OpcUaConnector(BaseConnector[OpcUaConfig]):
    """An OPC UA plant (one endpoint, or several for a sharded plant).

    ``async with OpcUaConnector(OpcUaConnector.Config(endpoint="opc.tcp://host:4840")) as c: ...``
    Tag ids are NodeId strings (``ns=2;s=CNC1.Speed``).
    """

    name = "opcua"
    Config = OpcUaConfig
    capabilities = frozenset({Capability.BROWSE, Capability.READ, Capability.SUBSCRIBE, Capability.HISTORY,
                              Capability.WRITE, Capability.METHOD, Capability.EVENTS, Capability.ACKNOWLEDGE})

    def __init__(self, config: OpcUaConfig) -> None:
        super().__init__(config)
        self._clients: dict[str, Client] = {}
        self._owner: dict[str, str] = {}
        self._tags: dict[str, Tag] = {}
        self._vtypes: dict[str, ua.VariantType] = {}
        self._nodes: dict[str, ua.NodeId] = {}  # parsed node ids (parsing costs more than a Read of one value)
        self.structure = PlantStructure()  # filled by browse(): object/variable types, unit codes, methods
        self.condition_reads: Counter[ConditionRead] = Counter()
        """how many alarm reads the condition's variables answered, and how many a ConditionRefresh"""

    # -- lifecycle ---------------------------------------------------------------------------------
    async def _connect(self) -> None:
        urls = self.config.all_endpoints()
        results = await asyncio.gather(*(open_client(self.config, u) for u in urls), return_exceptions=True)
        errors = [r for r in results if isinstance(r, BaseException)]
        clients = {u: r for u, r in zip(urls, results, strict=True) if isinstance(r, Client)}
        if errors:
            await asyncio.gather(*(close_client(c) for c in clients.values()))
            raise errors[0]
        self._clients = clients
        _log.info("connected to %s", ", ".join(safe_url(u) for u in urls))

    async def _close(self) -> None:
        clients, self._clients = self._clients, {}
        await asyncio.gather(*(close_client(c) for c in clients.values()))

    async def _guard(self, url: str, doing: str, op: Callable[[], Awaitable[T]]) -> T:
        try:
            return await op()
        except _ERRORS as exc:
            raise map_error(exc, url, doing) from exc

    # -- node ids and routing ----------------------------------------------------------------------
    def _parse(self, tag_id: str) -> ua.NodeId:
        node = self._nodes.get(tag_id)
        if node is not None:
            return node
        try:
            node = self._nodes[tag_id] = ua.NodeId.from_string(tag_id)
            return node
        except (ValueError, uaerrors.UaStringParsingError, IndexError) as exc:
            raise NodeNotFoundError(f"{tag_id!r} is not a valid OPC UA node id", where=self._where(),
                                    hint="node ids look like ns=2;s=Line1.Speed or ns=3;i=1001 "
                                         "(list them with 'factorypilot connect browse ENDPOINT')") from exc

    def _where(self, url: str | None = None) -> str:
        return safe_url(url) if url else ", ".join(safe_url(u) for u in self._clients) or "opcua"

    def _not_found(self, tag_id: str, url: str | None = None, status: str = "BadNodeIdUnknown") -> NodeNotFoundError:
        return NodeNotFoundError(f"node {tag_id} does not exist on the server ({status})", where=self._where(url),
                                 hint="check the node id (namespace index and identifier); "
                                      "'factorypilot connect browse ENDPOINT' lists the server's tags")

    async def _route(self, tag_ids: list[str]) -> dict[str, list[int]]:
        """Indices of ``tag_ids`` grouped by the endpoint serving them (probing unknown ids on every endpoint)."""
        urls = list(self._clients)
        groups: dict[str, list[int]] = {u: [] for u in urls}
        if len(urls) == 1:
            groups[urls[0]] = list(range(len(tag_ids)))
            return groups
        unknown = sorted({t for t in tag_ids if t not in self._owner})
        if unknown:
            nodes = [self._parse(t) for t in unknown]
            for url in urls:
                found = await self._probe(url, nodes)
                for tid, dv in zip(unknown, found, strict=True):
                    if tid not in self._owner and (dv.StatusCode is None or dv.StatusCode.is_good()):
                        self._owner[tid] = url
            missing = [t for t in unknown if t not in self._owner]
            if missing:
                raise self._not_found(missing[0])
        for i, tid in enumerate(tag_ids):
            groups[self._owner[tid]].append(i)
        return groups

    async def _probe(self, url: str, nodes: list[ua.NodeId]) -> list[ua.DataValue]:
        client = self._clients[url]
        return await self._guard(url, "locating nodes", lambda: client.uaclient.read_attributes(
            nodes, AttributeIds.NodeClass))

    # -- browse ------------------------------------------------------------------------------------
    async def _browse(self) -> list[Tag]:
        root = self._parse(self.config.browse_root)
        self.structure = structure = PlantStructure()

        async def one(url: str) -> list[Tag]:
            client = self._clients[url]
            ns = await self._namespace_index(url)
            found = await self._guard(url, "browsing", lambda: browse_variables(
                client, root, ns, self.config.read_chunk_size, structure))
            for m in structure.methods:
                self._owner.setdefault(m.node_id, url)
            tags = []
            for var in found:
                assert var.tag is not None
                self._owner[var.tag.id] = url
                self._tags[var.tag.id] = var.tag
                tags.append(var.tag)
            return tags

        per_endpoint = await asyncio.gather(*(one(u) for u in self._clients))
        return [t for tags in per_endpoint for t in tags]

    async def _namespace_index(self, url: str) -> int | None:
        ns = self.config.namespace
        if ns is None or isinstance(ns, int):
            return ns
        if ns.isdigit():
            return int(ns)
        array = await self._guard(url, "reading the namespace array", self._clients[url].get_namespace_array)
        if ns not in array:
            raise ConfigError(f"namespace {ns!r} is not on the server", where=safe_url(url),
                              hint=f"the server's namespaces are: {', '.join(array)}")
        return array.index(ns)

    # -- read --------------------------------------------------------------------------------------
    async def _read(self, tag_ids: list[str]) -> list[Sample]:
        nodes = [self._parse(t) for t in tag_ids]
        groups = await self._route(tag_ids)
        out: list[Sample | None] = [None] * len(tag_ids)

        async def chunk(url: str, idx: Sequence[int]) -> None:
            params = ua.ReadParameters()
            params.TimestampsToReturn = ua.TimestampsToReturn.Both
            params.NodesToRead = [ua.ReadValueId(NodeId=nodes[i], AttributeId=AttributeIds.Value) for i in idx]
            client = self._clients[url]
            values = await self._guard(url, "reading values", lambda: client.uaclient.read(params))
            for i, dv in zip(idx, values, strict=True):
                if dv.StatusCode is not None and not dv.StatusCode.is_good():
                    name = status_name(dv.StatusCode)
                    if name in _NOT_FOUND:
                        raise self._not_found(tag_ids[i], url, name)
                out[i] = sample_from(tag_ids[i], dv)

        await asyncio.gather(*(chunk(url, part) for url, idx in groups.items()
                               for part in chunks(idx, self.config.read_chunk_size)))
        return [s for s in out if s is not None]

    # -- subscribe ---------------------------------------------------------------------------------
    async def _subscribe(self, tag_ids: list[str], period: float) -> AsyncGenerator[Sample | Gap, None]:
        await self._read(tag_ids)  # validates every id (typed NodeNotFoundError) and learns owners
        groups = await self._route(tag_ids)
        plans: list[ShardPlan] = []
        for url, idx in groups.items():
            for n, part in enumerate(chunks(idx, self.config.session_tag_budget)):
                plans.append(ShardPlan(url, [tag_ids[i] for i in part], [self._parse(tag_ids[i]) for i in part],
                                       own_session=n > 0))
        stream = subscribe_shards(plans, period, self._clients, lambda url: open_client(self.config, url))
        try:
            async for item in stream:
                yield item
        finally:
            await stream.aclose()

    # -- alarms & conditions -----------------------------------------------------------------------
    async def _events(self, sources: list[str], filter: EventFilter) -> AsyncGenerator[AlarmEvent | Gap, None]:
        notifiers = [self._parse(s) for s in sources] or [ua.NodeId(cast(ua.Int32, ObjectIds.Server))]
        stream = merge_alarm_streams(self._clients, notifiers, filter)
        try:
            async for item in stream:
                yield item
        finally:
            await stream.aclose()

    async def _alarm_url(self, condition_id: str) -> str:
        """The endpoint holding a condition: the one whose address space has it, else the first."""
        self._parse(condition_id)
        if len(self._clients) == 1:
            return next(iter(self._clients))
        try:
            return next(u for u, idx in (await self._route([condition_id])).items() if idx)
        except NodeNotFoundError:
            return next(iter(self._clients))

    async def _alarm_state(self, condition_id: str, branch_id: str | None) -> AlarmEvent | None:
        return await self._alarm_state_known(condition_id, branch_id, None)

    async def _alarm_state_known(self, condition_id: str, branch_id: str | None,
                                 known_event: str | None) -> AlarmEvent | None:
        url = await self._alarm_url(condition_id)
        client = self._clients[url]
        known = known_event if self.config.condition_reads == "auto" else None
        alarm, how = await self._guard(url, "reading an alarm", lambda: read_condition(
            client, condition_id, self.config.timeout_s, branch_id, known))
        self.condition_reads[how] += 1
        return alarm

    async def _acknowledge(self, condition_id: str, event_id: str, comment: str, *, confirm: bool,
                           branch_id: str | None) -> AlarmEvent | None:
        url = await self._alarm_url(condition_id)
        client = self._clients[url]
        return await self._guard(url, "acknowledging an alarm", lambda: _ack.acknowledge(
            client, condition_id, event_id, comment, confirm=confirm, where=self._where(url), branch_id=branch_id,
            timeout_s=self.config.timeout_s))

    async def _event_history(self, sources: list[str], start: datetime, end: datetime,
                             filter: EventFilter) -> list[AlarmEvent]:
        notifiers = [self._parse(s) for s in sources] or [ua.NodeId(cast(ua.Int32, ObjectIds.Server))]
        out: list[AlarmEvent] = []
        for url in self._clients:
            out += await self._event_history_at(url, notifiers, start, end, filter)
        return sorted(out, key=lambda e: e.time)

    async def _event_history_at(self, url: str, notifiers: list[ua.NodeId], start: datetime, end: datetime,
                                filter: EventFilter) -> list[AlarmEvent]:
        client, where = self._clients[url], self._where(url)
        return await self._guard(url, "reading event history", lambda: event_history(
            client, notifiers, start, end, filter, where))

    # -- history, write, call ----------------------------------------------------------------------
    async def _history(self, tag_ids: list[str], start: datetime, end: datetime) -> list[Sample]:
        groups = await self._route(tag_ids)
        out: list[Sample] = []
        for url, idx in groups.items():
            if idx:
                out += await self._history_at(url, [tag_ids[i] for i in idx], start, end)
        return out

    async def _history_at(self, url: str, ids: list[str], start: datetime, end: datetime) -> list[Sample]:
        client, nodes, where = self._clients[url], [self._parse(t) for t in ids], self._where(url)
        return await self._guard(url, "reading history", lambda: _services.history(
            client, ids, nodes, start, end, where))

    async def _write(self, tag_id: str, value: Scalar) -> None:
        node = self._parse(tag_id)
        url = next(u for u, idx in (await self._route([tag_id])).items() if idx)
        client = self._clients[url]
        await self._guard(url, "writing", lambda: _services.write(
            client, tag_id, node, value, self._vtypes, self._tags.get(tag_id), self._where(url)))

    async def _call(self, object_id: str | None, method_id: str, args: list[Scalar]) -> list[Scalar]:
        method = self._parse(method_id)
        url = next(u for u, idx in (await self._route([method_id])).items() if idx)
        obj = self._parse(object_id) if object_id else None
        client = self._clients[url]
        return await self._guard(url, "calling a method", lambda: _services.call(
            client, method_id, method, obj, args, self._where(url)))

    # -- health ------------------------------------------------------------------------------------
    async def health(self) -> Health:
        if not self._connected:
            return await super().health()
        states: list[str] = []
        ok = True
        for url, client in self._clients.items():
            try:
                state = await asyncio.wait_for(client.nodes.server_state.read_value(), self.config.timeout_s)
                name = ua.ServerState(state).name
            except (*_ERRORS, ValueError) as exc:
                name = f"unreachable ({type(exc).__name__})"
            ok = ok and name == "Running"
            states.append(f"{safe_url(url)}: {name}")
        return Health(ok=ok, connector=self.name, detail="; ".join(states),
                      endpoint=", ".join(safe_url(u) for u in self._clients))

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "endpoints": [safe_url(u) for u in self.config.all_endpoints()],
                "security": f"{self.config.security_policy}/{self.config.security_mode}"}
