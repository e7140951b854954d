"""GMP helpers for the healthcare pilot: batch-record deviations from MES exports, and the GMP-style deviation
report of an agent run with its full audit trail.

``batch_deviations(path)`` reads the electronic batch record summary a MES exports (one row per batch; UTF-8 or
CP949; headers as in ``pilots/healthcare/mes/healthcare-batch-record.csv``) and returns one
:class:`~factorypilot.vocabulary.Event` (kind ``deviation``) per critical parameter outside its limit, plus any
deviation the MES already recorded. ``deviation_report(ledger, run_id)`` renders one agent run as a deviation
report — description, investigation (diagnosis, playbook, cited documents), actions with the approval and the
read-back, what the safety guard refused and why (in the report's language), and the run's ledger records with
their hashes — and states whether the chain verifies.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from factorypilot.agents import Ledger, result_reason
from factorypilot.errors import DataError, NodeNotFoundError
from factorypilot.vocabulary import Event, Severity

__all__ = ["batch_deviations", "deviation_report", "eval_section"]

_NONE = {"", "없음", "none", "-"}
_TEXT = {
    "en": {"title": "GMP deviation report", "no": "Deviation no.", "pilot": "Pilot", "opened": "Opened",
           "status": "Status", "desc": "1. Description", "inv": "2. Investigation", "diag": "Diagnosis",
           "pb": "Playbook", "refs": "References", "act": "3. Actions and approvals", "req": "Approval requested",
           "dec": "Decision", "by": "by", "rb": "read-back", "refused": "refused by the safety guard",
           "trail": "4. Audit trail", "int": "5. Integrity",
           "ok": "The ledger chain verifies: no record was edited, deleted or reordered.",
           "bad": "The ledger chain does NOT verify"},
    "ko": {"title": "GMP 일탈 보고서", "no": "일탈 번호", "pilot": "파일럿", "opened": "발생 일시", "status": "상태",
           "desc": "1. 일탈 내용", "inv": "2. 조사", "diag": "진단", "pb": "플레이북", "refs": "근거 문서",
           "act": "3. 조치 및 승인", "req": "승인 요청", "dec": "결정", "by": "승인자", "rb": "확인 판독",
           "refused": "안전 가드가 거부",
           "trail": "4. 감사 추적", "int": "5. 무결성",
           "ok": "원장 체인 검증 완료: 수정·삭제·순서 변경된 기록이 없습니다.",
           "bad": "원장 체인 검증 실패"},
}


def _float(row: dict[str, str], col: str, path: Path, line: int) -> float:
    try:
        return float(row[col])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"{col} is not a number: {row.get(col)!r}", file=str(path), row=line, column=col,
                        hint="the batch record export needs numeric parameter columns") from None


def batch_deviations(path: Path, *, seal_window: tuple[float, float] = (140.0, 150.0),
                     particle_limit: float = 352_000.0, pressure_min: float = 10.0) -> list[Event]:
    """Deviation events of a MES batch-record export (see the module docstring)."""
    raw = Path(path).read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp949", errors="strict")
    events: list[Event] = []
    for line, row in enumerate(csv.DictReader(io.StringIO(text)), start=2):
        batch = (row.get("배치번호") or "").strip()
        if not batch:
            raise DataError("empty batch number", file=str(path), row=line, column="배치번호")
        lo, hi = _float(row, "실링온도_최소", path, line), _float(row, "실링온도_최대", path, line)
        p05, dp = _float(row, "미립자0.5_최대", path, line), _float(row, "차압_최소", path, line)
        found: list[tuple[str, Severity, float, str]] = []
        if lo < seal_window[0] or hi > seal_window[1]:
            bad = lo if lo < seal_window[0] else hi
            found.append(("seal_temperature", Severity.WARNING, bad,
                          f"batch {batch}: seal temperature {bad:g} °C outside the validated "
                          f"{seal_window[0]:g}–{seal_window[1]:g} °C"))
        if p05 > particle_limit:
            found.append(("particles_0_5um", Severity.ALARM, p05,
                          f"batch {batch}: particles ≥0.5 µm {p05:g} /m³ above {particle_limit:g}"))
        if dp < pressure_min:
            found.append(("differential_pressure", Severity.ALARM, dp,
                          f"batch {batch}: differential pressure {dp:g} Pa below {pressure_min:g}"))
        recorded = (row.get("일탈") or "").strip()
        if not found and recorded.lower() not in _NONE:
            found.append(("batch_record", Severity.WARNING, 0.0, f"batch {batch}: {recorded}"))
        events += [Event(kind="deviation", tag_id=f"batch:{batch}", role=role, severity=sev,
                         detector="batch-record", message=msg, value=value) for role, sev, value, msg in found]
    return events


def _payload(records: list[Any], kind: str) -> dict[str, Any]:
    return next((dict(r.payload) for r in records if r.kind == kind), {})


def deviation_report(ledger: Ledger, run_id: str, *, lang: str = "en") -> str:
    """Markdown GMP deviation report of one run, from its ledger records (see the module docstring)."""
    t = _TEXT["ko" if lang == "ko" else "en"]
    records = ledger.records(run_id=run_id)
    if not records:
        raise NodeNotFoundError(f"no ledger records for run {run_id!r}", where=str(ledger.path),
                                hint="list runs with: factorypilot runs list")
    report = _payload(records, "report")
    detection = _payload(records, "detection")
    out = [f"# {t['title']}", "", f"- **{t['no']}**: {run_id}", f"- **{t['pilot']}**: {report.get('pilot', '')}",
           f"- **{t['opened']}**: {records[0].time[:19]}Z", f"- **{t['status']}**: {report.get('status', '')}", "",
           f"## {t['desc']}", ""]
    for ev in detection.get("events", []):
        out.append(f"- {ev.get('time', '')[:19]} — {ev.get('role')}: {ev.get('message')} ({ev.get('severity')})")
    out += ["", f"## {t['inv']}", "", f"- **{t['diag']}**: {report.get('diagnosis', '')}",
            f"- **{t['pb']}**: {report.get('playbook') or '-'}"]
    for c in report.get("citations", []):
        out.append(f"- **{t['refs']}**: {c}")
    out += ["", f"## {t['act']}", ""]
    requested = _payload(records, "approval-requested")
    if requested:
        out.append(f"- {t['req']}: {', '.join(str(a.get('target')) for a in requested.get('actions', []))}")
    approval = _payload(records, "approval")
    if approval:
        comment = f" — {approval['comment']}" if approval.get("comment") else ""
        out.append(f"- {t['dec']}: **{approval.get('decision')}** ({t['by']} {approval.get('by')}, "
                   f"{str(approval.get('at') or '')[:19]}){comment}")
    readbacks = {str(r.payload.get("target")): r.payload for r in records if r.kind == "read-back"}
    for r in records:
        if r.kind == "action":
            p = r.payload
            rb = readbacks.get(str(p.get("target")), {})
            value = "" if p.get("kind") == "note" else f" = {p.get('value')}"
            out.append(f"- {p.get('kind', 'action')} `{p.get('target')}`{value}: {p.get('status', 'executed')}; "
                       f"{t['rb']}: {rb.get('status', '-')} ({rb.get('reason', '')})")
    for r in report.get("results", []):  # what the agent proposed and the guard refused, in the report's language
        if r.get("status") == "refused":
            why = result_reason({"reason": r.get("reason", ""), "reason_codes": r.get("codes") or []}, lang)
            out.append(f"- `{r.get('target')}`: {t['refused']} — {why}")
    out += ["", f"## {t['trail']}", "", "| # | time (UTC) | kind | hash | previous |", "|---|---|---|---|---|"]
    out += [f"| {r.seq} | {r.time[:19]} | {r.kind} | `{r.hash[:16]}` | `{r.prev_hash[:16]}` |" for r in records]
    chain = ledger.verify()
    out += ["", f"## {t['int']}", "", t["ok"] if chain.ok else f"**{t['bad']}**: {'; '.join(chain.problems)}", ""]
    return "\n".join(out)


def eval_section(report: Any) -> str:
    """Evaluation-report section (``SectorPilot.report_sections``): the GMP deviation record of every agent run of
    every scenario, from the scenario's own ledger, headings one level down."""
    ko = report.lang == "ko"
    parts: list[str] = []
    for score in report.scores:
        path = Path(report.out_dir) / "runs" / score.id / "ledger.sqlite"
        if not path.is_file():
            continue
        with Ledger(path) as ledger:
            run_ids = list(dict.fromkeys(r.run_id for r in ledger.records() if r.run_id))
            for run_id in run_ids:
                text = deviation_report(ledger, run_id, lang=report.lang)
                parts.append("\n".join("#" + line if line.startswith("#") else line for line in text.splitlines()))
    if not parts:
        return ""
    title = "GMP 일탈 기록 (에이전트 실행별)" if ko else "GMP deviation records (one per agent run)"
    return "\n".join([f"## {title}", "", *parts])
