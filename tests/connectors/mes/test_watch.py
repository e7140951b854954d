from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.connectors.mes import MesFilesConnector, WatchEvent, wait_stable
from factorypilot.connectors.mes._ingest import IngestReport
from factorypilot.connectors.mes._watch import wanted, watch_folder
from factorypilot.errors import ConfigError

Make = Callable[..., MesFilesConnector]
HEADER = "설비,생산일시,양품수량,불량수량\n"
PART1 = HEADER + "".join(f"CNC-01,2026-11-25 08:{m:02d}:00,10,1\n" for m in range(30)) + "CNC-01,2026-11-25 0"
PART2 = "9:00:00,10,1\n" + "".join(f"CNC-02,2026-11-25 10:{m:02d}:00,5,0\n" for m in range(20))


async def test_a_file_written_in_two_parts_is_read_once_complete(tmp_path: Path, make_mes: Make) -> None:
    """The writer appends part 2 while the watcher waits for the file to settle: no half read."""
    path = tmp_path / "export.csv"
    path.write_bytes(PART1.encode("cp949"))
    calls: list[float] = []

    async def writer_still_busy(seconds: float) -> None:
        calls.append(seconds)
        if len(calls) == 1:  # during the first settle interval the exporter writes the rest
            with path.open("ab") as fh:
                fh.write(PART2.encode("cp949"))

    reports: list[IngestReport] = []
    async with make_mes() as mes:
        async def handle(p: Path) -> IngestReport:
            report = await mes.ingest(p)
            reports.append(report)
            return report

        stop = asyncio.Event()
        stop.set()  # only the initial scan
        events = [e async for e in watch_folder(tmp_path, 0.5, handle, stop_event=stop,
                                                sleep=writer_still_busy)]
    assert len(calls) >= 2, "the first size/mtime change must trigger another settle interval"
    assert [e.path for e in events] == [path]
    assert len(reports) == 1
    assert (reports[0].accepted, reports[0].quarantined) == (51, 0)


async def test_wait_stable_gives_up_when_the_file_vanishes(tmp_path: Path) -> None:
    path = tmp_path / "gone.csv"
    path.write_text("x", encoding="utf-8")

    async def delete(_: float) -> None:
        path.unlink()

    assert await wait_stable(path, 0.1, sleep=delete) is None


def test_lock_and_temp_files_are_ignored(tmp_path: Path) -> None:
    assert wanted(tmp_path / "생산실적.csv")
    assert wanted(tmp_path / "a.XLSX")
    assert wanted(tmp_path / "b.xml")
    for name in ("~$생산실적.xlsx", ".hidden.csv", "export.csv.part", "x.tmp", "readme.pdf"):
        assert not wanted(tmp_path / name), name


async def test_watch_picks_up_new_files_and_survives_a_bad_one(tmp_path: Path, make_mes: Make) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    (inbox / "first.csv").write_text(HEADER + "CNC-01,2026-11-25 08:00:00,10,1\n", encoding="utf-8")
    seen: list[WatchEvent] = []
    stop = asyncio.Event()
    async with make_mes(watch_dir=str(inbox), settle_seconds=0.05) as mes:
        async def consume() -> None:
            async with contextlib.aclosing(mes.watch(stop_event=stop)) as events:
                async for event in events:
                    seen.append(event)
                    if event.path.name == "first.csv":  # the watcher is running: drop two more files
                        (inbox / "junk.csv").write_bytes(b"\x00\x01\x02" * 100)
                        (inbox / "second.csv").write_text(HEADER + "CNC-02,2026-11-25 09:00:00,7,0\n",
                                                          encoding="utf-8")
                    if {e.path.name for e in seen} >= {"first.csv", "junk.csv", "second.csv"}:
                        return

        await asyncio.wait_for(consume(), timeout=30)
        totals = {s.tag_id: s.value for s in await mes.read(["CNC-01/good", "CNC-02/good"])}
    by_name = {e.path.name: e for e in seen}
    assert by_name["junk.csv"].error is not None
    assert "binary" in by_name["junk.csv"].error
    assert by_name["second.csv"].report is not None
    assert by_name["second.csv"].report.accepted == 1
    assert totals == {"CNC-01/good": 10.0, "CNC-02/good": 7.0}


async def test_watch_needs_an_existing_folder(tmp_path: Path, make_mes: Make) -> None:
    async with make_mes() as mes:
        with pytest.raises(ConfigError, match="watch"):
            mes.watch(tmp_path / "missing")
