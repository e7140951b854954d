"""Alarm-flood analytics in the style of ISA-18.2 / EEMUA 191, over a record of alarm events.

An *annunciation* is a condition turning active (the first state of a condition already active when the
record starts counts once). From them:

* **rate** — annunciations per 10-minute window (fixed windows from the first event; mean and max);
* **floods** — 10-minute windows with more than 10 annunciations (ISA-18.2's flood threshold);
* **chattering** — conditions annunciated at least 3 times within 60 s;
* **standing** — conditions active for more than 24 h (until they returned to normal, or until ``now``);
* **bad actors** — the 10 conditions with the most annunciations.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict

from factorypilot.vocabulary import AlarmEvent

__all__ = ["AlarmStats", "BadActor", "alarm_stats"]

WINDOW = timedelta(minutes=10)
FLOOD_OVER = 10
CHATTER_COUNT = 3
CHATTER_WITHIN = timedelta(seconds=60)
STANDING_AFTER = timedelta(hours=24)


class BadActor(BaseModel):
    model_config = ConfigDict(frozen=True)

    condition_id: str
    source: str
    message: str
    annunciations: int


class AlarmStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    events: int
    annunciations: int
    windows: int
    mean_per_10min: float
    max_per_10min: int
    floods: int
    flood_windows: list[datetime]
    chattering: list[str]
    standing: list[str]
    bad_actors: list[BadActor]


def alarm_stats(events: Iterable[AlarmEvent], *, now: datetime | None = None) -> AlarmStats:
    """Statistics of ``events`` (any order; sorted by time here). ``now`` ends open active periods."""
    ordered = sorted(events, key=lambda e: e.time)
    active: dict[str, datetime] = {}
    annunciations: list[AlarmEvent] = []
    standing: set[str] = set()
    for ev in ordered:
        cid = ev.condition_id
        if ev.active and cid not in active:
            active[cid] = ev.time
            annunciations.append(ev)
        elif not ev.active and cid in active and ev.time - active.pop(cid) > STANDING_AFTER:
            standing.add(cid)
    end = now or (ordered[-1].time if ordered else None)
    if end is not None:
        standing |= {cid for cid, since in active.items() if end - since > STANDING_AFTER}
    windows: Counter[int] = Counter()
    first = annunciations[0].time if annunciations else None
    for ev in annunciations:
        assert first is not None
        windows[int((ev.time - first) / WINDOW)] += 1
    n_windows = (max(windows) + 1) if windows else 0
    times: dict[str, list[datetime]] = defaultdict(list)
    for ev in annunciations:
        times[ev.condition_id].append(ev.time)
    chattering = sorted(cid for cid, ts in times.items()
                        if any(ts[i + CHATTER_COUNT - 1] - ts[i] <= CHATTER_WITHIN
                               for i in range(len(ts) - CHATTER_COUNT + 1)))
    last = {ev.condition_id: ev for ev in annunciations}
    counts = Counter(ev.condition_id for ev in annunciations)
    actors = [BadActor(condition_id=cid, source=last[cid].source_name or last[cid].source_node,
                       message=last[cid].message, annunciations=n)
              for cid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:10]]
    floods = sorted(k for k, n in windows.items() if n > FLOOD_OVER)
    return AlarmStats(
        events=len(ordered), annunciations=len(annunciations), windows=n_windows,
        mean_per_10min=round(len(annunciations) / n_windows, 3) if n_windows else 0.0,
        max_per_10min=max(windows.values(), default=0), floods=len(floods),
        flood_windows=[first + k * WINDOW for k in floods] if first else [],
        chattering=chattering, standing=sorted(standing), bad_actors=actors)
