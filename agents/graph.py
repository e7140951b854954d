"""The agent graph: observe → detect → retrieve → plan → guard → approve → act → verify → report.

Built by the framework from an :class:`~factorypilot.agents.config.AgentConfig` as a LangGraph
``StateGraph`` (not a prebuilt react agent). State holds only JSON values, so any checkpointer can store it.

Design for re-execution: LangGraph re-runs an interrupted node from its start (after a crash, and on resume
from ``interrupt()``). Every node is therefore idempotent — ledger appends are keyed, approval requests are
``INSERT OR IGNORE``, and ``act`` consults the action table before any write (see ``store.py``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import interrupt

from factorypilot.agents import _nodes_act
from factorypilot.agents._edits import edit_rules
from factorypilot.agents.detectors import AlarmDetectorConfig, run_alarm_detectors, run_detectors
from factorypilot.agents.planners._untrusted import quote_excerpt
from factorypilot.agents.planners.base import Plan, PlanContext, Planner
from factorypilot.agents.probes import fire as _crash_hook  # probe points; tests install the crash probe
from factorypilot.agents.runtime_deps import RuntimeDeps
from factorypilot.agents.safety import origin_of
from factorypilot.vocabulary import ActionKind, ActionRequest, AlarmEvent, Event, Sample

__all__ = ["AgentState", "build_graph"]


class AgentState(TypedDict, total=False):
    run_id: str
    window: dict[str, list[dict[str, Any]]]
    alarms: list[dict[str, Any]]
    trigger: dict[str, Any] | None
    current: dict[str, dict[str, Any]]
    events: list[dict[str, Any]]
    knowledge: list[dict[str, Any]]
    plan: dict[str, Any] | None
    attempts: int
    decisions: list[dict[str, Any]]
    approval: dict[str, Any] | None
    results: list[dict[str, Any]]
    report: dict[str, Any] | None
    status: str
    fallback: bool


Node = Callable[[AgentState], Awaitable[dict[str, Any]]]


def _wrap(name: str, fn: Node) -> Node:
    async def node(state: AgentState) -> dict[str, Any]:
        _crash_hook(f"before:{name}")
        out = await fn(state)
        _crash_hook(f"after:{name}")
        return out

    node.__name__ = name
    return node


class _Nodes:
    def __init__(self, deps: RuntimeDeps) -> None:
        self.d = deps

    def _key(self, state: AgentState, node: str, i: int = 0) -> str:
        return f"{state['run_id']}:{node}:{i}"

    async def observe(self, state: AgentState) -> dict[str, Any]:
        ids = self.d.observed_tag_ids()
        samples = await self.d.connector.read(ids)
        current = {s.tag_id: s.model_dump(mode="json") for s in samples}
        window = {k: list(v) for k, v in (state.get("window") or {}).items()}
        for s in samples:
            series = window.setdefault(s.tag_id, [])
            if not series or series[-1] != current[s.tag_id]:
                series.append(current[s.tag_id])
        self.d.ledger.append("observation", {"pilot": self.d.config.name, "values": {
            self.d.role_of(s.tag_id): s.value for s in samples}}, run_id=state["run_id"],
            key=self._key(state, "observe"))
        return {"current": current, "window": window, "status": "running"}

    async def detect(self, state: AgentState) -> dict[str, Any]:
        window = {k: [Sample.model_validate(x) for x in v] for k, v in state.get("window", {}).items()}
        events = run_detectors(self.d.config.detectors, self.d.config.roles, window)
        alarms = [AlarmEvent.model_validate(a) for a in state.get("alarms") or []]
        if alarms:  # the plant's own alarms (kind: alarm detectors)
            events += run_alarm_detectors([c for c in self.d.config.detectors if isinstance(c, AlarmDetectorConfig)],
                                          self.d.config.roles, alarms)
        payload = [e.model_dump(mode="json", exclude={"samples"}) for e in events]
        self.d.ledger.append("detection", {"events": payload}, run_id=state["run_id"],
                             key=self._key(state, "detect"))
        return {"events": [e.model_dump(mode="json") for e in events]}

    async def retrieve(self, state: AgentState) -> dict[str, Any]:
        if self.d.retriever is None:
            return {"knowledge": []}
        events = [Event.model_validate(e) for e in state["events"]]
        queries = self.d.planner.knowledge_queries(events, self.d.config.lang) or [e.message for e in events]
        hits: dict[str, dict[str, Any]] = {}
        for q in queries[:4]:
            for h in await self.d.retriever.search(q, k=3):
                hits.setdefault(str(h.get("citation")), h)
        knowledge = list(hits.values())[:6]
        self.d.ledger.append("retrieval", {"queries": queries[:4], "citations": [str(h.get("citation"))
                             for h in knowledge], "excerpts": [str(h.get("text", ""))[:1200] for h in knowledge]},
                             run_id=state["run_id"], key=self._key(state, "retrieve"))  # excerpts: what was read
        return {"knowledge": knowledge}

    async def plan(self, state: AgentState) -> dict[str, Any]:
        attempt = state.get("attempts", 0)
        refusals = [r for d in state.get("decisions", []) for r in d["decision"]["reasons"]]
        ctx = PlanContext(
            run_id=state["run_id"], events=[Event.model_validate(e) for e in state["events"]],
            current={k: Sample.model_validate(v) for k, v in state.get("current", {}).items()},
            tags=self.d.tag_meta, roles=self.d.config.roles, knowledge=state.get("knowledge", []),
            refusals=refusals, lang=self.d.config.lang, **_policy_view(self.d))
        fallback = bool(refusals) and attempt > self.d.config.max_replans
        if fallback:  # the planner kept proposing refused actions: its fallback plans, or a person decides
            backup: Planner | None = getattr(self.d.planner, "fallback", None)
            if backup is not None:
                plan = await backup.plan(ctx)
                plan = plan.model_copy(update={"planner": f"{plan.planner} (fallback)", "source": "fallback"})
            else:
                plan = Plan(planner=self.d.planner.name, escalate=True, source="fallback", diagnosis=(
                    f"{len(refusals)} proposal(s) refused by the safety policy after "
                    f"{self.d.config.max_replans} re-plan(s); a person must decide"))
        else:
            plan = await self.d.planner.plan(ctx)
        self.d.ledger.append("decision", {
            "planner": plan.planner, "model": plan.model, "prompt_tokens": plan.prompt_tokens,
            "playbook": plan.playbook, "diagnosis": plan.diagnosis, "escalate": plan.escalate,
            "source": plan.source,
            "fallback": fallback, "actions": [a.model_dump(mode="json") for a in plan.actions]},
            run_id=state["run_id"], key=self._key(state, "plan", attempt))
        return {"plan": plan.model_dump(mode="json"), "attempts": attempt + 1,
                **({"fallback": True} if fallback else {})}

    async def guard(self, state: AgentState) -> dict[str, Any]:
        plan = Plan.model_validate(state["plan"])
        current = {k: v.get("value") for k, v in state.get("current", {}).items()}
        recent = self.d.store.recent_actions()
        decisions = []
        for i, req in enumerate(plan.actions):
            decision = self.d.guard.evaluate(req, current, recent)
            decisions.append({"request": req.model_dump(mode="json"), "decision": decision.model_dump(mode="json")})
            if decision.allowed and not decision.needs_approval and origin_of(req) == "llm":
                # the policy opted in to let the model act alone here: say so on the record, every time
                self.d.ledger.append("llm-autonomy", {"target": req.target, "kind": req.kind.value,
                                                      "value": req.value, "approval_rule": decision.approval_rule,
                                                      "policy": self.d.guard.policy.name},
                                     run_id=state["run_id"],
                                     key=self._key(state, f"autonomy{state.get('attempts', 1)}", i))
            if not decision.allowed:
                self.d.ledger.append("refusal", {"target": req.target, "value": req.value,
                                                 "reasons": decision.reasons, "policy": self.d.guard.policy.name},
                                     run_id=state["run_id"],
                                     key=self._key(state, f"guard{state.get('attempts', 1)}", i))
        return {"decisions": decisions}

    def after_guard(self, state: AgentState) -> str:
        refused = any(not d["decision"]["allowed"] for d in state.get("decisions", []))
        if refused and self.d.planner.name != "playbook" and not state.get("fallback") and (
                state.get("attempts", 0) <= self.d.config.max_replans + 1):
            return "plan"  # re-plan with the refusals; after max_replans the plan node falls back or escalates
        return "approve"

    async def approve(self, state: AgentState) -> dict[str, Any]:
        waiting = [d for d in state["decisions"] if d["decision"]["allowed"] and d["decision"]["needs_approval"]]
        if not waiting:
            return {"approval": {"decision": "not-required"}}
        run_id = state["run_id"]
        current = {k: v.get("value") for k, v in state.get("current", {}).items()}
        request = {"run_id": run_id, "pilot": self.d.config.name,
                   "diagnosis": (state.get("plan") or {}).get("diagnosis", ""),
                   "actions": [d["request"] for d in waiting],
                   "planner": (state.get("plan") or {}).get("planner"),
                   "approval_rules": [d["decision"].get("approval_rule") for d in waiting],
                   "quoted_sources": [{"citation": str(k.get("citation")), "quoted": quote_excerpt(k.get("text"))}
                                      for k in state.get("knowledge", [])[:4]],
                   "edit_rules": edit_rules(self.d.guard, state["decisions"], current),
                   "event": _event_key(state)}
        self.d.store.request_approval(run_id, request)
        self.d.store.upsert_run(run_id, self.d.config.name, "waiting_approval", summary=request["diagnosis"])
        self.d.ledger.append("approval-requested", request, run_id=run_id, key=self._key(state, "approve-req"))
        answer: dict[str, Any] = interrupt(request)
        decisions = _nodes_act.apply_edits(self.d, state, answer)
        self.d.ledger.append("approval", {"decision": answer.get("decision"), "by": answer.get("by"),
                                          "at": answer.get("at"), "edits": answer.get("edits") or {},
                                          "comment": answer.get("comment", "")},
                             run_id=run_id, key=self._key(state, "approve"))
        self.d.store.upsert_run(run_id, self.d.config.name, "running")
        return {"approval": answer, "decisions": decisions}

    async def act(self, state: AgentState) -> dict[str, Any]:
        return await _nodes_act.act(self.d, state, _crash_hook)

    async def verify(self, state: AgentState) -> dict[str, Any]:
        return await _nodes_act.verify(self.d, state)

    async def report(self, state: AgentState) -> dict[str, Any]:
        run_id = state["run_id"]
        events = state.get("events", [])
        results = state.get("results", [])
        if not events:
            status = "no_event"
        elif any(r["status"] in ("failed", "unconfirmed") for r in results) or (state.get("plan") or {}).get(
                "escalate") or (state.get("fallback") and any(r["status"] == "refused" for r in results)) or any(
                r["status"] == "refused" and str(r.get("reason", "")).startswith("edited value refused")
                for r in results):
            # a person has to look: an action not confirmed, the planner escalated, the fallback plan was
            # refused too, or a person's edit was refused by the policy
            status = "attention"
        else:
            status = "done"
        plan = state.get("plan") or {}
        report = {
            "run_id": run_id, "pilot": self.d.config.name, "status": status,
            "observed": [{"role": e.get("role"), "tag_id": e["tag_id"], "value": e.get("value"),
                          "detector": e.get("detector"), "message": e.get("message"),
                          "severity": e.get("severity")} for e in events],
            "diagnosis": plan.get("diagnosis", ""), "planner": plan.get("planner"), "playbook": plan.get("playbook"),
            "citations": [str(k.get("citation")) for k in state.get("knowledge", [])],
            "results": [r | {"role": self.d.role_of(r["request"]["target"])} for r in results],
        }
        rec = self.d.ledger.append("report", {k: v for k, v in report.items() if k != "results"} | {
            "results": [{"target": r["request"]["target"], "status": r["status"], "reason": r.get("reason", "")}
                        | ({"codes": r["reason_codes"]} if r.get("reason_codes") else {})
                        for r in results]}, run_id=run_id, key=self._key(state, "report"))
        report["ledger_ids"] = [r.seq for r in self.d.ledger.records(run_id=run_id)]
        report["ledger_head"] = rec.hash
        self.d.store.upsert_run(run_id, self.d.config.name, status, summary=report["diagnosis"] or status,
                                data={"report": report})
        return {"report": report, "status": status}


def _event_key(state: AgentState) -> str:
    """What identifies 'the same event' for one-pending-request-per-event: detector and role of the trigger."""
    trig = state.get("trigger") or {}
    events = state.get("events") or []
    first = events[0] if events else {}
    return str(trig.get("key") or f"{first.get('detector')}:{first.get('role') or first.get('tag_id')}")


def _after_detect(state: AgentState) -> str:
    return "retrieve" if state.get("events") else "report"


def _after_plan(state: AgentState) -> str:
    plan = state.get("plan") or {}
    return "guard" if plan.get("actions") else "report"


def _after_approve(state: AgentState) -> str:
    return "act"  # act also records refused and rejected actions, so the report lists every proposal


def build_graph(deps: RuntimeDeps) -> StateGraph[AgentState]:
    """The uncompiled graph; compile it with a checkpointer (the runtime does)."""
    n = _Nodes(deps)
    g: StateGraph[AgentState] = StateGraph(AgentState)
    for name in ("observe", "detect", "retrieve", "plan", "guard", "approve", "act", "verify", "report"):
        g.add_node(name, _wrap(name, getattr(n, name)))  # type: ignore[call-overload]
    g.add_edge(START, "observe")
    g.add_edge("observe", "detect")
    g.add_conditional_edges("detect", _after_detect, ["retrieve", "report"])
    g.add_edge("retrieve", "plan")
    g.add_conditional_edges("plan", _after_plan, ["guard", "report"])
    g.add_conditional_edges("guard", n.after_guard, ["plan", "approve"])
    g.add_conditional_edges("approve", _after_approve, ["act", "report"])
    g.add_edge("act", "verify")
    g.add_edge("verify", "report")
    g.add_edge("report", END)
    return g


def request_of(d: dict[str, Any]) -> ActionRequest:
    return ActionRequest.model_validate(d["request"])


def is_write(req: ActionRequest) -> bool:
    return req.kind is ActionKind.WRITE


def _policy_view(d: RuntimeDeps) -> dict[str, Any]:
    """What the policy lets a planner propose: allow-listed writes with their range, allow-listed methods."""
    roles = d.config.roles
    policy = d.guard.policy
    rules = {} if not policy.writes_enabled else {
        roles.get(r.target, r.target): {"min": r.min, "max": r.max, "max_step": r.max_step} for r in policy.tags}
    methods = [] if not policy.writes_enabled else [m.target for m in policy.methods]
    return {"write_rules": rules, "methods": methods}
