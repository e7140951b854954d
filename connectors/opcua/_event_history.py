"""The plant's own alarm history: OPC UA HistoryRead of events (``ReadEventDetails``) from a notifier.

A notifier (the Server object by default) keeps event history only when its ``EventNotifier`` attribute has
the ``HistoryRead`` bit; otherwise, or when the server refuses the read, a ``CapabilityError`` says so (the
caller then runs without it). The events are read with the same select clauses as the live subscription and
turned into the same ``AlarmEvent`` vocabulary (Korean text kept), continuation points followed, oldest first.
Events that are not conditions (no ConditionId) are left out.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.attribute_ids import AttributeIds

from factorypilot.connectors._events import EventFilter
from factorypilot.connectors.opcua._events import FIELD_NAMES, alarm_event_filter, alarm_from_fields
from factorypilot.connectors.opcua._services import history_page
from factorypilot.connectors.opcua._values import status_name
from factorypilot.errors import CapabilityError, NodeNotFoundError
from factorypilot.vocabulary import AlarmEvent

__all__ = ["event_history"]

_log = logging.getLogger("factorypilot.connectors.opcua")
_HISTORY_READ = 1 << ua.EventNotifier.HistoryRead.value
_NOT_FOUND = {"BadNodeIdUnknown", "BadNodeIdInvalid"}


async def _check_notifiers(client: Client, notifiers: Sequence[ua.NodeId], where: str) -> None:
    got = await client.uaclient.read_attributes(list(notifiers), AttributeIds.EventNotifier)
    for node, dv in zip(notifiers, got, strict=True):
        nid = node.to_string()
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            name = status_name(dv.StatusCode)
            if name in _NOT_FOUND:
                raise NodeNotFoundError(f"notifier {nid} does not exist on the server ({name})", where=where,
                                        hint="leave the notifier out to read the Server object's event history")
            raise CapabilityError(f"notifier {nid} has no EventNotifier attribute ({name}): it is not an event "
                                  "notifier", where=where, hint="read events from the Server object or an object "
                                                                "that emits events")
        bits = int((dv.Value.Value if dv.Value is not None else 0) or 0)
        if not bits & _HISTORY_READ:
            raise CapabilityError(f"the server keeps no event history for {nid} (its EventNotifier lacks "
                                  "HistoryRead) / 이벤트 이력 없음", where=where,
                                  hint="enable event historizing on the server; value history is read without it")


async def event_history(client: Client, notifiers: Sequence[ua.NodeId], start: datetime, end: datetime,
                        flt: EventFilter, where: str) -> list[AlarmEvent]:
    """Alarm events of ``notifiers`` between ``start`` and ``end`` (aware), oldest first, pages followed."""
    await _check_notifiers(client, notifiers, where)
    select = alarm_event_filter()
    out: list[AlarmEvent] = []
    skipped = 0
    for node in notifiers:
        cont: bytes | None = None
        while True:
            details = ua.ReadEventDetails(NumValuesPerNode=0, StartTime=start, EndTime=end, Filter=select)
            result = await history_page(client, node, details, cont)
            if not result.StatusCode.is_good():
                raise CapabilityError(f"the server refused to read the event history of {node.to_string()} "
                                      f"({status_name(result.StatusCode)}) / 이벤트 이력 읽기 거부", where=where,
                                      hint="the server may not support HistoryRead for events")
            events = result.HistoryData.Events if result.HistoryData is not None else None
            for fl in events or []:
                fields = {name: (v.Value if isinstance(v, ua.Variant) else v)
                          for name, v in zip(FIELD_NAMES, fl.EventFields, strict=False)}
                when = fields.get("Time")
                if not isinstance(when, datetime) or when.year < 1900:  # no source time: cannot be placed
                    skipped += 1
                    continue
                ev = alarm_from_fields(fields, refreshed=False)
                if ev is not None and flt.accepts(ev):
                    out.append(ev)
            cont = result.ContinuationPoint
            if not cont:
                break
    if skipped:
        _log.warning("%d historic events without a Time were left out (%s)", skipped, where)
    seen: set[tuple[str, str, datetime]] = set()
    unique = []  # a page boundary re-reads the events at its time (continuation point = a time)
    for ev in sorted(out, key=lambda e: e.time):
        key = (ev.condition_id, ev.event_id, ev.time)
        if key not in seen:
            seen.add(key)
            unique.append(ev)
    return unique
