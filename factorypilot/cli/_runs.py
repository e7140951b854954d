"""``factorypilot runs list|show|approve|reject|prune``: the human side of the approval loop.

``--project DIR`` works on a firm's template project (``template init``): its runs live in ``DIR/home``, the
same home ``template run --project DIR`` uses, so no ``FACTORYPILOT_HOME`` has to be set. Without it the
runs of ``FACTORYPILOT_HOME`` are used.

A decision is recorded in ``agent.sqlite`` as one compare-and-set: of two people deciding at once, exactly one
wins and the other is told who decided first ("already approved by alice at …", exit 1). Edits are checked
against the policy when they are made. The pilot service (``factorypilot pilot run``) applies a decision within
a second, or ``factorypilot pilot resume`` does when no service runs. Either way the action executes at most
once.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from factorypilot.cli._render import render_report
from factorypilot.errors import ApprovalError, ConfigError
from factorypilot.settings import get_settings

_PAST = {"approve": "approved", "reject": "rejected"}

runs_app = typer.Typer(help="List runs and approve or reject actions waiting for a person.", no_args_is_help=True)
console = Console()


def _project_option() -> Any:
    return typer.Option(None, "--project", help="a template project folder (template init): use its runs "
                        "(DIR/home) instead of FACTORYPILOT_HOME / 템플릿 프로젝트 폴더")


def _home(project: Path | None) -> Path:
    """The home whose runs are meant: the project's (as ``template run --project`` uses it) or the settings'."""
    if project is None:
        return get_settings().home
    from factorypilot.pilots.spreading.templates import Project

    return Project.open(project).home


def _has_runs(path: Path) -> bool:
    """Whether ``path`` holds a runs table: a home where only a ledger was kept (``template export``) has an
    ``agent.sqlite`` with the ledger head alone — that is "no runs here", not a damaged file."""
    if not path.exists():
        return False
    try:
        db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            return db.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='runs'").fetchone() is not None
        finally:
            db.close()
    except sqlite3.Error:
        return True  # let the store say what is wrong with the file


def _store(project: Path | None, *, readonly: bool = False) -> Any:
    from factorypilot.agents import RunStore

    path = _home(project) / "agent.sqlite"
    if not _has_runs(path):
        raise ConfigError(f"no runs yet at {path}", hint="run a pilot first (factorypilot demo / pilot run / "
                          "template run --project DIR); a template project's runs: --project DIR")
    return RunStore(path, readonly=readonly)


@runs_app.command("list")
def list_(status: str | None = typer.Option(None, help="filter: running, waiting_approval, done, attention ..."),
          limit: int = typer.Option(20, help="newest N runs"), project: Path | None = _project_option()) -> None:
    """List runs, newest first.

    Example:  factorypilot runs list --status waiting_approval
              factorypilot runs list --project robotics-weld-cell-메디텍 --status waiting_approval
    """
    store = _store(project, readonly=True)
    table = Table(title="runs")
    for col in ("run id", "pilot", "status", "updated", "summary"):
        table.add_column(col, overflow="fold")
    for r in store.runs(status=status, limit=limit):
        style = {"waiting_approval": "cyan", "done": "green", "attention": "red",
                 "waiting_for_plant": "yellow"}.get(r.status, "")
        table.add_row(r.run_id, r.pilot, f"[{style}]{r.status}[/]" if style else r.status, r.updated[:19],
                      r.summary[:80])
    console.print(table)


@runs_app.command("show")
def show(run_id: str = typer.Argument(...), lang: str = typer.Option("en", "--lang"),
         project: Path | None = _project_option()) -> None:
    """Show one run: its report, actions and any approval request.

    Example:  factorypilot runs show mobility-cnc-20261125T101500-1a2b3c
              factorypilot runs show RUN_ID --project robotics-weld-cell-메디텍 --lang ko
    """
    store = _store(project, readonly=True)
    run = store.run(run_id)
    if run is None:
        raise ApprovalError(f"no run {run_id!r}", hint="see: factorypilot runs list")
    console.print(f"[bold]{run.run_id}[/] — pilot {run.pilot}, status {run.status}")
    approval = store.approval(run_id)
    if approval:
        _print_request(approval.request, lang)
        console.print("approval request:", json.dumps(approval.request, ensure_ascii=False, indent=1))
        if approval.decision:
            console.print(f"decision: {_PAST.get(approval.decision, approval.decision)} by {approval.decided_by} "
                          f"at {approval.decided_at}")
    if run.data.get("report"):
        render_report(run.data["report"], console, lang=lang)
    from factorypilot.agents import result_reason

    results = {r.get("idempotency_key"): r for r in (run.data.get("report") or {}).get("results", [])}
    for a in store.actions_for(run_id):
        result = results.get(a.key)
        detail = result_reason(result, lang) if a.state == "refused" and result is not None else a.detail
        console.print(f"action {a.key}: {a.state} {detail}")


_REQ = {"en": {"asks": "Asks for approval", "by": "proposed by", "why": "why", "rule": "approval rule",
               "quoted": "Quoted sources (what the documents say, not the agent's conclusion)"},
        "ko": {"asks": "승인 요청", "by": "제안자", "why": "사유", "rule": "승인 규칙",
               "quoted": "인용 출처 (문서에 적힌 내용이며 에이전트의 판단이 아님)"}}


def _print_request(request: dict[str, Any], lang: str) -> None:
    """The approval request as a person reads it: each action with its reason, then the quoted sources."""
    t = _REQ.get(lang, _REQ["en"])
    console.print(f"[bold]{t['asks']}[/] ({request.get('planner') or '-'}): {escape(str(request.get('diagnosis')))}")
    rules = request.get("approval_rules") or []
    for i, a in enumerate(request.get("actions", [])):
        rule = f"; {t['rule']}: {rules[i]}" if i < len(rules) and rules[i] else ""
        console.print(f"  {i}. {a.get('kind')} {escape(str(a.get('target')))} = {escape(str(a.get('value'))[:80])} — "
                      f"{t['why']}: {escape(str(a.get('reason') or '-'))} ({t['by']} {a.get('requested_by')}{rule})")
    quoted = request.get("quoted_sources") or []
    if quoted:
        console.print(f"  {t['quoted']}:")
        for q in quoted:
            console.print("    > " + escape(f"[{q.get('citation')}] {q.get('quoted')}"))


def _decide(run_id: str, decision: str, by: str, edits: list[str], comment: str, project: Path | None) -> None:
    parsed: dict[str, Any] = {}
    for e in edits:
        key, sep, value = e.partition("=")
        if not sep:
            raise ConfigError(f"cannot read edit {e!r}", hint="use --set INDEX=VALUE or --set TAG_ID=VALUE")
        try:
            parsed[key] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key] = value
    row = _store(project).decide(run_id, decision, by, edits=parsed, comment=comment)
    then = (f"factorypilot template run --project {escape(str(project))}" if project
            else "factorypilot pilot resume PILOT")
    console.print(f"[green]✓[/] {_PAST.get(row.decision, row.decision)} by {row.decided_by} — the pilot service "
                  f"applies it (or run: {then}) / 파일럿 서비스가 곧 적용합니다")


@runs_app.command("approve")
def approve(run_id: str = typer.Argument(...), by: str = typer.Option(..., "--by", help="your name (recorded)"),
            set_: list[str] = typer.Option([], "--set", help="edit a proposed value: INDEX=VALUE (within policy)"),
            comment: str = typer.Option("", help="recorded with the decision"),
            project: Path | None = _project_option()) -> None:
    """Approve the actions a run is waiting for (optionally with edited values; the policy is checked again).

    Example:  factorypilot runs approve mobility-cnc-20261125T101500-1a2b3c --by 김민수 --set 0=90
              factorypilot runs approve RUN_ID --project robotics-weld-cell-메디텍 --by 김반장
    """
    _decide(run_id, "approve", by, set_, comment, project)


@runs_app.command("reject")
def reject(run_id: str = typer.Argument(...), by: str = typer.Option(..., "--by", help="your name (recorded)"),
           comment: str = typer.Option("", help="why (recorded)"), project: Path | None = _project_option()) -> None:
    """Reject the actions a run is waiting for; nothing is written.

    Example:  factorypilot runs reject mobility-cnc-20261125T101500-1a2b3c --by lee --comment "changeover"
              factorypilot runs reject RUN_ID --project robotics-weld-cell-메디텍 --by lee
    """
    _decide(run_id, "reject", by, [], comment, project)


@runs_app.command("prune")
def prune(keep: int = typer.Option(500, "--keep", min=0, help="finished runs whose checkpoints are kept"),
          project: Path | None = _project_option()) -> None:
    """Drop the LangGraph checkpoints of finished runs beyond the newest KEEP and compact the file.

    The runs table, the actions, the approvals and the ledger are kept: only the resumable state of runs that
    can no longer resume goes. The service does the same after every run (``keep_runs``, default 500).

    Example:  factorypilot runs prune --keep 100
    """
    from factorypilot.agents.runtime import prune_checkpoints

    home = _home(project)
    store = _store(project)
    try:
        dropped, before, after = prune_checkpoints(home / "checkpoints.sqlite", store.finished_runs_beyond(keep))
    finally:
        store.close()
    console.print(f"[green]✓[/] dropped checkpoints of {dropped} finished run(s); checkpoints.sqlite "
                  f"{before / 1e6:.2f} MB → {after / 1e6:.2f} MB")
