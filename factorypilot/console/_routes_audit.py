"""Runs (history with filters, a run's timeline with every ledger record) and the Ledger (browse, verify,
export a range as JSON or CSV for an auditor). All reads are scoped to the user's firm in the queries."""

from __future__ import annotations

import csv
import io
import json
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from factorypilot.agents import Ledger, result_reason
from factorypilot.console._app import ConsoleConfig, PageError, lang_of, render, require, scope_of
from factorypilot.console._data import ledger_rows, run_detail, runs_page
from factorypilot.console._request_view import PLAN_SOURCES, plan_source, request_view

router = APIRouter()
PAGE = 50
STATUSES = ("running", "waiting_approval", "waiting_for_plant", "done", "attention", "failed", "no_event")


@router.get("/runs")
def runs(request: Request, status: str = "", pilot: str = "", q: str = "",
               page: Annotated[int, Query(ge=1, le=100_000)] = 1) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    rows, total = runs_page(cfg.home, scope_of(request, session), status=status or None, pilot=pilot or None,
                            query=q or None, limit=PAGE, offset=(page - 1) * PAGE)
    return render(request, "runs.html", session=session, rows=rows, total=total, page=page, status=status,
                  pilot=pilot, q=q, statuses=STATUSES, start=(page - 1) * PAGE + 1 if rows else 0,
                  end=(page - 1) * PAGE + len(rows))


@router.get("/runs/{run_id}")
def run(request: Request, run_id: str) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    scope = scope_of(request, session)
    detail = run_detail(cfg.home, scope, run_id)
    if detail is None:  # another firm's run reads exactly like a run that does not exist
        raise PageError(404, "error_404_run", run_id=run_id)
    records = ledger_rows(cfg.home, scope, run_id=run_id, limit=None, newest_first=False)
    asked = request_view(detail["approval"].request) if detail["approval"] else None
    planned = [r.payload for r in records if r.kind == "decision"]
    planner = (asked["planner"] if asked else "") or (
        f"llm:{planned[-1]['model']}" if planned and planned[-1].get("model") else
        str(planned[-1].get("planner") or "") if planned else "")
    source = plan_source(records)
    # a refusal found when acting: its reason in the page's language, from the report's reason codes
    results = {r.get("idempotency_key"): r for r in (detail["data"].get("report") or {}).get("results", [])}
    lang = lang_of(request)
    details = {a.key: result_reason(results[a.key], lang) for a in detail["actions"]
               if a.state == "refused" and a.key in results}
    return render(request, "run.html", session=session, d=detail, records=records, asked=asked, planner=planner,
                  details=details,
                  source=source, source_key="plan_source_" + source.replace("-", "_") if source in PLAN_SOURCES
                  else "", views={r.seq: request_view(r.payload) for r in records if r.kind == "approval-requested"},
                  dumps=lambda p: json.dumps(p, ensure_ascii=False, indent=1, default=str))


@router.get("/ledger")
def ledger(request: Request, kind: str = "", before: Annotated[int | None, Query(ge=1)] = None) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    records = ledger_rows(cfg.home, scope_of(request, session), kind=kind or None,
                          seq_to=before - 1 if before else None, limit=PAGE)
    return render(request, "ledger.html", session=session, records=records, kind=kind, verify=None,
                  older=records[-1].seq if len(records) == PAGE else None,
                  dumps=lambda p: json.dumps(p, ensure_ascii=False, default=str))


@router.get("/ledger/verify")
def verify(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    path = cfg.home / "ledger.sqlite"
    if not path.exists():
        raise PageError(404, "error_404")
    anchor = cfg.home / "agent.sqlite"
    with Ledger(path, readonly=True, anchor_db=anchor if anchor.exists() else None) as led:
        report = led.verify()
    scope = scope_of(request, session)
    first_visible = None
    if not report.ok and report.first_bad_seq is not None:
        rows = ledger_rows(cfg.home, scope, seq_from=report.first_bad_seq, seq_to=report.first_bad_seq)
        first_visible = rows[0] if rows else None
    records = ledger_rows(cfg.home, scope, limit=PAGE)
    return render(request, "ledger.html", session=session, records=records, kind="", older=None,
                  verify=report, first_bad=first_visible,
                  dumps=lambda p: json.dumps(p, ensure_ascii=False, default=str))


@router.get("/ledger/export")
def export(request: Request, fmt: Literal["json", "csv"] = "json",
                 seq_from: Annotated[int | None, Query(alias="from", ge=1)] = None,
                 seq_to: Annotated[int | None, Query(alias="to", ge=1)] = None) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    rows = ledger_rows(cfg.home, scope_of(request, session), seq_from=seq_from, seq_to=seq_to, limit=None,
                       newest_first=False)
    name = f"ledger-{seq_from or 1}-{seq_to or 'end'}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    fields = ("seq", "time", "kind", "run_id", "payload", "prev_hash", "hash")
    if fmt == "json":
        body = json.dumps([{"seq": r.seq, "time": r.time, "kind": r.kind, "run_id": r.run_id, "payload": r.payload,
                            "prev_hash": r.prev_hash, "hash": r.hash} for r in rows], ensure_ascii=False, indent=1)
        return Response(body, media_type="application/json; charset=utf-8", headers=headers)
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(fields)
    for r in rows:
        writer.writerow([r.seq, r.time, r.kind, r.run_id or "", json.dumps(r.payload, ensure_ascii=False,
                                                                             sort_keys=True), r.prev_hash, r.hash])
    return Response("\ufeff" + buf.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


__all__ = ["router"]
