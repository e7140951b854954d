"""``factorypilot alarms stats``: ISA-18.2-style alarm statistics of a recorded alarm log."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import DataError

alarms_app = typer.Typer(
    name="alarms",
    help="Alarm analytics (ISA-18.2 style): rates, floods, chattering, standing alarms, bad actors.\n\n"
    "Example:  factorypilot alarms stats alarms.jsonl",
    no_args_is_help=True,
)


def read_alarm_log(path: Path) -> list[object]:
    """AlarmEvents from a JSON-lines file (as written by ``factorypilot connect alarms --jsonl``)."""
    from pydantic import ValidationError

    from factorypilot.vocabulary import AlarmEvent

    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"cannot read the alarm log: {exc}", file=str(path),
                        hint="give the JSON-lines file written by 'factorypilot connect alarms --jsonl'") from exc
    out: list[object] = []
    for n, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            out.append(AlarmEvent.model_validate_json(line))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise DataError(f"line {n} is not an alarm event: {'.'.join(map(str, first['loc']))}: {first['msg']}",
                            file=str(path), row=n, hint="each line is one JSON alarm event") from exc
    return out


@alarms_app.command("stats")
def stats(
    log: Path = typer.Argument(..., help="alarm log (JSON lines from 'factorypilot connect alarms --jsonl')"),
    now: str | None = typer.Option(None, "--now", help="end of the record for open alarms (ISO 8601)"),
    as_json: bool = typer.Option(False, "--json", help="print the statistics as JSON"),
) -> None:
    """Alarms per 10 min, floods (> 10 per 10 min), chattering (≥ 3 in 1 min), standing (> 24 h), top-10.

    Example:  factorypilot alarms stats alarms.jsonl --now 2026-12-07T18:00+09:00
    """
    from factorypilot.cli._connect_events import parse_time
    from factorypilot.pilots.evaluation.alarm_stats import alarm_stats
    from factorypilot.vocabulary import AlarmEvent

    events = [e for e in read_alarm_log(log) if isinstance(e, AlarmEvent)]
    end: datetime | None = parse_time(now, "--now") if now else None
    s = alarm_stats(events, now=end)
    console = Console()
    if as_json:
        console.print_json(s.model_dump_json())
        return
    table = Table(title=f"Alarm statistics / 알람 통계: {log}", title_justify="left")
    table.add_column("measure / 지표")
    table.add_column("value / 값", justify="right")
    for label, value in (
        ("alarm events / 알람 이벤트", s.events),
        ("annunciations / 알람 발생", s.annunciations),
        ("mean per 10 min / 10분당 평균", s.mean_per_10min),
        ("max per 10 min / 10분당 최대", s.max_per_10min),
        ("floods (>10 per 10 min) / 알람 폭주", s.floods),
        ("chattering (≥3 in 1 min) / 채터링", len(s.chattering)),
        ("standing (>24 h) / 장기 지속", len(s.standing)),
    ):
        table.add_row(label, str(value))
    console.print(table)
    if s.bad_actors:
        top = Table(title="Top bad actors / 상위 빈발 알람", title_justify="left")
        for col in ("condition", "source / 출처", "message / 메시지", "count / 횟수"):
            top.add_column(col, overflow="fold")
        for a in s.bad_actors:
            top.add_row(a.condition_id, a.source, a.message, str(a.annunciations))
        console.print(top)
