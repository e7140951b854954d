"""Acknowledge / confirm of a plant alarm inside ``act`` and ``verify`` (see ``_nodes_act``).

An acknowledgement is a side effect on the plant like a write: the guard's alarm rules decide (source,
severity, approval, rate), it goes through the same write-ahead intent (planned → issued → confirmed), and it
is confirmed only by reading the condition back (``AckedState`` / ``ConfirmedState`` true).

Before it is issued, the alarm is read from the plant again: an alarm that is gone, already acknowledged (by
an operator at the HMI), or changed since it was proposed (a new EventId: it returned to normal or its
severity changed) is not acknowledged — the request is refused with the reason, and a person proposes again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConnectionError_, FactoryPilotError
from factorypilot.vocabulary import ActionKind, ActionRequest, ActionStatus, AlarmEvent, Quality, Sample, utcnow

__all__ = ["alarm_precheck", "read_back_alarm"]


def _state_field(req: ActionRequest) -> str:
    return "ConfirmedState/Id" if req.kind is ActionKind.CONFIRM else "AckedState/Id"


async def alarm_precheck(connector: BaseConnector[Any], req: ActionRequest) -> str:
    """Why ``req`` must not be sent now ('' when it may): the alarm as the plant holds it right now."""
    alarm = await connector.alarm_state(req.target)
    verb = req.kind.value
    if alarm is None:
        return f"alarm {req.target} is no longer held by the plant (returned to normal and acknowledged); not sent"
    if req.kind is ActionKind.CONFIRM and not alarm.acked:
        return f"alarm {req.target} is not acknowledged yet; it cannot be confirmed before"
    if alarm.confirmed if req.kind is ActionKind.CONFIRM else alarm.acked:
        done = "confirmed" if req.kind is ActionKind.CONFIRM else "acknowledged"
        return f"alarm {req.target} is already {done} at the plant (e.g. by an operator); not sent again"
    wanted = req.args[0] if req.args else None
    if alarm.event_id and wanted != alarm.event_id:
        return (f"alarm {req.target} changed since the {verb} was proposed (new EventId: it returned to normal, "
                f"or its severity or text changed); propose it again")
    if req.severity is not None and alarm.severity != req.severity:
        return f"alarm {req.target} now has severity {alarm.severity}, not {req.severity}; propose it again"
    return ""


def _done(alarm: AlarmEvent | None, req: ActionRequest) -> bool:
    if alarm is None:
        return True  # not retained any more: inactive, acknowledged and confirmed (OPC UA Part 9 Retain)
    return alarm.confirmed if req.kind is ActionKind.CONFIRM else alarm.acked


async def read_back_alarm(connector: BaseConnector[Any], req: ActionRequest, attempts: int,
                          interval: float) -> tuple[ActionStatus, str, Sample | None]:
    """Read the condition back until its Acked (Confirmed) state is true; ``done`` only then."""
    field = _state_field(req)
    error, lost = "", None
    alarm: AlarmEvent | None = None
    for attempt in range(attempts):
        try:
            alarm = await connector.alarm_state(req.target)
            error, lost = "", None
            if _done(alarm, req):
                sample = Sample(tag_id=f"{req.target}/{field}", value=True, quality=Quality.GOOD,
                                source_time=alarm.time if alarm else None, server_time=utcnow())
                why = (f"read back {field} = true" if alarm is not None else
                       "read back: the plant no longer retains the alarm (inactive, acknowledged and confirmed)")
                return ActionStatus.DONE, why, sample
        except ConnectionError_ as exc:
            error, lost = str(exc), exc
        except FactoryPilotError as exc:
            error = str(exc)
        if attempt + 1 < attempts:
            await asyncio.sleep(interval)
    if lost is not None:
        raise lost  # the plant is unreachable: the run waits for it and reads back later
    if error:
        return ActionStatus.UNCONFIRMED, f"read-back failed: {error}", None
    return (ActionStatus.FAILED, f"read-back does not match: {field} is still false",
            Sample(tag_id=f"{req.target}/{field}", value=False, server_time=utcnow()))
