"""Back-test on the plant's own history: what would the pilot have detected and proposed? (no writes)

``replay_history`` reads the raw history of the pilot's observed roles from the firm's own server (OPC UA
HistoryRead, paged), merges it into one timeline by source time, and feeds it through the pilot's detectors
with the same trigger as the live service (cool-down in seconds of plant time). For every detection it runs
the playbook planner and the safety guard — as a *simulation*: nothing is written, no method is called, no
alarm is acknowledged, and the connector is only ever asked for history. Since nothing was changed, the later
history shows the plant as it ran without the pilot. Roles the server keeps no history for are listed, not
silently skipped.

When the pilot has ``kind: alarm`` detectors, the plant's own alarm history is read too (OPC UA HistoryRead of
events from the Server object) and merged into the timeline by source time: the alarm detectors see the
historic alarms as the live service would have (same trigger, same playbooks, acknowledgements only judged by
the guard, never sent). A server that keeps no event history is said so (``events_unavailable``) and the value
back-test still runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from factorypilot.agents import AgentConfig, PlaybookPlanner
from factorypilot.agents.detectors import AlarmDetectorConfig, run_alarm_detectors, run_detectors
from factorypilot.agents.planners.base import PlanContext
from factorypilot.agents.safety import Guard
from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import CapabilityError
from factorypilot.vocabulary import AlarmEvent, Quality, Sample, Scalar

__all__ = ["HistoryDetection", "HistoryReplay", "replay_history"]


@dataclass
class HistoryDetection:
    time: datetime
    detector: str
    role: str | None
    value: Scalar
    message: str
    playbook: str | None
    diagnosis: str
    proposals: list[dict[str, Any]] = field(default_factory=list)
    """kind, role, value, verdict (allowed | needs approval | refused) and the guard's reasons"""
    alarm: dict[str, Any] | None = None
    """the plant alarm that started it (alarm-driven detections): condition, source, EventId, severity, text"""


@dataclass
class HistoryReplay:
    pilot: str
    start: datetime
    end: datetime
    samples: dict[str, int] = field(default_factory=dict)
    """role → history values read"""
    not_historized: dict[str, str] = field(default_factory=dict)
    """role → why the server returned no history"""
    not_good: int = 0
    detections: list[HistoryDetection] = field(default_factory=list)
    alarm_events: int | None = None
    """historic alarm events read (None: not read — no alarm detectors, or no event history)"""
    events_unavailable: str | None = None
    """why the plant's alarm history could not be read (the value back-test ran without it)"""

    def as_json(self) -> dict[str, Any]:
        return {"pilot": self.pilot, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "samples": self.samples, "not_historized": self.not_historized, "not_good": self.not_good,
                "alarm_events": self.alarm_events, "events_unavailable": self.events_unavailable,
                "detections": [{**d.__dict__, "time": d.time.isoformat()} for d in self.detections]}


def _role_of(config: AgentConfig, tag_id: str) -> str:
    return next((r for r, t in config.roles.items() if t == tag_id), tag_id)


def _alarm_json(a: AlarmEvent) -> dict[str, Any]:
    return {"condition_id": a.condition_id, "branch_id": a.branch_id, "source": a.source_name or a.source_node,
            "event_id": a.event_id, "severity": a.severity, "message": a.message, "time": a.time.isoformat()}


async def _alarm_history(config: AgentConfig, connector: BaseConnector[Any], start: datetime, end: datetime,
                         out: HistoryReplay) -> list[AlarmEvent]:
    if not any(isinstance(d, AlarmDetectorConfig) for d in config.detectors):
        return []
    try:
        alarms = await connector.event_history(None, start, end)
    except CapabilityError as exc:
        out.events_unavailable = exc.message
        return []
    out.alarm_events = len(alarms)
    return alarms


async def replay_history(config: AgentConfig, connector: BaseConnector[Any], start: datetime, end: datetime, *,
                         cooldown_s: float = 300.0, lang: str = "en") -> HistoryReplay:
    """Run the pilot's detectors and playbooks over the history between ``start`` and ``end`` (aware)."""
    out = HistoryReplay(config.name, start, end)
    ids = [config.roles.get(r, r) for r in (config.observe or list(config.roles))]
    timeline: list[Sample] = []
    for tag_id in ids:
        role = _role_of(config, tag_id)
        try:
            series = await connector.history([tag_id], start, end)
        except CapabilityError as exc:
            out.not_historized[role] = exc.message
            continue
        out.samples[role] = len(series)
        out.not_good += sum(1 for s in series if s.quality is not Quality.GOOD)
        timeline += [s for s in series if s.time is not None]
    alarms = await _alarm_history(config, connector, start, end, out)
    items: list[tuple[datetime, int, str, Sample | AlarmEvent]] = [(s.time, 0, s.tag_id, s) for s in timeline
                                                                   if s.time is not None]
    items += [(a.time, 1, a.condition_id, a) for a in alarms]
    items.sort(key=lambda x: x[:3])
    alarm_cfgs = [c for c in config.detectors if isinstance(c, AlarmDetectorConfig)]
    trigger = EventTrigger(config, ids, cooldown=cooldown_s)
    planner = PlaybookPlanner(config.playbooks)
    guard = Guard(config.policy, config.roles)
    current: dict[str, Sample] = {}
    proposed: list[tuple[datetime, str]] = []  # as if executed: later proposals meet the rate limits
    for when, _, _, item in items:
        if isinstance(item, AlarmEvent):
            trigger.add_alarm(item)
        else:
            trigger.add(item)
            current[item.tag_id] = item
        if not trigger.due(when.timestamp()):
            continue
        events = run_detectors(config.detectors, config.roles, trigger.window())
        events += run_alarm_detectors(alarm_cfgs, config.roles, trigger.alarm_window())
        if not events:
            continue
        plan = await planner.plan(PlanContext(run_id="history", events=events, current=dict(current),
                                              roles=config.roles, lang=lang))
        values = {k: v.value for k, v in current.items()}
        proposals = []
        for action in plan.actions:
            decision = guard.evaluate(action, values, proposed, now=when)
            verdict = "refused" if not decision.allowed else ("needs approval" if decision.needs_approval
                                                              else "allowed")
            if decision.allowed:
                proposed.append((when, action.target))
            proposals.append({"kind": action.kind.value, "role": _role_of(config, action.target),
                              "value": action.value, "from": values.get(action.target), "verdict": verdict,
                              "reasons": decision.reasons})
        first = next((e for e in events if e.alarm is not None), events[0])  # a plant alarm leads its run
        out.detections.append(HistoryDetection(
            time=when, detector=first.detector, role=first.role, value=first.value, message=first.message,
            playbook=plan.playbook, diagnosis=plan.diagnosis, proposals=proposals,
            alarm=_alarm_json(first.alarm) if first.alarm is not None else None))
    return out
