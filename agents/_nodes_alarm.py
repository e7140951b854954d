"""Acknowledge / confirm of a plant alarm inside ``act`` and ``verify`` (see ``_nodes_act``).

An acknowledgement is a side effect on the plant like a write: the guard's alarm rules decide (source,
severity, approval, rate), it goes through the same write-ahead intent (planned → issued → confirmed), and it
is confirmed only by reading the condition back (``AckedState`` / ``ConfirmedState`` true). A request for a
condition *branch* (BranchId) is checked and read back on that branch.

When the plant no longer holds the alarm at read-back (not retained, not readable in its address space — a
server may delete a condition or branch the moment it is inactive and acknowledged), that alone proves
nothing: the verdict is ``done`` only if the server sent a state event for that condition and branch with
AckedState (ConfirmedState) true right after our call (``seen``), else ``unconfirmed`` — a person checks at
the HMI.

Both reads name the EventId the server announced (the proposed one before, the server's event right after
our call at read-back), so a connector may answer from the condition's own variables when they carry exactly
that EventId (OPC UA: one Read instead of a ConditionRefresh of every retained alarm); otherwise it asks the
server for its retained conditions as before.

Before it is issued, the alarm is read from the plant again: an alarm that is gone, already acknowledged (by
an operator at the HMI), or changed since it was proposed (a new EventId: it returned to normal or its
severity changed) is not acknowledged — the request is refused with the reason, and a person proposes again.
"""

from __future__ import annotations

import asyncio
from typing import Any

from factorypilot.agents._reasons import Reason, why
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConnectionError_, FactoryPilotError
from factorypilot.vocabulary import ActionKind, ActionRequest, ActionStatus, AlarmEvent, Quality, Sample, utcnow

__all__ = ["alarm_precheck", "read_back_alarm"]


def _state_field(req: ActionRequest) -> str:
    return "ConfirmedState/Id" if req.kind is ActionKind.CONFIRM else "AckedState/Id"


async def alarm_precheck(connector: BaseConnector[Any], req: ActionRequest) -> Reason | None:
    """Why ``req`` must not be sent now (None when it may): the alarm as the plant holds it right now."""
    wanted = req.args[0] if req.args else None
    alarm = await connector.alarm_state(req.target, req.alarm_branch,
                                        known_event=wanted if isinstance(wanted, str) and wanted else None)
    verb = req.kind.value
    if alarm is None:
        return why("alarm_gone", target=req.target)
    if req.kind is ActionKind.CONFIRM and not alarm.acked:
        return why("alarm_not_acked", target=req.target)
    if alarm.confirmed if req.kind is ActionKind.CONFIRM else alarm.acked:
        done = "confirmed" if req.kind is ActionKind.CONFIRM else "acknowledged"
        return why("alarm_already_done", target=req.target, done=done, verb=verb)
    if alarm.event_id and wanted != alarm.event_id:
        return why("alarm_changed", target=req.target, verb=verb)
    if req.severity is not None and alarm.severity != req.severity:
        return why("alarm_severity_changed", target=req.target, severity=alarm.severity, proposed=req.severity)
    return None


def _done(alarm: AlarmEvent, req: ActionRequest) -> bool:
    return alarm.confirmed if req.kind is ActionKind.CONFIRM else alarm.acked


def _seen_done(seen: AlarmEvent | None, req: ActionRequest) -> bool:
    return (seen is not None and (seen.condition_id, seen.branch_id) == (req.target, req.alarm_branch)
            and _done(seen, req))


async def read_back_alarm(connector: BaseConnector[Any], req: ActionRequest, attempts: int,
                          interval: float, seen: AlarmEvent | None = None) -> tuple[ActionStatus, str, Sample | None]:
    """Read the condition (branch) back until its Acked (Confirmed) state is true; ``done`` only then, or when
    the plant no longer holds it and ``seen`` (the server's event right after our call) says it is true."""
    field = _state_field(req)
    error, lost = "", None
    where = req.target + (f" branch {req.alarm_branch}" if req.alarm_branch else "")
    known = seen.event_id or None if seen is not None and _seen_done(seen, req) else None
    for attempt in range(attempts):
        try:
            alarm = await connector.alarm_state(req.target, req.alarm_branch, known_event=known)
            if known and alarm is not None and not _done(alarm, req):
                # the state with the event's EventId contradicts that event: the server's retained conditions decide
                alarm = await connector.alarm_state(req.target, req.alarm_branch)
            error, lost = "", None
            if alarm is None:
                if seen is not None and _seen_done(seen, req):
                    return ActionStatus.DONE, (
                        f"the plant no longer holds alarm {where}; the server's event right after the call "
                        f"(EventId {seen.event_id}) has {field} = true"), Sample(
                        tag_id=f"{req.target}/{field}", value=True, quality=Quality.GOOD, source_time=seen.time,
                        server_time=utcnow())
                return ActionStatus.UNCONFIRMED, (
                    f"cannot confirm: the plant no longer holds alarm {where} (not retained, not readable) and no "
                    f"event with {field} = true was received after the call; check it at the HMI"), None
            if _done(alarm, req):
                sample = Sample(tag_id=f"{req.target}/{field}", value=True, quality=Quality.GOOD,
                                source_time=alarm.time, server_time=utcnow())
                return ActionStatus.DONE, f"read back {field} = true", sample
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
