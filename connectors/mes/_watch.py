"""Folder watch: new or changed export files are ingested once they stop growing.

A file is read only after its size and mtime were unchanged over ``settle_seconds`` (an exporter or a
copy still writing it keeps changing them), so a partially written file is never read half-way.
Editor/office lock and temp files (``~$x.xlsx``, ``.x.swp``, ``*.tmp``, ``*.part``) are ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factorypilot.connectors.mes._ingest import IngestReport
from factorypilot.errors import FactoryPilotError

log = logging.getLogger("factorypilot.connectors.mes")

_IGNORED_SUFFIXES = {".tmp", ".part", ".crdownload", ".swp", ".lock", ".partial"}
EXPORT_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xlsm", ".json", ".jsonl", ".ndjson", ".xml"}
Sleep = Callable[[float], Awaitable[Any]]


@dataclass(frozen=True)
class WatchEvent:
    """One file handled by the watcher: its report, or the error that refused it (the watch goes on)."""

    path: Path
    report: IngestReport | None = None
    error: str | None = None


def wanted(path: Path) -> bool:
    name = path.name
    return (not name.startswith((".", "~$")) and path.suffix.lower() in EXPORT_SUFFIXES
            and path.suffix.lower() not in _IGNORED_SUFFIXES)


def _stat(path: Path) -> tuple[int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return (st.st_size, st.st_mtime_ns)


async def wait_stable(path: Path, settle: float, sleep: Sleep = asyncio.sleep) -> tuple[int, int] | None:
    """Wait until ``path`` has the same size and mtime across ``settle`` seconds; ``None`` if it vanished."""
    prev = _stat(path)
    while True:
        await sleep(settle)
        cur = _stat(path)
        if cur is None:
            return None
        if cur == prev and cur[0] > 0:
            return cur
        prev = cur


async def watch_folder(folder: Path, settle: float, handle: Callable[[Path], Awaitable[IngestReport]], *,
                       stop_event: asyncio.Event | None = None, initial: bool = True,
                       sleep: Sleep = asyncio.sleep) -> AsyncGenerator[WatchEvent, None]:
    """Yield a ``WatchEvent`` per (stable) new or changed export file in ``folder`` (not recursive)."""
    from watchfiles import Change, awatch

    done: dict[Path, tuple[int, int]] = {}

    async def process(path: Path) -> WatchEvent | None:
        if not wanted(path) or not await asyncio.to_thread(path.is_file):
            return None
        stamp = await wait_stable(path, settle, sleep)
        if stamp is None or done.get(path) == stamp:
            return None
        done[path] = stamp
        try:
            return WatchEvent(path, report=await handle(path))
        except FactoryPilotError as exc:
            log.warning("refused %s: %s", path, exc)
            return WatchEvent(path, error=str(exc))

    queue: asyncio.Queue[set[tuple[Change, str]] | None] = asyncio.Queue()

    async def pump() -> None:
        try:
            async for changes in awatch(folder, stop_event=stop_event, recursive=False, debounce=200, step=50):
                await queue.put(changes)
        finally:
            queue.put_nowait(None)

    # the watcher is installed before the initial scan, so a file created meanwhile is not missed
    task = asyncio.create_task(pump())
    try:
        if initial:
            for path in sorted(await asyncio.to_thread(lambda: list(folder.iterdir()))):
                event = await process(path)
                if event is not None:
                    yield event
        while (changes := await queue.get()) is not None:
            for change, name in sorted(changes, key=lambda c: c[1]):
                if change is Change.deleted:
                    continue
                event = await process(Path(name))
                if event is not None:
                    yield event
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
