"""The Approvals page: pending requests with diagnosis, proposed change, policy check, the dry run (the guard's
verdict now), cited documents with their excerpts, and the approve / reject / edit form (approver role,
CSRF-checked, one compare-and-set path)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from factorypilot.agents import RunStore
from factorypilot.console._app import ConsoleConfig, check_csrf, render, require, scope_of
from factorypilot.console._data import Scope, ledger_rows, pending_approvals
from factorypilot.console._decide import _show, decide, policy_checks
from factorypilot.console._dryrun import dry_run
from factorypilot.console._i18n import translate
from factorypilot.console._live import LiveHub
from factorypilot.console._request_view import planner_of, quoted_sources
from factorypilot.console._routes_live import link_of
from factorypilot.console._specs import spec_for, unit_of
from factorypilot.console._users import UserStore
from factorypilot.errors import ApprovalError

router = APIRouter()
_FIRST_VALUE_S = 3.0  # at most this long for a fresh subscription's first value before the page renders


def _recent(home: Path) -> list[tuple[datetime, str]]:
    if not (home / "agent.sqlite").exists():
        return []
    store = RunStore(home / "agent.sqlite", readonly=True)
    try:
        return store.recent_actions()
    finally:
        store.close()


def _shown(dry: dict[str, Any] | None) -> dict[str, Any] | None:
    return None if dry is None else dry | {"before": _show(dry["before"]) or None, "after": _show(dry["after"])}


def _view(home: Path, scope: Scope, users: UserStore, hub: LiveHub, item: dict[str, Any],
          recent: list[tuple[datetime, str]]) -> dict[str, Any]:
    request = item["request"]
    owner = users.pilot_owners().get(item["pilot"])
    spec = spec_for(item["pilot"], owner[1] if owner else None)
    link = link_of(users, item["pilot"], home)
    live, _ = hub.snapshot(item["pilot"])
    roles = dict(link.roles) if link else dict(spec.bindings) if spec else {}
    rules: dict[str, Any] = request.get("edit_rules") or {}
    waiting = list(request.get("actions") or [])
    approval_rules = list(request.get("approval_rules") or [])
    actions = []
    for n, (index, info) in enumerate(sorted(rules.items(), key=lambda kv: int(kv[0]))):
        req = waiting[n] if n < len(waiting) else {}
        actions.append({"index": index, "target": info.get("target"), "kind": info.get("kind"),
                        "from": _show(info.get("current")), "to": _show(info.get("value")),
                        "unit": unit_of(spec, str(info.get("target"))), "reason": req.get("reason", ""),
                        "proposer": req.get("requested_by") or "",
                        "rule": approval_rules[n] if n < len(approval_rules) else "",
                        "checks": policy_checks(info), "editable": info.get("kind") == "write",
                        "dry": _shown(dry_run(info, spec, roles, live, recent))})
    citations = []
    for r in ledger_rows(home, scope, run_id=item["run_id"], kind="retrieval", limit=None, newest_first=False):
        texts = list(r.payload.get("excerpts") or [])
        for i, c in enumerate(r.payload.get("citations", [])):
            citations.append({"citation": c, "excerpt": texts[i] if i < len(texts) else None})
    return {"run_id": item["run_id"], "pilot": item["pilot"], "requested": item["requested"][:19],
            "diagnosis": request.get("diagnosis", ""), "actions": actions, "citations": citations,
            "planner": planner_of(request), "quoted": quoted_sources(request)}


def _page(request: Request, status: int = 200, notice: str | None = None, problem: str | None = None) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    scope = scope_of(request, session)
    users: UserStore = request.app.state.users
    recent = _recent(cfg.home)
    items = [_view(cfg.home, scope, users, request.app.state.live, i, recent)
             for i in pending_approvals(cfg.home, scope)]
    return render(request, "approvals.html", http_status=status, session=session, items=items, notice=notice,
                  problem=problem)


@router.get("/approvals")
async def approvals(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    users: UserStore = request.app.state.users
    hub: LiveHub = request.app.state.live
    pending_pilots = {i["pilot"] for i in await run_in_threadpool(pending_approvals, cfg.home,
                                                                    scope_of(request, session))}
    for pilot in sorted(pending_pilots):  # the dry run compares against the live value when there is a link
        link = await run_in_threadpool(link_of, users, pilot, cfg.home)
        if link is not None:
            hub.watch(pilot, link)
            await hub.ready(pilot, _FIRST_VALUE_S)
    return await run_in_threadpool(_page, request)


@router.post("/approvals/{run_id}")
async def decide_run(request: Request, run_id: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    return await run_in_threadpool(_decide_and_render, request, run_id, form)  # SQLite off the event loop


def _decide_and_render(request: Request, run_id: str, form: dict[str, str]) -> Response:
    session = require(request)
    check_csrf(session, form.get("csrf"))
    cfg: ConsoleConfig = request.app.state.cfg
    lang = request.cookies.get("fp_lang", "ko")
    try:
        row = decide(cfg.home, scope_of(request, session), session.user, run_id, form.get("decision", ""), form)
    except ApprovalError as exc:
        return _page(request, 409, problem=translate("approval_refused", lang, reason=str(exc)))
    notice = translate("approval_done", lang, run_id=run_id, by=row.decided_by,
                       decision=translate(f"decision_{row.decision}", lang))
    return _page(request, notice=notice)


@router.get("/api/pending")
def pending(request: Request) -> Response:
    """The pending run ids this user may see, as JSON (scripts, the benchmark; the page itself uses /api/stream)."""
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    ids = [i["run_id"] for i in pending_approvals(cfg.home, scope_of(request, session))]
    return JSONResponse({"count": len(ids), "runs": ids})
