"""Reading one alarm's state (OPC UA Part 9, ConditionType / AcknowledgeableConditionType).

Two ways, chosen per read:

- **The condition's own variables** (``<ConditionId>/EventId``, ``AckedState/Id``, ``ConfirmedState/Id``,
  ``ActiveState/Id``, ``Retain``, ``Severity`` ...: one TranslateBrowsePathsToNodeIds and one Read). Used only
  when the caller knows an EventId the server itself announced for this condition (``known_event``: the
  proposed alarm's, or the state event the server sent right after an acknowledgement) and the variables
  carry exactly that EventId, with ``AckedState/Id``, ``ActiveState/Id``, ``Retain`` and ``Severity`` readable
  (``ConfirmedState/Id`` when the type has it). The variables are then the state the server
  announced, not values a server left behind without keeping them up to date: a server that does not keep
  its condition nodes (no EventId there, a stale one, or no node at all) is asked the other way. Main branch
  only: the address space holds no branches.
- **The server's retained conditions** (``ConditionRefresh`` on a short-lived subscription): the answer the
  server gives for every condition it retains, at the cost of the server sending all of them (hundreds on a
  large plant). A condition the server no longer retains (returned to normal and acknowledged) is then looked
  up in the address space, where servers that expose their conditions keep it; None when neither knows it. A
  condition *branch* (BranchId not null) is read from the refresh only.

``read_condition`` says which way answered (``"variables"`` or ``"refresh"``), so the connector can count them.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any, Literal, cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua import uaerrors
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds

from factorypilot.connectors.opcua._events import (
    REFRESH_END,
    alarm_event_filter,
    alarm_from_fields,
    condition_refresh,
    event_fields,
)
from factorypilot.vocabulary import AlarmEvent

__all__ = ["SHORT_PUBLISH_MS", "ConditionRead", "read_condition"]

ConditionRead = Literal["variables", "refresh"]
_VARIABLES = ("EventId", "AckedState/Id", "ConfirmedState/Id", "ActiveState/Id", "Retain", "Severity", "Message",
              "SourceNode", "SourceName", "ConditionName", "Time")

SHORT_PUBLISH_MS = 10.0
"""publishing interval of a short-lived subscription (a refresh here, an acknowledgement's watch in ``_ack``): the
answer (RefreshEnd, the ack's state event) comes with the next publish, so a long interval is pure waiting (50 ms
cost about a third of a guarded acknowledgement)"""


def _nid(identifier: int) -> ua.NodeId:
    return ua.NodeId(cast(ua.Int32, identifier))


class _Collector:
    """Event handler for one ConditionRefresh: keeps the states of one condition until RefreshEnd."""

    def __init__(self, condition_id: str) -> None:
        self.condition_id = condition_id
        self.states: dict[str | None, AlarmEvent] = {}
        self.done = asyncio.Event()

    def event_notification(self, event: Any) -> None:
        fields = event_fields(event)
        if fields.get("EventType") == REFRESH_END:
            self.done.set()
            return
        ev = alarm_from_fields(fields, refreshed=True)
        if ev is not None and ev.condition_id == self.condition_id:
            self.states[ev.branch_id] = ev

    def status_change_notification(self, status: Any) -> None:
        return None


async def _variables(client: Client, condition: ua.NodeId) -> dict[str, Any]:
    """The condition node's variables that the server has (browse path -> value); {} when it has no such node."""
    hierarchical = _nid(ObjectIds.HierarchicalReferences)
    paths = [ua.BrowsePath(StartingNode=condition, RelativePath=ua.RelativePath(Elements=[
        ua.RelativePathElement(ReferenceTypeId=hierarchical, IsInverse=cast(ua.Boolean, False),
                               IncludeSubtypes=cast(ua.Boolean, True), TargetName=ua.QualifiedName(part, 0))
        for part in name.split("/")]))
             for name in _VARIABLES]
    found: list[tuple[str, ua.NodeId]] = []
    for name, result in zip(_VARIABLES, await client.uaclient.translate_browsepaths_to_nodeids(paths), strict=True):
        if result.StatusCode.is_good() and result.Targets:
            found.append((name, ua.NodeId(result.Targets[0].TargetId.Identifier,
                                          result.Targets[0].TargetId.NamespaceIndex)))
    if not found:
        return {}
    values = await client.uaclient.read(ua.ReadParameters(NodesToRead=[
        ua.ReadValueId(NodeId=node, AttributeId=AttributeIds.Value) for _, node in found]))
    return {name: dv.Value.Value for (name, _), dv in zip(found, values, strict=True)
            if (dv.StatusCode is None or dv.StatusCode.is_good()) and dv.Value is not None}


async def _from_variables(client: Client, condition: ua.NodeId, known_event: str | None) -> AlarmEvent | None:
    """The state in the condition's variables; with ``known_event``, only when they carry exactly that EventId."""
    try:
        fields = await _variables(client, condition)
    except (uaerrors.UaError, ValueError):
        return None
    if not all(isinstance(fields.get(name), bool) for name in ("AckedState/Id", "ActiveState/Id", "Retain")) or \
            not isinstance(fields.get("Severity"), int):
        return None  # the server does not expose (all of) this condition's state in its address space
    event_id = fields.get("EventId")
    if known_event is not None and not (
            isinstance(event_id, bytes | bytearray) and event_id and event_id.hex() == known_event.lower()):
        return None  # not (or no longer) the state the caller knows the server announced
    return alarm_from_fields({**fields, "NodeId": condition}, refreshed=False)


async def _refresh(client: Client, condition: ua.NodeId, timeout_s: float) -> dict[str | None, AlarmEvent]:
    collector = _Collector(condition.to_string())
    sub = await client.create_subscription(SHORT_PUBLISH_MS, collector)
    try:
        await sub.subscribe_events(_nid(ObjectIds.Server), evfilter=alarm_event_filter(), queuesize=1000)
        await condition_refresh(client, int(sub.subscription_id or 0))
        await asyncio.wait_for(collector.done.wait(), timeout_s)
    finally:
        with contextlib.suppress(uaerrors.UaError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(sub.delete(), 2.0)
    return collector.states


async def read_condition(client: Client, condition_id: str, timeout_s: float, branch_id: str | None = None,
                         known_event: str | None = None) -> tuple[AlarmEvent | None, ConditionRead]:
    """The state of ``condition_id``'s main branch or branch ``branch_id``, and which way it was read (see the
    module docstring). ``known_event``: hex EventId the server announced for this condition (branch)."""
    condition = ua.NodeId.from_string(condition_id)
    if known_event and branch_id is None:
        direct = await _from_variables(client, condition, known_event)
        if direct is not None:
            return direct, "variables"
    found = (await _refresh(client, condition, timeout_s)).get(branch_id)
    if found is not None:
        return found.model_copy(update={"refreshed": False}), "refresh"
    if branch_id is not None:
        return None, "refresh"  # a branch the server no longer retains (deleted once acknowledged and confirmed)
    return await _from_variables(client, condition, None), "refresh"
