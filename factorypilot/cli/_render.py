"""Rich rendering of run reports (shared by ``demo``, ``pilot run`` and ``runs show``)."""

from __future__ import annotations

from typing import Any

from rich.console import Console, Group
from rich.panel import Panel
from rich.table import Table

_STATUS_STYLE = {"done": "green", "refused": "yellow", "rejected": "yellow", "failed": "red",
                 "unconfirmed": "red", "pending_approval": "cyan"}

_T = {
    "en": {"observed": "Observed", "why": "Why it acted", "changed": "What changed", "ledger": "Ledger records",
           "role": "signal", "value": "value", "detector": "detector", "message": "message", "action": "action",
           "target": "target", "from": "from", "to": "to", "readback": "read-back", "status": "status",
           "reason": "reason", "diagnosis": "Diagnosis", "sources": "Sources", "planner": "Planner"},
    "ko": {"observed": "관측", "why": "조치 근거", "changed": "변경 내용", "ledger": "감사 원장 기록",
           "role": "신호", "value": "값", "detector": "감지기", "message": "내용", "action": "조치",
           "target": "대상", "from": "이전", "to": "변경", "readback": "재확인 값", "status": "상태",
           "reason": "사유", "diagnosis": "진단", "sources": "근거 문서", "planner": "계획기"},
}


def render_report(report: dict[str, Any], console: Console, *, lang: str = "en") -> None:
    from factorypilot.agents import result_reason  # deferred: the CLI starts without the agents

    t = _T.get(lang, _T["en"])
    obs = Table(title=t["observed"], title_justify="left", expand=True)
    for col in ("role", "value", "detector", "message"):
        obs.add_column(t[col])
    for o in report.get("observed", []):
        obs.add_row(str(o.get("role") or o.get("tag_id")), str(o.get("value")), str(o.get("detector")),
                    str(o.get("message")))
    why = Group(f"[bold]{t['diagnosis']}:[/] {report.get('diagnosis') or '-'}",
                f"[bold]{t['planner']}:[/] {report.get('planner')} / {report.get('playbook')}",
                f"[bold]{t['sources']}:[/]", *[f"  • {c}" for c in report.get("citations", [])[:4]])
    changed = Table(title=t["changed"], title_justify="left", expand=True)
    for col in ("action", "target", "from", "to", "readback", "status", "reason"):
        changed.add_column(t[col], overflow="fold")
    for r in report.get("results", []):
        req = r["request"]
        rb = r.get("read_back") or {}
        style = _STATUS_STYLE.get(r["status"], "")
        changed.add_row(req["kind"], r.get("role") or req["target"], _fmt(r.get("from")),
                        _fmt(req.get("value")) if req["kind"] != "note" else str(req.get("value"))[:60],
                        _fmt(rb.get("value")) if rb else "-", f"[{style}]{r['status']}[/]", result_reason(r, lang))
    console.print(obs)
    console.print(Panel(why, title=t["why"], title_align="left"))
    console.print(changed)
    ids = report.get("ledger_ids", [])
    console.print(f"[bold]{t['ledger']}:[/] {', '.join(map(str, ids))}  (head {str(report.get('ledger_head'))[:16]}…)")


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:g}"
    return str(v)
