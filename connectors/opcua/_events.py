"""OPC UA Alarms & Conditions: event subscription with the standard ``AlarmConditionType`` fields.

One subscription with one event monitored item per notifier (the Server object by default). After the item is
created, and again after every reconnect, we call ``ConditionRefresh``: the server re-sends the state of every
retained condition between a ``RefreshStartEvent`` and a ``RefreshEndEvent``, and those states are marked
``refreshed``. A state of a condition that was already delivered is dropped (de-duplication by ConditionId
and state), so a reconnect during an active alarm does not raise it twice. Every outage is a ``Gap``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.client.ua_client import UaClientState
from asyncua.ua import uaerrors
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIdNames, ObjectIds

from factorypilot.connectors._events import AlarmDeduplicator, EventFilter
from factorypilot.connectors.opcua._session import map_error, safe_url
from factorypilot.vocabulary import AlarmEvent, Gap, utcnow

__all__ = ["FIELD_NAMES", "REFRESH_END", "REFRESH_START", "alarm_event_filter", "alarm_from_fields",
           "condition_refresh", "event_fields", "merge_alarm_streams", "subscribe_alarms"]

_log = logging.getLogger("factorypilot.connectors.opcua")
_ERRORS = (OSError, ConnectionError, asyncio.TimeoutError, uaerrors.UaError)

_FIELDS: tuple[tuple[int, tuple[str, ...]], ...] = (
    (ObjectIds.BaseEventType, ("EventId",)),
    (ObjectIds.BaseEventType, ("EventType",)),
    (ObjectIds.BaseEventType, ("SourceNode",)),
    (ObjectIds.BaseEventType, ("SourceName",)),
    (ObjectIds.BaseEventType, ("Time",)),
    (ObjectIds.BaseEventType, ("ReceiveTime",)),
    (ObjectIds.BaseEventType, ("Message",)),
    (ObjectIds.BaseEventType, ("Severity",)),
    (ObjectIds.ConditionType, ("ConditionName",)),
    (ObjectIds.ConditionType, ("BranchId",)),
    (ObjectIds.ConditionType, ("Retain",)),
    (ObjectIds.AcknowledgeableConditionType, ("AckedState", "Id")),
    (ObjectIds.AcknowledgeableConditionType, ("ConfirmedState", "Id")),
    (ObjectIds.AlarmConditionType, ("ActiveState", "Id")),
)


FIELD_NAMES: tuple[str, ...] = (*("/".join(p) for _, p in _FIELDS), "NodeId")
"""the names of ``alarm_event_filter()``'s select clauses, in order"""


def _nid(identifier: int) -> ua.NodeId:
    """A namespace-0 numeric node id (asyncua's stubs want its Int32 wrapper)."""
    return ua.NodeId(cast(ua.Int32, identifier))


REFRESH_START = _REFRESH_START = _nid(ObjectIds.RefreshStartEventType)
REFRESH_END = _REFRESH_END = _nid(ObjectIds.RefreshEndEventType)


def event_fields(event: Any) -> dict[str, Any]:
    """The selected fields of an asyncua event notification, by browse path (``NodeId`` = ConditionId)."""
    return {name: getattr(event, name, None) for name in ["NodeId", *("/".join(p) for _, p in _FIELDS)]}


def alarm_event_filter() -> ua.EventFilter:
    """Select the standard A&C fields (and the ConditionId: the NodeId attribute of the ConditionType)."""
    clauses = []
    for type_id, path in _FIELDS:
        op = ua.SimpleAttributeOperand()
        op.TypeDefinitionId = _nid(type_id)
        op.BrowsePath = [ua.QualifiedName(p, 0) for p in path]
        op.AttributeId = AttributeIds.Value
        clauses.append(op)
    cid = ua.SimpleAttributeOperand()
    cid.TypeDefinitionId = _nid(ObjectIds.ConditionType)
    cid.AttributeId = AttributeIds.NodeId
    clauses.append(cid)
    return ua.EventFilter(SelectClauses=clauses)


def _type_name(node: Any) -> str:
    if not isinstance(node, ua.NodeId):
        return ""
    if node.NamespaceIndex == 0 and isinstance(node.Identifier, int):
        return str(ObjectIdNames.get(node.Identifier, node.to_string()))
    return node.to_string()


def _aware(value: Any) -> datetime:
    if not isinstance(value, datetime) or value.year < 1900:  # 1601-01-01 is OPC UA's "no time"
        return utcnow()
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def alarm_from_fields(fields: dict[str, Any], *, refreshed: bool) -> AlarmEvent | None:
    """An ``AlarmEvent`` from selected field values (by browse path, ``NodeId`` = ConditionId); None if no condition."""
    cid = fields.get("NodeId")
    if not isinstance(cid, ua.NodeId) or cid.is_null():
        return None
    msg = fields.get("Message")
    text, locale = (msg.Text or "", msg.Locale or "") if isinstance(msg, ua.LocalizedText) else (str(msg or ""), "")
    branch = fields.get("BranchId")
    event_id = fields.get("EventId")
    source = fields.get("SourceNode")
    severity = fields.get("Severity")
    return AlarmEvent(
        condition_id=cid.to_string(),
        source_node=source.to_string() if isinstance(source, ua.NodeId) else "",
        source_name=str(fields.get("SourceName") or ""),
        condition_name=str(fields.get("ConditionName") or ""),
        event_type=_type_name(fields.get("EventType")),
        event_id=event_id.hex() if isinstance(event_id, bytes | bytearray) else "",
        message=text, message_locale=locale,
        severity=min(1000, max(1, int(severity))) if isinstance(severity, int) else 500,
        active=bool(fields.get("ActiveState/Id")),
        acked=fields.get("AckedState/Id") is not False,
        confirmed=fields.get("ConfirmedState/Id") is not False,
        retain=bool(fields.get("Retain")),
        time=_aware(fields.get("Time")), receive_time=_aware(fields.get("ReceiveTime")),
        branch_id=branch.to_string() if isinstance(branch, ua.NodeId) and not branch.is_null() else None,
        refreshed=refreshed,
    )


async def condition_refresh(client: Client, subscription_id: int) -> None:
    """Ask the server to re-send every retained condition to this subscription (OPC UA Part 9 §5.5.7)."""
    await client.get_node(ObjectIds.ConditionType).call_method(
        _nid(ObjectIds.ConditionType_ConditionRefresh), ua.Variant(subscription_id, ua.VariantType.UInt32))


@dataclass
class _Handler:
    url: str
    client: Client
    filter: EventFilter
    queue: asyncio.Queue[AlarmEvent | Gap]
    dedup: AlarmDeduplicator = field(default_factory=AlarmDeduplicator)
    refreshing: int = 0
    down_since: datetime | None = None
    last_alive: float = field(default_factory=time.monotonic)
    sub: Any = None
    refresh_task: asyncio.Task[None] | None = None
    refresh_end: asyncio.Event = field(default_factory=asyncio.Event)

    # asyncua handler protocol
    def event_notification(self, event: Any) -> None:
        self.last_alive = time.monotonic()
        fields = event_fields(event)
        etype = fields.get("EventType")
        if etype == _REFRESH_START:
            self.refreshing += 1
            return
        if etype == _REFRESH_END:
            self.refreshing = max(0, self.refreshing - 1)
            self.refresh_end.set()
            return
        ev = alarm_from_fields(fields, refreshed=self.refreshing > 0)
        if ev is not None and self.filter.accepts(ev) and self.dedup.admit(ev):
            self.queue.put_nowait(ev)

    def status_change_notification(self, status: Any) -> None:
        _log.info("event subscription status of %s: %s", safe_url(self.url), status)

    def on_state(self, state: UaClientState) -> None:
        if state is UaClientState.CONNECTED:
            if self.down_since is not None:
                gap = Gap(connector="opcua", tag_ids=(), start=self.down_since, end=utcnow(),
                          reason=f"connection to {safe_url(self.url)} lost; events in between may be missing, "
                                 "active alarms re-read with ConditionRefresh")
                self.down_since = None
                self.queue.put_nowait(gap)
                self.refresh_task = asyncio.create_task(self.refresh())
        elif state in (UaClientState.DISCONNECTED, UaClientState.RECONNECTING) and self.down_since is None:
            last = self.last_alive
            if self.sub is not None and getattr(self.sub, "last_publish_at", None) is not None:
                last = max(last, self.sub.last_publish_at)
            self.down_since = utcnow() - timedelta(seconds=max(0.0, time.monotonic() - last))

    async def refresh(self, attempts: int = 40, pause_s: float = 0.25, end_wait_s: float = 5.0) -> None:
        """ConditionRefresh after a reconnect, until its RefreshEnd event has *arrived* (proof that events flow
        again). asyncua reports CONNECTED before it has restored the subscription, so a refresh can meet
        ``BadSubscriptionIdInvalid``: retried. And asyncua's publish loop ends for good when a server answers
        a Publish with ``BadNoSubscription`` while the subscription is being transferred to the re-activated
        session (seen with node-opcua): events then stop silently. So the publish loop is restarted if it
        ended, and the refresh repeated until its RefreshEnd comes back."""
        if not self.filter.refresh or self.sub is None:
            return
        for attempt in range(attempts):
            try:
                if self.sub.subscription_id is None:  # asyncua is re-creating it right now
                    await asyncio.sleep(pause_s)
                    continue
                ensure = getattr(self.sub.server, "ensure_publish_loop", None)
                if callable(ensure):
                    ensure()
                self.refresh_end.clear()
                await condition_refresh(self.client, self.sub.subscription_id)
                try:
                    await asyncio.wait_for(self.refresh_end.wait(), end_wait_s)
                    return
                except TimeoutError:
                    if attempt == attempts - 1:
                        _log.warning("no RefreshEnd from %s after ConditionRefresh: alarm events may not be "
                                     "arriving", safe_url(self.url))
                        return
                    continue
            except _ERRORS as exc:
                if attempt == attempts - 1:
                    _log.warning("ConditionRefresh on %s failed: %s (alarms raised during the outage show "
                                 "with their next change)", safe_url(self.url), exc)
                    return
                await asyncio.sleep(pause_s)


async def _watch(handler: _Handler) -> None:
    async with handler.client.uaclient.subscribe_state() as states:
        while True:
            handler.on_state(await states.next_change())


async def subscribe_alarms(client: Client, url: str, notifiers: list[ua.NodeId], flt: EventFilter,
                           publish_ms: float = 200.0) -> AsyncGenerator[AlarmEvent | Gap, None]:
    """Yield alarm events of ``notifiers`` on one endpoint until the consumer closes the generator."""
    queue: asyncio.Queue[AlarmEvent | Gap] = asyncio.Queue()
    handler = _Handler(url, client, flt, queue)
    watcher = asyncio.create_task(_watch(handler))
    try:
        try:
            handler.sub = await client.create_subscription(publish_ms, handler)
            for node in notifiers:
                await handler.sub.subscribe_events(node, evfilter=alarm_event_filter(), queuesize=1000)
            if flt.refresh:
                await condition_refresh(client, handler.sub.subscription_id)
        except _ERRORS as exc:
            raise map_error(exc, url, "subscribing to alarm events") from exc
        while True:
            yield await queue.get()
    finally:
        watcher.cancel()
        if handler.refresh_task is not None:
            handler.refresh_task.cancel()
        if handler.sub is not None:
            with contextlib.suppress(*_ERRORS):
                await asyncio.wait_for(handler.sub.delete(), 2.0)


async def merge_alarm_streams(clients: dict[str, Client], notifiers: list[ua.NodeId],
                              flt: EventFilter) -> AsyncGenerator[AlarmEvent | Gap, None]:
    """The alarm events of every endpoint of a (sharded) plant, in arrival order."""
    if len(clients) == 1:
        url, client = next(iter(clients.items()))
        stream = subscribe_alarms(client, url, notifiers, flt)
        try:
            async for item in stream:
                yield item
        finally:
            await stream.aclose()
        return
    queue: asyncio.Queue[AlarmEvent | Gap | BaseException] = asyncio.Queue()

    async def pump(url: str, client: Client) -> None:
        try:
            async for item in subscribe_alarms(client, url, notifiers, flt):
                queue.put_nowait(item)
        except Exception as exc:
            queue.put_nowait(exc)

    tasks = [asyncio.create_task(pump(u, c)) for u, c in clients.items()]
    try:
        while True:
            got = await queue.get()
            if isinstance(got, BaseException):
                raise got
            yield got
    finally:
        for t in tasks:
            t.cancel()
