"""Pilots (state, plant link, latest observed values with units and limits, recent events), Programme (firms'
KPIs against the +10 % target, deployments against 20) and Evaluation (gate results and report charts)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, Response

from factorypilot.console._app import ConsoleConfig, PageError, render, require
from factorypilot.console._data import Scope, ledger_rows, runs_page
from factorypilot.console._specs import limits_of, spec_for
from factorypilot.console._users import Session, UserStore

router = APIRouter()
_LIVE_S = 30.0  # a lease heartbeat younger than this = the pilot service is running


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


def _leases(home: Path) -> dict[str, tuple[str, int, str]]:
    path = home / "agent.sqlite"
    if not path.exists():
        return {}
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=5)
    try:
        rows = db.execute("SELECT pilot, host, pid, heartbeat FROM leases").fetchall()
    except sqlite3.Error:
        return {}
    finally:
        db.close()
    return {p: (h, pid, hb) for p, h, pid, hb in rows}


def _age_s(iso: str) -> float:
    try:
        return (datetime.now(UTC) - datetime.fromisoformat(iso)).total_seconds()
    except ValueError:
        return float("inf")


@router.get("/pilots")
def pilots(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    leases = _leases(cfg.home)
    cards = []
    for pilot, (company, ref) in sorted(_visible_pilots(request, session).items()):
        spec = spec_for(pilot, ref)
        scope = Scope((pilot,))
        lease = leases.get(pilot)
        running = lease is not None and _age_s(lease[2]) < _LIVE_S
        state = "running" if running else "stopped"
        if spec is not None and not spec.policy.writes_enabled:
            state = "read_only" if running else "stopped"
        obs = ledger_rows(cfg.home, scope, kind="observation", limit=1)
        values = []
        if obs:
            for role, value in sorted(obs[0].payload.get("values", {}).items()):
                rs = spec.roles.get(role) if spec else None
                values.append({"role": role, "value": value, "unit": rs.unit if rs else None,
                               "limits": limits_of(spec, role), "time": obs[0].time[:19]})
        events = [e | {"time": r.time[:19]} for r in ledger_rows(cfg.home, scope, kind="detection", limit=20)
                  for e in r.payload.get("events", [])][:5]
        waits = ledger_rows(cfg.home, scope, kind="waiting-for-plant", limit=3)
        cards.append({"pilot": pilot, "company": company, "state": state, "observed": values, "events": events,
                      "link": f"{lease[0]} PID {lease[1]}, {lease[2][:19]}" if running and lease else "—",
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
                         "change": change, "meets": better >= cfg.productivity_target_pct})
    return render(request, "programme.html", session=session, rows=rows, count=len(deployments),
                  target=cfg.deployment_target, pct=cfg.productivity_target_pct,
                  projects=", ".join(str(p) for p in cfg.projects) or "—")


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
