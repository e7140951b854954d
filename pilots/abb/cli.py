"""``factorypilot trace LOT [--verify]``: a lot's traceability history from the hash-chained ledger (ABB pilot)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import ConfigError, LedgerIntegrityError
from factorypilot.settings import get_settings

console = Console()

_TEXT = {
    "en": {"history": "Lot {lot} — traceability history", "station": "station", "values": "process values",
           "quality": "quality", "seq": "ledger #", "hash": "hash", "lots": "Recorded lots", "lot": "lot",
           "order": "work order", "good": "good", "scrap": "scrap", "mes": "MES", "cause": "Root-cause ranking",
           "score": "score", "ok": "verified: the chain is intact and every station record matches the lot summary",
           "runs": "agent runs that observed this lot", "bad": "TAMPERED"},
    "ko": {"history": "로트 {lot} — 추적 이력", "station": "공정", "values": "공정값", "quality": "품질",
           "seq": "원장 번호", "hash": "해시", "lots": "기록된 로트", "lot": "로트", "order": "작업지시",
           "good": "양품", "scrap": "불량", "mes": "MES", "cause": "근본 원인 순위", "score": "점수",
           "ok": "검증됨: 체인이 온전하고 모든 공정 기록이 로트 요약과 일치합니다",
           "runs": "이 로트를 관측한 에이전트 실행",
           "bad": "위변조 감지"},
}


def trace_command(
    lot: str | None = typer.Argument(None, help="lot number, e.g. LOT-260105-003"),
    verify: bool = typer.Option(False, "--verify", help="verify the hash chain; exit 1 if tampered"),
    record: bool = typer.Option(False, "--record", help="run the simulated ABB line and anchor its lots first"),
    lots: int = typer.Option(6, "--lots", help="with --record: how many lots"),
    seed: int = typer.Option(3, "--seed", help="with --record: simulator seed"),
    escape: bool = typer.Option(True, "--escape/--no-escape", help="with --record: inject a weld quality escape"),
    home: Path | None = typer.Option(None, "--home", help="data directory (default FACTORYPILOT_HOME)"),
    as_json: bool = typer.Option(False, "--json", help="print JSON instead of tables"),
    lang: str = typer.Option("en", "--lang", help="en or ko"),
) -> None:
    """Show a lot's history (stations, process values, quality, ledger ids and hashes) and verify it.

    Example:  factorypilot trace --record && factorypilot trace LOT-260105-003 --verify
    """
    from factorypilot.agents import Ledger
    from factorypilot.pilots.abb.trace import lot_history, record_line

    if lang not in _TEXT:
        raise ConfigError(f"unknown language {lang!r}", where="--lang", hint="use en or ko")
    t = _TEXT[lang]
    base = Path(home or get_settings().home)
    if record:
        run = record_line(base, lots=lots, seed=seed, escape=escape)
        if as_json:
            typer.echo(json.dumps({"lots": [{"lot": x.lot, "work_order": x.work_order, "good": x.good,
                                             "scrap": x.scrap, "mes": x.mes} for x in run.lots],
                                   "root_cause": [f.__dict__ for f in run.findings]}, ensure_ascii=False))
        else:
            table = Table(title=t["lots"], title_justify="left")
            for col in ("lot", "order", "good", "scrap", "mes"):
                table.add_column(t[col])
            for x in run.lots:
                table.add_row(x.lot, x.work_order, str(x.good), f"[red]{x.scrap}[/]" if x.scrap else "0",
                              "✔" if x.mes.get("counts_match") else "✘")
            console.print(table)
            if run.findings:
                cause = Table(title=t["cause"], title_justify="left")
                for col in ("station", "values", "score"):
                    cause.add_column(t[col])
                for f in run.findings:
                    cause.add_row(f.station, f"{f.role}: {t['good']} {f.good_mean:g} / {t['scrap']} {f.failed_mean:g}",
                                  f"{f.score:g}")
                console.print(cause)
    if lot is None:
        if not record:
            raise ConfigError("give a lot number (or --record to anchor the simulated line's lots)",
                              hint="factorypilot trace LOT-260105-003 --verify")
        return
    path = base / "ledger.sqlite"
    if not path.exists():
        raise ConfigError(f"no ledger at {path}", hint="record lots first: factorypilot trace --record")
    with Ledger(path) as ledger:
        hist = lot_history(ledger, lot)
    if as_json:
        typer.echo(json.dumps({"lot": lot, "ok": hist.ok, "problems": hist.problems, "runs": hist.runs,
                               "records": [{"seq": r.seq, "hash": r.hash, "prev_hash": r.prev_hash,
                                            "payload": r.payload} for r in hist.records]}, ensure_ascii=False))
    else:
        table = Table(title=t["history"].format(lot=lot), title_justify="left")
        for col in ("station", "values", "quality", "seq", "hash"):
            table.add_column(t[col], overflow="fold")
        quality = hist.summary.get("quality", {})
        for r in hist.stations:
            vals = ", ".join(f"{k} {v['mean']:g} [{v['min']:g}..{v['max']:g}]"
                             for k, v in dict(r.payload.get("values", {})).items())
            table.add_row(str(r.payload.get("station")), vals, "", str(r.seq), r.hash[:16])
        for r in hist.records:
            if r.payload.get("station") == "summary":
                q = f"{quality.get('result')} ({t['good']} {quality.get('good')}, {t['scrap']} {quality.get('scrap')})"
                table.add_row("summary", f"{t['order']} {r.payload.get('work_order')}", q, str(r.seq), r.hash[:16])
        console.print(table)
        if hist.runs:
            console.print(f"{t['runs']}: {', '.join(hist.runs)}")
    if verify:
        if not hist.ok:
            raise LedgerIntegrityError(f"lot {lot}: {t['bad']}: {hist.problems[0]}", where=str(path),
                                       hint="do not trust this lot's history; restore the ledger from a backup")
        if not as_json:
            console.print(f"[green]✔ {t['ok']}[/]")
