"""Pilots (state, plant link, latest observed values with units and limits, recent events), Programme (firms'
KPIs against the +10 % target, deployments against 20) and Evaluation (gate results and report charts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from factorypilot.agents import read_leases
from factorypilot.console._app import ConsoleConfig, PageError, lang_of, render, require
from factorypilot.console._data import Scope, ledger_rows, runs_page
from factorypilot.console._live import LiveHub
from factorypilot.console._matching import MatchingResults
from factorypilot.console._routes_live import LIVE_S, link_of
from factorypilot.console._specs import limits_of, spec_for
from factorypilot.console._users import Session, UserStore

router = APIRouter()


def _visible_pilots(request: Request, session: Session) -> dict[str, tuple[str, str | None]]:
    users: UserStore = request.app.state.users
    owners = users.pilot_owners()
    if session.user.all_companies:
        cfg: ConsoleConfig = request.app.state.cfg
        rows, _ = runs_page(cfg.home, Scope(None), limit=1000)
        for r in rows:
            owners.setdefault(r.pilot, ("-", None))
        return owners
    return {p: owners[p] for p in users.pilots_of(session.user)}


@router.get("/pilots")
def pilots(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    leases = read_leases(cfg.home / "agent.sqlite")
    users: UserStore = request.app.state.users
    hub: LiveHub = request.app.state.live
    cards = []
    for pilot, (company, ref) in sorted(_visible_pilots(request, session).items()):
        spec = spec_for(pilot, ref)
        scope = Scope((pilot,))
        lease = leases.get(pilot)
        running = lease is not None and lease.age_s() < LIVE_S
        state = "running" if running else "stopped"
        if spec is not None and not spec.policy.writes_enabled:
            state = "read_only" if running else "stopped"
        obs = ledger_rows(cfg.home, scope, kind="observation", limit=1)
        recorded: dict[str, Any] = obs[0].payload.get("values", {}) if obs else {}
        link = link_of(users, pilot, cfg.home, leases)
        live, error = hub.snapshot(pilot)
        values = []
        for role in sorted(set(recorded) | set(link.roles if link else ())):
            rs = spec.roles.get(role) if spec else None
            now = live.get(role)
            values.append({"role": role, "unit": rs.unit if rs else None, "limits": limits_of(spec, role),
                           "value": now.value if now else recorded.get(role, "—"),
                           "time": now.time if now else (obs[0].time[:19] if obs and role in recorded else "—"),
                           "source": "live" if now else "recorded"})
        events = [e | {"time": r.time[:19]} for r in ledger_rows(cfg.home, scope, kind="detection", limit=20)
                  for e in r.payload.get("events", [])][:5]
        waits = ledger_rows(cfg.home, scope, kind="waiting-for-plant", limit=3)
        # subscription gaps are plant-wide records (no run): a pilot is shown those on the tags it is bound to
        tags = set(link.roles.values()) if link else set()
        gaps = [{"time": g.time[:19], "reason": g.payload.get("reason", ""), "start": str(g.payload.get("start"))[:19],
                 "end": str(g.payload.get("end") or "…")[:19]}
                for g in ledger_rows(cfg.home, Scope(None), kind="gap", limit=200)
                if g.run_id is None and tags & set(g.payload.get("tag_ids") or ())][:5]
        cards.append({"pilot": pilot, "company": company, "state": state, "observed": values, "events": events,
                      "subscribed": link is not None, "live_error": error, "gaps": gaps,
                      "link": f"{lease.host} PID {lease.pid}, {lease.heartbeat[:19]}" if running and lease else "—",
                      "outages": [{"time": w.time[:19], "error": w.payload.get("error", "")} for w in waits]})
    return render(request, "pilots.html", session=session, cards=cards)


@router.get("/programme")
def programme(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    from factorypilot.pilots.spreading.programme import HIGHER_IS_BETTER, collect

    deployments = [d for d in collect([p for p in cfg.projects if p.exists()])
                   if session.user.all_companies or d.company == session.user.company]
    rows: list[dict[str, Any]] = []
    for d in deployments:
        for kpi in sorted(set(d.baseline) & set(d.current)):
            base, now = d.baseline[kpi], d.current[kpi]
            change = (now - base) / base * 100 if base else 0.0
            better = change if HIGHER_IS_BETTER.get(kpi, True) else -change
            rows.append({"firm": d.company, "template": d.template, "kpi": kpi, "baseline": base, "current": now,
                         "change": change, "better": better, "meets": better >= cfg.productivity_target_pct})
    chart = _chart(rows, cfg.productivity_target_pct)
    results: MatchingResults = request.app.state.matching
    firms, failures = results.firms(lang_of(request), None if session.user.all_companies else session.user.company)
    return render(request, "programme.html", session=session, rows=rows, count=len(deployments),
                  chart=chart,
                  matching={"state": results.state, "error": results.error, "firms": firms, "failures": failures},
                  target=cfg.deployment_target, pct=cfg.productivity_target_pct,
                  projects=", ".join(str(p) for p in cfg.projects) or "—")


def _chart(rows: list[dict[str, Any]], target: float) -> dict[str, Any] | None:
    """Bars of each firm's KPI improvement (%, positive = better, whichever way the KPI points) against the
    +target line, as SVG coordinates (server-drawn: no script, no inline style)."""
    if not rows:
        return None
    span = max([abs(float(r["better"])) for r in rows] + [2 * target]) * 1.1
    left, width, row_h = 300, 420, 24

    def x(v: float) -> float:
        return round(left + (v + span) / (2 * span) * width, 1)

    bars = [{"y": 10 + i * row_h, "x": min(x(0), x(r["better"])), "w": round(abs(x(r["better"]) - x(0)), 1),
             "label": f"{r['firm']} · {r['kpi']}", "value": f"{r['better']:+.1f}%", "meets": r["meets"],
             "end": x(r["better"])} for i, r in enumerate(rows)]
    return {"width": left + width + 70, "height": 20 + len(rows) * row_h, "zero": x(0), "target": x(target),
            "bars": bars, "left": left}


def _reports(cfg: ConsoleConfig) -> list[Path]:
    roots = list(cfg.reports) or [cfg.home / "reports"]
    return sorted((p for r in roots if r.exists() for p in r.rglob("report.json")), reverse=True)


@router.get("/evaluation")
def evaluation(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    visible = set(_visible_pilots(request, session))
    reports = []
    for i, path in enumerate(_reports(cfg)):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if data.get("pilot") not in visible:
            continue
        reports.append({"id": i, "pilot": data.get("pilot"), "started": str(data.get("started", ""))[:19],
                        "passed": data.get("gate_passed"), "failures": (data.get("gate") or {}).get("failures", []),
                        "metrics": data.get("metrics", {}),
                        "charts": sorted(p.name for p in path.parent.glob("*.png"))})
    return render(request, "evaluation.html", session=session, reports=reports)


@router.get("/evaluation/{index}/{name}")
def chart(request: Request, index: int, name: str) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    reports = _reports(cfg)
    if not 0 <= index < len(reports) or "/" in name or not name.endswith(".png"):
        raise PageError(404, "error_404")
    data = json.loads(reports[index].read_text(encoding="utf-8"))
    if data.get("pilot") not in set(_visible_pilots(request, session)):
        raise PageError(404, "error_404")
    path = reports[index].parent / name
    if not path.is_file():
        raise PageError(404, "error_404")
    return FileResponse(path, media_type="image/png")
