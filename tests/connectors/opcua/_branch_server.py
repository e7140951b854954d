"""A small asyncua server whose one alarm condition has a *branch* (OPC UA Part 9 §4.4, BranchId not null).

asyncua's own ConditionRefresh keeps one retained event per ConditionId (a branch would overwrite its main
branch), so this server answers ConditionRefresh itself: RefreshStart, the last event of every retained
branch (main and branches, as sent), RefreshEnd. Acknowledge is bound on the condition: the EventId says which
branch is acknowledged (``BadEventIdUnknown`` for any other); an acknowledged, inactive branch is deleted
(Retain false). ``forget_on_ack``: the server drops the whole condition at the moment it is acknowledged
(node deleted, not retained), and ``silent`` sends no event for that — the case where only the ack event
(or nothing) can say what happened. ``stale_node``: the condition node's variables say AckedState/Id true with
an EventId of their own, never updated (a server that exposes its condition but does not keep it);
``lose_ack``: Acknowledge answers Good but changes nothing and sends no event; ``ack_not_kept``: the condition
node's EventId, ActiveState/Id, Retain and Severity follow the main branch's last event, its AckedState/Id stays
false (a node kept by half).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, cast

from asyncua import Server, ua
from asyncua.common.node import Node
from asyncua.ua.object_ids import ObjectIds
from asyncua.ua.status_codes import StatusCodes

__all__ = ["BranchServer"]


@dataclass
class _Branch:
    branch_id: ua.NodeId | None
    active: bool = True
    acked: bool = False
    severity: int = 600
    message: str = "윤활 압력 저하 (코드 2201)"
    event_id: bytes = b""
    retain: bool = True
    last: Any = None
    comments: list[str] = field(default_factory=list)


class BranchServer:
    def __init__(self, *, forget_on_ack: bool = False, silent: bool = False, stale_node: bool = False,
                 lose_ack: bool = False, ack_not_kept: bool = False) -> None:
        self.server = Server()
        self.forget_on_ack, self.silent = forget_on_ack, silent
        self.stale_node, self.lose_ack, self.ack_not_kept = stale_node, lose_ack, ack_not_kept
        self.branches: dict[str | None, _Branch] = {}
        self.calls = 0
        self.cid = ua.NodeId()
        self._gens: dict[str | None, Any] = {}
        self._cond: Node | None = None

    @property
    def endpoint(self) -> str:
        port = self.server.bserver._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"opc.tcp://127.0.0.1:{port}/branch/"

    async def __aenter__(self) -> BranchServer:
        s = self.server
        s.iserver.bind_condition_methods = True
        await s.init()
        s.set_endpoint("opc.tcp://127.0.0.1:0/branch/")
        idx = await s.register_namespace("urn:factorypilot:branch-test")
        self.source = await s.nodes.objects.add_variable(ua.NodeId("Press.OilPressure", idx), "OilPressure", 4.2)
        self.cid = ua.NodeId("Press.LubeAlarm", idx)
        self._cond = await s.nodes.server.add_object(self.cid, ua.QualifiedName("LubeAlarm", idx),
                                                     objecttype=ObjectIds.OffNormalAlarmType)
        for method in (ObjectIds.AcknowledgeableConditionType_Acknowledge,):
            s.link_method(s.get_node(ua.NodeId(cast(ua.Int32, method))), self._acknowledge)
        s.link_method(await self._cond.get_child("0:Acknowledge"), self._acknowledge)
        if self.stale_node:
            await (await self._cond.get_child(["0:AckedState", "0:Id"])).write_value(True)
            await (await self._cond.get_child("0:EventId")).write_value(
                ua.Variant(b"left-behind", ua.VariantType.ByteString))
        s.iserver.aspace.add_method_callback(ua.NodeId(cast(ua.Int32, ObjectIds.ConditionType_ConditionRefresh)),
                                             self._refresh)
        await s.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.server.stop()

    async def emit(self, key: str | None, **state: Any) -> _Branch:
        """Create or change branch ``key`` (None: the main branch) and send its event."""
        b = self.branches.get(key)
        if b is None:
            b = self.branches[key] = _Branch(None if key is None else ua.NodeId.from_string(key))
            gen = await self.server.get_event_generator(ObjectIds.OffNormalAlarmType, ObjectIds.Server)
            ev = gen.event
            ev.NodeId, ev.SourceNode, ev.SourceName = self.cid, self.source.nodeid, "OilPressure"
            ev.ConditionName = "LubeAlarm"
            ev.BranchId = b.branch_id if b.branch_id is not None else ua.NodeId()
            self._gens[key] = gen
        for k, v in state.items():
            setattr(b, k, v)
        b.retain = b.active or not b.acked
        await self._send(key, b)
        return b

    async def _send(self, key: str | None, b: _Branch) -> None:
        gen = self._gens[key]
        ev = gen.event
        ev.Message = ua.LocalizedText(b.message, "ko-KR")
        ev.Severity, ev.Retain = b.severity, b.retain
        setattr(ev, "ActiveState/Id", b.active)
        setattr(ev, "AckedState/Id", b.acked)
        setattr(ev, "ConfirmedState/Id", True)
        await gen.trigger()
        b.event_id = bytes(ev.EventId.Value if isinstance(ev.EventId, ua.Variant) else ev.EventId)
        b.last = copy.deepcopy(ev)
        if self.ack_not_kept and key is None and self._cond is not None:
            for path, variant in ((["0:AckedState", "0:Id"], ua.Variant(False, ua.VariantType.Boolean)),
                                  (["0:ActiveState", "0:Id"], ua.Variant(b.active, ua.VariantType.Boolean)),
                                  (["0:Retain"], ua.Variant(b.retain, ua.VariantType.Boolean)),
                                  (["0:Severity"], ua.Variant(b.severity, ua.VariantType.UInt16)),
                                  (["0:EventId"], ua.Variant(b.event_id, ua.VariantType.ByteString))):
                await (await self._cond.get_child(path)).write_value(variant)

    async def _refresh(self, parent: ua.NodeId, subscription_id: ua.Variant, *rest: Any) -> list[ua.Variant]:
        svc = self.server.iserver.subscription_service
        sid = int(subscription_id.Value)
        sub = svc.subscriptions[sid]
        await svc.standard_events[ObjectIds.RefreshStartEventType].trigger(subscription_id=sid)
        for b in self.branches.values():
            if b.retain and b.last is not None:
                await sub.monitored_item_srv.trigger_event(b.last)
        await svc.standard_events[ObjectIds.RefreshEndEventType].trigger(subscription_id=sid)
        return []

    async def _acknowledge(self, parent: ua.NodeId, event_id: Any = None, comment: Any = None) -> Any:
        self.calls += 1
        eid = event_id.Value if isinstance(event_id, ua.Variant) else event_id
        text = comment.Value if isinstance(comment, ua.Variant) else comment
        key = next((k for k, b in self.branches.items() if b.retain and b.event_id == eid), "missing")
        if key == "missing":
            return ua.StatusCode(cast(ua.UInt32, StatusCodes.BadEventIdUnknown))
        b = self.branches[key]
        if b.acked:
            return ua.StatusCode(cast(ua.UInt32, StatusCodes.BadConditionBranchAlreadyAcked))
        b.comments.append(text.Text if isinstance(text, ua.LocalizedText) else str(text))
        if self.lose_ack:
            return []
        if self.forget_on_ack:
            b.acked, b.retain = True, False
            if not self.silent:
                await self._send(key, b)
            if self._cond is not None:
                await self.server.delete_nodes([self._cond], recursive=True)
                self._cond = None
            return []
        await self.emit(key, acked=True)
        return []
