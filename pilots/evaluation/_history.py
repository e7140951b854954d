"""Back-test on the plant's own history: what would the pilot have detected and proposed? (no writes)

``replay_history`` reads the raw history of the pilot's observed roles from the firm's own server (OPC UA
HistoryRead, paged), merges it into one timeline by source time, and feeds it through the pilot's detectors
with the same trigger as the live service (cool-down in seconds of plant time). For every detection it runs
the playbook planner and the safety guard — as a *simulation*: nothing is written, no method is called, no
alarm is acknowledged, and the connector is only ever asked for history. Since nothing was changed, the later
history shows the plant as it ran without the pilot. Roles the server keeps no history for are listed, not
silently skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from factorypilot.agents import AgentConfig, PlaybookPlanner
from factorypilot.agents.detectors import run_detectors
from factorypilot.agents.planners.base import PlanContext
from factorypilot.agents.safety import Guard
from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import CapabilityError
from factorypilot.vocabulary import Quality, Sample, Scalar

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

    def as_json(self) -> dict[str, Any]:
        return {"pilot": self.pilot, "start": self.start.isoformat(), "end": self.end.isoformat(),
                "samples": self.samples, "not_historized": self.not_historized, "not_good": self.not_good,
                "detections": [{**d.__dict__, "time": d.time.isoformat()} for d in self.detections]}


def _role_of(config: AgentConfig, tag_id: str) -> str:
    return next((r for r, t in config.roles.items() if t == tag_id), tag_id)


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
    timeline.sort(key=lambda s: (s.time, s.tag_id))
    trigger = EventTrigger(config, ids, cooldown=cooldown_s)
    planner = PlaybookPlanner(config.playbooks)
    guard = Guard(config.policy, config.roles)
    current: dict[str, Sample] = {}
    proposed: list[tuple[datetime, str]] = []  # as if executed: later proposals meet the rate limits
    for sample in timeline:
        assert sample.time is not None
        trigger.add(sample)
        current[sample.tag_id] = sample
        if not trigger.due(sample.time.timestamp()):
            continue
        events = run_detectors(config.detectors, config.roles, trigger.window())
        if not events:
            continue
        plan = await planner.plan(PlanContext(run_id="history", events=events, current=dict(current),
                                              roles=config.roles, lang=lang))
        values = {k: v.value for k, v in current.items()}
        proposals = []
        for action in plan.actions:
            decision = guard.evaluate(action, values, proposed, now=sample.time)
            verdict = "refused" if not decision.allowed else ("needs approval" if decision.needs_approval
                                                              else "allowed")
            if decision.allowed:
                proposed.append((sample.time, action.target))
            proposals.append({"kind": action.kind.value, "role": _role_of(config, action.target),
                              "value": action.value, "from": values.get(action.target), "verdict": verdict,
                              "reasons": decision.reasons})
        first = events[0]
        out.detections.append(HistoryDetection(
            time=sample.time, detector=first.detector, role=first.role, value=first.value, message=first.message,
            playbook=plan.playbook, diagnosis=plan.diagnosis, proposals=proposals))
    return out
