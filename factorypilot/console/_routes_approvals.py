"""The Approvals page: pending requests with diagnosis, proposed change, policy check and citations, and the
approve / reject / edit form (approver role, CSRF-checked, one compare-and-set path)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from factorypilot.console._app import ConsoleConfig, check_csrf, render, require, scope_of
from factorypilot.console._data import Scope, ledger_rows, pending_approvals
from factorypilot.console._decide import _show, decide, policy_checks
from factorypilot.console._i18n import translate
from factorypilot.console._specs import spec_for, unit_of
from factorypilot.console._users import UserStore
from factorypilot.errors import ApprovalError

router = APIRouter()


def _view(home: Path, scope: Scope, users: UserStore, item: dict[str, Any]) -> dict[str, Any]:
    request = item["request"]
    owner = users.pilot_owners().get(item["pilot"])
    spec = spec_for(item["pilot"], owner[1] if owner else None)
    rules: dict[str, Any] = request.get("edit_rules") or {}
    waiting = list(request.get("actions") or [])
    actions = []
    for n, (index, info) in enumerate(sorted(rules.items(), key=lambda kv: int(kv[0]))):
        req = waiting[n] if n < len(waiting) else {}
        actions.append({"index": index, "target": info.get("target"), "kind": info.get("kind"),
                        "from": _show(info.get("current")), "to": _show(info.get("value")),
                        "unit": unit_of(spec, str(info.get("target"))), "reason": req.get("reason", ""),
                        "checks": policy_checks(info), "editable": info.get("kind") == "write"})
    citations = [c for r in ledger_rows(home, scope, run_id=item["run_id"], kind="retrieval", limit=None)
                 for c in r.payload.get("citations", [])]
    return {"run_id": item["run_id"], "pilot": item["pilot"], "requested": item["requested"][:19],
            "diagnosis": request.get("diagnosis", ""), "actions": actions, "citations": citations}


def _page(request: Request, status: int = 200, notice: str | None = None, problem: str | None = None) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    scope = scope_of(request, session)
    users: UserStore = request.app.state.users
    items = [_view(cfg.home, scope, users, i) for i in pending_approvals(cfg.home, scope)]
    return render(request, "approvals.html", http_status=status, session=session, items=items, notice=notice,
                  problem=problem)


@router.get("/approvals")
def approvals(request: Request) -> Response:
    return _page(request)


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
    """Live part of the Approvals page (polled by console.js): the pending run ids this user may see."""
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    ids = [i["run_id"] for i in pending_approvals(cfg.home, scope_of(request, session))]
    return JSONResponse({"count": len(ids), "runs": ids})
