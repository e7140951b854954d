"""Acknowledging or confirming one alarm (OPC UA Part 9, AcknowledgeableConditionType; reading its state is
``_condition``). ``acknowledge`` calls the type's ``Acknowledge`` or ``Confirm`` method on the condition with the
EventId (of the branch's state, for a branch) and a comment — the connector only does this with a permit from
the safety layer — and watches the Server object's events while doing so: the state
event the server sends for that condition and branch with AckedState (ConfirmedState) true is returned as
evidence, which the read-back needs when the server stops holding the alarm right after.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from typing import Any, cast

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua import uaerrors
from asyncua.ua.object_ids import ObjectIds

from factorypilot.connectors.opcua._condition import SHORT_PUBLISH_MS
from factorypilot.connectors.opcua._events import alarm_event_filter, alarm_from_fields, event_fields
from factorypilot.connectors.opcua._values import status_name
from factorypilot.errors import DataError, NodeNotFoundError
from factorypilot.vocabulary import AlarmEvent

__all__ = ["acknowledge"]

_NOT_FOUND = {"BadNodeIdUnknown", "BadNodeIdInvalid", "BadMethodInvalid"}
_HANGUL = re.compile(r"[\uac00-\ud7a3]")


def _nid(identifier: int) -> ua.NodeId:
    return ua.NodeId(cast(ua.Int32, identifier))


class _AckWatch:
    """Event handler during an Acknowledge/Confirm call: waits for the condition's (branch's) done state."""

    def __init__(self, condition_id: str, branch_id: str | None, confirm: bool) -> None:
        self.key = (condition_id, branch_id)
        self.confirm = confirm
        self.seen: AlarmEvent | None = None
        self.done = asyncio.Event()

    def event_notification(self, event: Any) -> None:
        ev = alarm_from_fields(event_fields(event), refreshed=False)
        if ev is not None and (ev.condition_id, ev.branch_id) == self.key and (
                ev.confirmed if self.confirm else ev.acked):
            self.seen = ev
            self.done.set()

    def status_change_notification(self, status: Any) -> None:
        return None


async def acknowledge(client: Client, condition_id: str, event_id: str, comment: str, *, confirm: bool,
                      where: str, branch_id: str | None = None, timeout_s: float = 5.0) -> AlarmEvent | None:
    """Call ``Acknowledge`` (or ``Confirm``) on the condition; a refusal by the server is a ``DataError``.
    Returns the server's state event with AckedState (ConfirmedState) true for that condition and branch, if
    it arrives within ``timeout_s`` after the call."""
    verb = "confirm" if confirm else "acknowledge"
    try:
        event = bytes.fromhex(event_id)
    except ValueError as exc:
        raise DataError(f"EventId {event_id!r} of alarm {condition_id} is not hex",
                        hint="take event_id from the alarm event being acknowledged") from exc
    method = _nid(ObjectIds.AcknowledgeableConditionType_Confirm if confirm
                  else ObjectIds.AcknowledgeableConditionType_Acknowledge)
    text = ua.LocalizedText(comment, "ko-KR" if _HANGUL.search(comment) else "en")
    request = ua.CallMethodRequest(ObjectId=ua.NodeId.from_string(condition_id), MethodId=method,
                                   InputArguments=[ua.Variant(event, ua.VariantType.ByteString),
                                                   ua.Variant(text, ua.VariantType.LocalizedText)])
    watch = _AckWatch(ua.NodeId.from_string(condition_id).to_string(), branch_id, confirm)
    sub = await client.create_subscription(SHORT_PUBLISH_MS, watch)
    try:
        try:
            await sub.subscribe_events(_nid(ObjectIds.Server), evfilter=alarm_event_filter(), queuesize=100)
        except uaerrors.UaStatusCodeError:  # no events from the Server object: acknowledge without evidence
            watch.done.set()
        result = (await client.uaclient.call([request]))[0]
        if result.StatusCode.is_good():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(watch.done.wait(), timeout_s)
            return watch.seen
    finally:
        with contextlib.suppress(uaerrors.UaError, OSError, asyncio.TimeoutError):
            await asyncio.wait_for(sub.delete(), 2.0)
    name = status_name(result.StatusCode)
    if name in _NOT_FOUND:
        raise NodeNotFoundError(f"alarm {condition_id} cannot be {verb}d: the server does not know it ({name})",
                                where=where, hint="the alarm may be gone; list alarms with "
                                                  "'factorypilot connect alarms ENDPOINT'")
    raise DataError(f"the server at {where} refused to {verb} alarm {condition_id} ({name})",
                    hint="BadEventIdUnknown: the alarm changed since it was read — read it again; "
                         "BadConditionBranchAlreadyAcked/Confirmed: someone already did it")
