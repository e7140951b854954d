"""The read tools: tags, values, history, documents, runs, ledger — scoped to the caller's company."""

from __future__ import annotations

import asyncio
import contextlib
import math
from datetime import UTC, datetime, timedelta
from typing import Any

from factorypilot.agents.planners.base import localized
from factorypilot.connectors.base import Capability
from factorypilot.errors import CapabilityError, ConfigError
from factorypilot.mcp._deployment import Deployment, ServedPilot
from factorypilot.mcp._identity import Caller
from factorypilot.mcp._models import (
    LONG,
    ActionProgress,
    AlarmOut,
    Alarms,
    Citation,
    DocumentHit,
    Documents,
    HistoryResult,
    LedgerCheck,
    RunInfo,
    RunList,
    RunSummary,
    TagInfo,
    TagList,
    ValueOut,
    Values,
    WriteRule,
    untrusted,
)
from factorypilot.vocabulary import AlarmEvent, Sample

__all__ = ["get_run", "list_alarms", "list_runs", "list_tags", "read_history", "read_values", "search_documents",
           "verify_ledger"]

MAX_TAGS = 500


def _rule(p: ServedPilot, role: str, tag_id: str) -> WriteRule | None:
    roles = p.runtime.config.roles
    rule = next((r for r in p.spec.policy.tags if roles.get(r.target, r.target) == tag_id or r.target == role), None)
    if rule is None:
        return None
    return WriteRule(min=rule.min, max=rule.max, max_step=rule.max_step, max_changes=rule.max_changes,
                     window_s=rule.window_s, approval=rule.approval if isinstance(rule.approval, str)
                     else ", ".join(f"{k}: {v}" for k, v in rule.approval.items()))


def list_tags(dep: Deployment, caller: Caller, pilot: str | None, lang: str) -> TagList:
    p = dep.pilot_for(caller, pilot)
    tags = []
    methods = []
    for role, tag_id in p.runtime.config.roles.items():
        rs = p.spec.roles.get(role)
        if rs is not None and rs.kind == "method":
            methods.append(role)
            continue
        rng = rs.typical_range if rs else None
        tags.append(TagInfo(role=role, tag_id=tag_id, name=untrusted(localized(rs.description, lang) if rs else role),
                            unit=rs.unit if rs else None, data_type=rs.data_type.value if rs else None,
                            writable=bool(rs and rs.writable),
                            limits={"typical_low": rng[0], "typical_high": rng[1]} if rng else None,
                            write_rule=_rule(p, role, tag_id)))
    return TagList(pilot=p.id, company=p.company, writes_enabled=p.spec.policy.writes_enabled, tags=tags,
                   methods=methods)


def _value(s: Sample, role: str | None) -> ValueOut:
    v = s.value
    num: Any = None
    text = None
    if isinstance(v, bool) or (isinstance(v, int | float) and math.isfinite(v)):
        num = v
    elif v is not None:
        text = untrusted(v)
    return ValueOut(tag_id=s.tag_id, role=role, value=num, text=text, quality=s.quality.value,
                    source_time=s.source_time.isoformat() if s.source_time else None)


def _resolve(dep: Deployment, p: ServedPilot, tags: list[str]) -> list[str]:
    """Tag ids of roles or bound tag ids; any other node id only when the deployment allows raw node ids."""
    if not tags:
        raise ConfigError("name at least one tag or role / 태그나 역할을 하나 이상 지정하십시오",
                          hint="see list_tags / list_tags 참고")
    if len(tags) > MAX_TAGS:
        raise ConfigError(f"{len(tags)} tags in one call; at most {MAX_TAGS} / 한 번에 최대 {MAX_TAGS}개 태그",
                          hint="split the call / 나누어 호출하십시오")
    roles = p.runtime.config.roles
    if not dep.raw_node_ids:
        bound = set(roles.values())
        unknown = [t for t in tags if t not in roles and t not in bound]
        if unknown:
            shown = ", ".join(repr(t) for t in unknown[:5]) + (f" (+{len(unknown) - 5})" if len(unknown) > 5 else "")
            raise ConfigError(f"pilot {p.id!r} has no role or bound tag {shown} "
                              f"/ {p.id!r} 파일럿에 없는 역할·태그입니다: {shown}",
                              hint="see list_tags; an operator can start the server with --allow-raw-node-ids "
                                   "to read other node ids / list_tags 를 보십시오; 다른 노드 ID 는 서버를 "
                                   "--allow-raw-node-ids 로 시작해야 읽을 수 있습니다")
    return [roles.get(t, t) for t in tags]


async def read_values(dep: Deployment, caller: Caller, tags: list[str], pilot: str | None) -> Values:
    p = dep.pilot_for(caller, pilot)
    ids = _resolve(dep, p, tags)
    samples = await p.connector.read(ids)
    return Values(pilot=p.id, values=[_value(s, p.runtime.deps.role_of(s.tag_id)) for s in samples])


async def read_history(dep: Deployment, caller: Caller, tag: str, minutes: float, max_points: int,
                       pilot: str | None) -> HistoryResult:
    p = dep.pilot_for(caller, pilot)
    [tag_id] = _resolve(dep, p, [tag])
    end = datetime.now(UTC)
    start = end - timedelta(minutes=minutes)
    try:
        samples = await p.connector.history([tag_id], start, end)
    except CapabilityError as exc:
        raise ConfigError(f"pilot {p.id!r}: the plant connection keeps no history ({exc.message}) "
                          "/ 설비 연결에 이력이 없습니다",
                          hint="use read_values, or enable historizing on the OPC UA server "
                               "/ read_values 를 쓰거나 OPC UA 서버의 이력 보관을 켜십시오") from exc
    kept = samples[-max_points:]
    return HistoryResult(pilot=p.id, tag_id=tag_id, role=p.runtime.deps.role_of(tag_id), start=start.isoformat(),
                         end=end.isoformat(), points=[_value(s, None) for s in kept],
                         truncated=len(samples) > len(kept))


async def search_documents(dep: Deployment, caller: Caller, query: str, k: int, company: str | None) -> Documents:
    firm = dep.company_for(caller, company)
    store = dep.knowledge(firm)
    ask = getattr(store, "aask", None)  # abstention ("not answerable"), where the store offers it
    evidence: float | None = None
    if ask is not None:
        answer = await ask(query, k=k)
        hits, answerable, evidence = list(answer.hits), bool(answer.answerable), getattr(answer, "evidence", None)
    else:
        hits = await store.aquery(query, k=k)
        answerable = bool(hits)
    return Documents(company=firm, answerable=answerable, evidence=evidence, hits=[
        DocumentHit(excerpt=untrusted(h.text, LONG), score=float(h.score),
                    citation=Citation(file=h.citation.file, section=h.citation.section, page=h.citation.page,
                                      chunk_id=h.citation.chunk_id)) for h in hits])


def _visible_pilots(dep: Deployment, caller: Caller) -> dict[str, ServedPilot]:
    return {p.id: p for p in dep.pilots.values() if caller.sees(p.company)}


def _summary(r: Any) -> RunSummary:
    return RunSummary(run_id=r.run_id, pilot=r.pilot, status=r.status, created=r.created, updated=r.updated,
                      summary=untrusted(r.summary))


def list_runs(dep: Deployment, caller: Caller, status: str | None, limit: int, pilot: str | None) -> RunList:
    pilots = _visible_pilots(dep, caller)
    if pilot is not None:
        pilots = {dep.pilot_for(caller, pilot).id: dep.pilot_for(caller, pilot)}
    if not pilots:
        return RunList(runs=[])
    store = next(iter(pilots.values())).runtime.store
    rows = [r for r in store.runs(status=status, limit=max(limit * 5, 200)) if r.pilot in pilots]
    return RunList(runs=[_summary(r) for r in rows[:limit]])


def run_actions(p: ServedPilot, run_id: str) -> list[ActionProgress]:
    """Every action of a run: from the action table, else (refused/rejected, never planned) from its report."""
    run = p.runtime.store.run(run_id)
    report = (run.data.get("report") if run else None) or {}
    results = {r.get("idempotency_key"): r for r in report.get("results", [])}
    out = []
    for a in p.runtime.store.actions_for(run_id):
        rb = (results.get(a.key) or {}).get("read_back") or {}
        out.append(ActionProgress(target=a.target, kind=a.kind, value=a.request.get("value"), status=a.state,
                                  read_back=rb.get("value"), detail=untrusted(a.detail)))
    known = {a.key for a in p.runtime.store.actions_for(run_id)}
    for key, r in results.items():
        if key not in known:
            req = r.get("request", {})
            out.append(ActionProgress(target=req.get("target", ""), kind=req.get("kind", ""),
                                      value=req.get("value"), status=r.get("status", ""),
                                      detail=untrusted(r.get("reason", ""))))
    return out


def get_run(dep: Deployment, caller: Caller, run_id: str) -> RunInfo:
    pilots = _visible_pilots(dep, caller)
    p = next(iter(pilots.values()), None)
    run = p.runtime.store.run(run_id) if p else None
    if p is None or run is None or run.pilot not in pilots:
        raise ConfigError(f"no run {run_id!r} for this client / 이 클라이언트에 {run_id!r} 실행이 없습니다",
                          hint="see list_runs / list_runs 참고")
    p = pilots[run.pilot]
    approval = p.runtime.store.approval(run_id)
    report = run.data.get("report") or {}
    return RunInfo(run=_summary(run), actions=run_actions(p, run_id),
                   approval={"decision": approval.decision, "decided_by": approval.decided_by,
                             "decided_at": approval.decided_at} if approval else None,
                   citations=[untrusted(c) for c in report.get("citations", [])])


def verify_ledger(dep: Deployment) -> LedgerCheck:
    assert dep.ledger is not None
    report = dep.ledger.verify()
    return LedgerCheck(ok=report.ok, records=report.records, problems=[str(x) for x in report.problems][:50])


async def list_alarms(dep: Deployment, caller: Caller, seconds: float, pilot: str | None) -> Alarms:
    """The plant's current alarms: ConditionRefresh brings the ones already active, then ``seconds`` of changes."""
    p = dep.pilot_for(caller, pilot)
    if Capability.EVENTS not in p.connector.capabilities:
        raise ConfigError(f"pilot {p.id!r}: the plant connection delivers no alarm events "
                          "/ 설비 연결이 알람 이벤트를 주지 않습니다",
                          hint="use read_values on the alarm tags, or connect over OPC UA with Alarms & Conditions "
                               "/ 알람 태그를 read_values 로 읽거나 OPC UA 알람·조건으로 연결하십시오")
    latest: dict[str, AlarmEvent] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    async with contextlib.aclosing(p.connector.events()) as stream:
        while (left := deadline - loop.time()) > 0:
            try:
                item = await asyncio.wait_for(anext(stream), left)
            except (TimeoutError, StopAsyncIteration):
                break
            if isinstance(item, AlarmEvent):
                latest[item.condition_id] = item
    current = sorted((a for a in latest.values() if a.active or a.retain or not a.acked),
                     key=lambda a: (-a.severity, a.time))
    return Alarms(pilot=p.id, listened_seconds=seconds, alarms=[
        AlarmOut(condition_id=a.condition_id, source=a.source_node, event_type=a.event_type,
                 message=untrusted(a.message, LONG), severity=a.severity, active=a.active, acked=a.acked,
                 confirmed=a.confirmed, time=a.time.isoformat(), refreshed=a.refreshed) for a in current])
