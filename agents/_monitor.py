"""Continuous mode: the pilot service's loop (``AgentRuntime.monitor``).

Subscribe to the observed tags, keep a rolling window, start a run when a detector fires, apply decisions
taken from other processes, and keep going through plant outages:

* the subscription is drained by its own task into a queue; when it fails (the plant is gone) it is opened
  again with back-off, and the outage is logged once at INFO, not as tracebacks;
* runs parked as ``waiting_for_plant`` are retried with back-off (1 s doubling to 30 s) until the plant
  answers; an action issued before the outage is read back, never issued again;
* detector cool-downs are stored in ``agent.sqlite`` (wall-clock seconds), so a restart does not raise the
  same event again, and an event that already has a run waiting for a person does not start another;
* the pilot's lease is renewed; a service that lost its lease stops;
* a data-change subscription says nothing while a value is frozen, so the tags that flat-line (stuck-sensor)
  detectors watch are read again every ``period`` while they are silent: a frozen sensor is still heard;
* a pilot with ``kind: alarm`` detectors also subscribes to the plant's alarm events (OPC UA A&C, with
  ConditionRefresh: an alarm active before the service started counts); they go to the trigger and the run.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import TYPE_CHECKING

from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors.base import Capability
from factorypilot.errors import ConnectionError_, FactoryPilotError
from factorypilot.vocabulary import AlarmEvent, Gap, Sample

if TYPE_CHECKING:
    from factorypilot.agents.runtime import AgentRuntime, RunOutcome

__all__ = ["monitor"]

log = logging.getLogger("factorypilot.agents")

_BACKOFF_MAX_S = 30.0
_RENEW_S = 5.0
_OPEN = ("waiting_approval", "waiting_for_plant")


_Item = Sample | Gap | AlarmEvent


async def _pump(rt: AgentRuntime, ids: list[str], period: float, queue: asyncio.Queue[_Item],
                alarms: bool = False) -> None:
    """Feed the queue from the subscription (or the alarm events); reopen it with back-off when the link fails."""
    backoff, down = 1.0, False
    while True:
        try:
            async with contextlib.aclosing(rt.connector.events() if alarms
                                           else rt.connector.subscribe(ids, period=period)) as stream:
                async for sample in stream:
                    if down:
                        log.debug("plant link back for pilot %s", rt.config.name)  # one INFO line per outage
                        down, backoff = False, 1.0
                    queue.put_nowait(sample)
            return
        except ConnectionError_ as exc:
            if not down:
                log.info("plant link lost for pilot %s (%s); retrying with back-off", rt.config.name, exc.message)
                down = True
            await asyncio.sleep(backoff)
            backoff = min(backoff * 2, _BACKOFF_MAX_S)


def _flatline_tags(rt: AgentRuntime) -> list[str]:
    """Tag ids watched by stuck-sensor detectors (they need a sample per period, not only per change)."""
    return sorted({rt.config.roles.get(d.role, d.role) for d in rt.config.detectors if d.kind == "flatline"})


async def _reread_silent(rt: AgentRuntime, tags: list[str], last_seen: dict[str, float], now: float,
                         period: float) -> list[Sample]:
    silent = [t for t in tags if now - last_seen.get(t, float("-inf")) >= period]
    if not silent:
        return []
    try:
        return await rt.connector.read(silent)
    except FactoryPilotError as exc:  # the plant link is down: the subscription pump reports the outage
        log.debug("re-read of %s failed: %s", ", ".join(silent), exc)
        return []


def _has_open_run(rt: AgentRuntime, event: str) -> str | None:
    for status in _OPEN:
        for run in rt.store.runs(status=status, limit=1000):
            if run.pilot == rt.config.name and run.data.get("event") == event:
                return run.run_id
    return None


async def monitor(rt: AgentRuntime, *, period: float, cooldown_s: float, max_runs: int | None,
                  approval_poll_s: float) -> list[RunOutcome]:
    waiting: dict[str, tuple[float, float]] = {}  # run id -> (next attempt, back-off)
    outcomes: list[RunOutcome] = []
    loop = asyncio.get_running_loop()

    def settle(out: RunOutcome) -> None:
        if out.status == "waiting_for_plant":
            _, backoff = waiting.get(out.run_id, (0.0, 0.5))
            backoff = min(backoff * 2, _BACKOFF_MAX_S)
            waiting[out.run_id] = (loop.time() + backoff, backoff)
        else:
            waiting.pop(out.run_id, None)
            outcomes.append(out)

    for out in await rt.recover():
        settle(out)
    ids = rt.deps.observed_tag_ids()
    trigger = EventTrigger(rt.config, ids, window_size=rt.window_size, cooldown=cooldown_s,
                           last=rt.store.cooldowns(rt.config.name))
    next_poll = next_renew = next_hold = loop.time()
    held = _flatline_tags(rt)
    last_seen: dict[str, float] = {}
    queue: asyncio.Queue[_Item] = asyncio.Queue()
    pump_task = asyncio.create_task(_pump(rt, ids, period, queue), name=f"{rt.config.name}-subscription")
    alarm_task = asyncio.create_task(_pump(rt, ids, period, queue, alarms=True), name=f"{rt.config.name}-alarms") \
        if trigger.wants_alarms and Capability.EVENTS in rt.connector.capabilities else None
    try:
        while not rt._stop.is_set() and (max_runs is None or len(outcomes) < max_runs):
            if pump_task.done():
                pump_task.result()  # an error other than a lost link: raise it
                break
            if alarm_task is not None and alarm_task.done():
                alarm_task.result()
                break
            try:
                item: _Item | None = await asyncio.wait_for(queue.get(), timeout=approval_poll_s)
            except TimeoutError:
                item = None
            now = loop.time()
            if rt.lease is not None and now >= next_renew:
                next_renew = now + _RENEW_S
                if not rt.lease.renew():
                    log.error("pilot %s: another process took over the lease; this service stops", rt.config.name)
                    break
            if now >= next_poll:
                next_poll = now + approval_poll_s
                for row in rt.store.undecided_applied():
                    run = rt.store.run(row.run_id)
                    if run and run.pilot == rt.config.name:
                        settle(await rt._apply(row.run_id))
            for run_id, (due, _) in list(waiting.items()):
                if now >= due:
                    settle(await rt.continue_run(run_id))
            if isinstance(item, Gap):
                rt.ledger.append("gap", item.model_dump(mode="json"))
            elif isinstance(item, AlarmEvent):
                trigger.add_alarm(item)
            elif item is not None:
                last_seen[item.tag_id] = now
                trigger.add(item)
            if held and now >= next_hold:
                next_hold = now + period
                for sample in await _reread_silent(rt, held, last_seen, now, period):
                    last_seen[sample.tag_id] = now
                    trigger.add(sample)
            if trigger.due(time.time()):
                for key in trigger.fired:
                    rt.store.set_cooldown(rt.config.name, key, time.time())
                event = ",".join(trigger.fired)
                open_run = _has_open_run(rt, event)
                if open_run is not None:
                    log.info("event %s already has run %s waiting; no second request", event, open_run)
                    continue
                settle(await rt.handle(trigger.window(), event=event, alarms=trigger.alarm_window()))
    finally:
        for task in (pump_task, alarm_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
    return outcomes
