"""``factorypilot eval PILOT --replay-history URL --start --end``: back-test a pilot on the plant's own history."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from factorypilot.errors import ConfigError

_ALARM_KINDS = ("acknowledge", "confirm")
_VERDICT = {"allowed": "allowed / 자동 허용", "needs approval": "needs approval / 승인 필요",
            "refused": "refused / 거부"}


async def _replay(pilot: str, url: str, start: Any, end: Any, bindings_file: Path | None, cooldown_s: float,
                  lang: str) -> Any:
    from factorypilot.cli._pilot import _bindings, _spec
    from factorypilot.connectors.registry import create
    from factorypilot.pilots.evaluation._history import replay_history

    spec, _ = _spec(pilot)
    cfg = dict(spec.connector.config) if spec.connector and spec.connector.type == "opcua" else {}
    cfg.pop("endpoints", None)
    config = spec.agent_config(_bindings(bindings_file))
    async with create("opcua", cfg | {"endpoint": url}) as connector:
        return await replay_history(config, connector, start, end, cooldown_s=cooldown_s, lang=lang)


def replay_history_command(pilot: str, url: str, start_text: str | None, end_text: str | None,
                           bindings: Path | None, json_out: Path | None, cooldown_s: float, lang: str,
                           console: Console) -> None:
    from factorypilot.cli._connect_events import parse_time

    if not start_text or not end_text:
        raise ConfigError("--replay-history needs --start and --end",
                          hint="e.g. --start 2026-12-01T00:00 --end 2026-12-07T00:00 (local time without a zone)")
    start, end = parse_time(start_text, "--start"), parse_time(end_text, "--end")
    if end <= start:
        raise ConfigError("--end must be after --start", where="--end")
    with console.status("reading the plant's history … / 이력 읽는 중"):
        rep = asyncio.run(_replay(pilot, url, start, end, bindings, cooldown_s, lang or "en"))
    console.print(f"[bold]{escape(rep.pilot)}[/]: back-test on the plant's own history / 자체 이력 기반 사후 검증 "
                  f"{start.isoformat()} … {end.isoformat()} — nothing was written / 설비에 쓰기 없음")
    for role, n in rep.samples.items():
        console.print(f"  {escape(role)}: {n} values / 값")
    for role, why in rep.not_historized.items():
        console.print(f"  [yellow]![/] {escape(role)}: no history / 이력 없음 — {escape(why)}")
    if rep.alarm_events is not None:
        console.print(f"  plant alarm history / 설비 알람 이력: {rep.alarm_events} events / 이벤트")
    if rep.events_unavailable:
        console.print(f"  [yellow]![/] plant alarm history not read / 설비 알람 이력 읽지 못함 — "
                      f"{escape(rep.events_unavailable)} (value back-test only / 값 이력만 검증)")
    if rep.not_good:
        console.print(f"  [yellow]![/] {rep.not_good} values not Good (quality) / 품질 불량 값")
    table = Table(title=f"would have detected and proposed / 탐지 및 제안 ({len(rep.detections)})",
                  title_justify="left")
    for col in ("time / 시각", "detector / 탐지기", "message / 내용", "playbook", "proposals / 제안"):
        table.add_column(col, overflow="fold")
    for d in rep.detections:
        props = "\n".join(f"{p['kind']} " + ("alarm / 알람" if p["kind"] in _ALARM_KINDS else p["role"])
                          + (f" {p['from']} → {p['value']}" if p["kind"] == "write" else "")
                          + f": {_VERDICT[p['verdict']]}" + (f" ({'; '.join(p['reasons'])})" if p["reasons"] else "")
                          for p in d.proposals) or "–"
        table.add_row(d.time.isoformat(timespec="seconds"), escape(d.detector), escape(d.message),
                      escape(d.playbook or "–"), escape(props))
    console.print(table)
    if json_out is not None:
        json_out.write_text(json.dumps(rep.as_json(), ensure_ascii=False, indent=1, default=str) + "\n",
                            encoding="utf-8")
        console.print(f"wrote {json_out}")
