"""ISA-18.2-style alarm statistics over a constructed alarm log whose answers are known."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from factorypilot.pilots.evaluation.alarm_stats import alarm_stats
from factorypilot.vocabulary import AlarmEvent

T0 = datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


def ev(cid: str, minutes: float, active: bool, *, refreshed: bool = False) -> AlarmEvent:
    return AlarmEvent(condition_id=cid, source_name=f"src-{cid}", message=f"{cid} 경보 / {cid} alarm",
                      severity=600, active=active, acked=not active, retain=active,
                      time=T0 + timedelta(minutes=minutes), refreshed=refreshed)


def log() -> list[AlarmEvent]:
    out = [ev("standing", 0, True, refreshed=True)]             # active all day: standing, 1 annunciation
    for i in range(15):                                          # 15 different alarms in minutes 20..27:
        out += [ev(f"flood-{i}", 20 + i / 2, True), ev(f"flood-{i}", 20.2 + i / 2, False)]  # window 2 floods
    for k in range(4):                                           # chatter: 4 times within 40 s, window 4
        out += [ev("chatter", 45 + k * 10 / 60, True), ev("chatter", 45 + k * 10 / 60 + 0.05, False)]
    out += [ev("slow", 50 + 5 * k, b) for k, b in enumerate([True, False, True, False])]  # 2 in 15 min: no chatter
    out += [ev("standing", 26 * 60, False)]                      # returns to normal after 26 h
    return out


def test_the_known_answers() -> None:
    s = alarm_stats(log())
    assert s.annunciations == 1 + 15 + 4 + 2
    assert s.floods == 1
    assert s.flood_windows == [T0 + timedelta(minutes=20)]
    assert s.max_per_10min == 15  # window [20, 30) min
    assert s.chattering == ["chatter"]
    assert s.standing == ["standing"]
    assert s.bad_actors[0].condition_id == "chatter"
    assert s.bad_actors[0].annunciations == 4
    assert s.bad_actors[1].condition_id == "slow"
    assert len(s.bad_actors) == 10
    assert s.bad_actors[0].message == "chatter 경보 / chatter alarm"


def test_open_alarm_is_standing_only_after_24h_until_now() -> None:
    events = [ev("open", 0, True)]
    assert alarm_stats(events, now=T0 + timedelta(hours=23)).standing == []
    assert alarm_stats(events, now=T0 + timedelta(hours=25)).standing == ["open"]


def test_empty_log() -> None:
    s = alarm_stats([])
    assert (s.annunciations, s.windows, s.floods, s.bad_actors) == (0, 0, 0, [])


def test_cli_stats_json_and_bad_line(tmp_path: Path) -> None:
    good = tmp_path / "alarms.jsonl"
    good.write_text("".join(e.model_dump_json() + "\n" for e in log()), encoding="utf-8")
    exe = Path(sys.executable).parent / "factorypilot"
    done = subprocess.run([str(exe), "alarms", "stats", str(good), "--json"], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["floods"] == 1
    assert data["chattering"] == ["chatter"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(log()[0].model_dump_json() + "\n{\"condition_id\": 5}\n", encoding="utf-8")
    refused = subprocess.run([str(exe), "alarms", "stats", str(bad)], capture_output=True, text=True,
                             timeout=60, check=False)
    assert refused.returncode == 1
    assert "line 2" in refused.stderr
    assert "Traceback" not in refused.stderr
