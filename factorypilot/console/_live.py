"""Live values for the Pilots page: one OPC UA subscription per pilot, shared by every browser that watches.

The console subscribes (read-only: it never writes) to the tags a pilot's roles are bound to, on the plant
link given when the pilot was assigned (``users assign-pilot … --endpoint URL --bindings FILE``), the one the
running pilot service recorded (``pilot run --endpoint``/``--simulate``), or the one named by the pilot's spec.
The subscription starts when the first browser opens the stream and lives until the console stops (or the
link changes). The latest sample of each role is kept with its quality and time; a lost link is shown as lost
(with the connector's reason), never as the last good value passing for a live one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from factorypilot.connectors.registry import create
from factorypilot.errors import FactoryPilotError
from factorypilot.vocabulary import Gap, Sample

__all__ = ["LiveHub", "LiveValue", "PlantLink"]

log = logging.getLogger("factorypilot.console")
_RETRY_S = 2.0


@dataclass(frozen=True)
class PlantLink:
    """Where a pilot's plant is and which tag each role reads."""

    connector: str
    config: dict[str, Any]
    roles: dict[str, str]  # role -> tag id


@dataclass
class LiveValue:
    value: Any
    quality: str
    time: str


@dataclass
class _Feed:
    values: dict[str, LiveValue] = field(default_factory=dict)
    error: str | None = None
    task: asyncio.Task[None] | None = None
    link: PlantLink | None = None


class LiveHub:
    """Subscriptions by pilot; :meth:`changed` wakes every stream waiting for a new value."""

    def __init__(self) -> None:
        self._feeds: dict[str, _Feed] = {}
        self._retired: list[asyncio.Task[None]] = []  # subscriptions on a replaced link, awaited at close
        self._event: asyncio.Event | None = None  # set (and replaced) on every change
        self.version = 0

    def _changed(self) -> asyncio.Event:
        if self._event is None:
            self._event = asyncio.Event()
        return self._event

    def watch(self, pilot: str, link: PlantLink) -> None:
        """Start the pilot's subscription unless it runs already on this link (call from the event loop). A new
        link (the service restarted on another endpoint) replaces the old subscription and its values."""
        feed = self._feeds.get(pilot)
        if feed is not None and feed.link != link and feed.task is not None:
            feed.task.cancel()
            self._retired.append(feed.task)
            feed = None
        if feed is None:
            feed = self._feeds[pilot] = _Feed(link=link)
        if feed.task is None or feed.task.done():
            feed.task = asyncio.create_task(self._run(pilot, link, feed), name=f"console-live-{pilot}")

    async def ready(self, pilot: str, within_s: float) -> None:
        """Wait (at most ``within_s`` seconds) until the pilot's subscription has delivered a value or failed."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within_s
        while not any(self.snapshot(pilot)) and loop.time() < deadline:
            await self.wait(self.version, deadline - loop.time())

    def snapshot(self, pilot: str) -> tuple[dict[str, LiveValue], str | None]:
        feed = self._feeds.get(pilot)
        return (dict(feed.values), feed.error) if feed else ({}, None)

    async def wait(self, version: int, within_s: float) -> int:
        """Wait until the version moves past ``version`` (or ``within_s`` seconds); returns the current version."""
        if self.version == version:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed().wait(), max(within_s, 0.0))
        return self.version

    def _bump(self) -> None:
        self.version += 1
        event, self._event = self._event, None
        if event is not None:
            event.set()

    async def _run(self, pilot: str, link: PlantLink, feed: _Feed) -> None:
        by_tag = {tag: role for role, tag in link.roles.items()}
        while True:
            try:
                async with create(link.connector, link.config) as conn:
                    async for item in conn.subscribe(list(by_tag), period=0.5):
                        if isinstance(item, Sample) and item.tag_id in by_tag:
                            t = item.time.isoformat(timespec="seconds") if item.time else ""
                            feed.values[by_tag[item.tag_id]] = LiveValue(item.value, item.quality.value, t)
                            feed.error = None
                        elif isinstance(item, Gap):
                            feed.error = item.reason or "gap"
                        self._bump()
            except asyncio.CancelledError:
                raise
            except (FactoryPilotError, OSError, TimeoutError) as exc:
                feed.error = str(exc)
                log.info("console: live values of %s: %s (retrying)", pilot, exc)
                self._bump()
            await asyncio.sleep(_RETRY_S)

    async def close(self) -> None:
        tasks = [f.task for f in self._feeds.values() if f.task is not None] + self._retired
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
