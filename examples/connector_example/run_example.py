"""Walk-through: a CP949 logger file with Korean tag names, browsed, read and followed as it grows."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from csv_historian import CsvHistorianConnector

from factorypilot.vocabulary import Sample

ROWS = [
    "time,tag,value,unit",
    "2026-11-25T09:00:00+09:00,프레스1.압력,152.5,bar",
    "2026-11-25T09:00:00+09:00,프레스1.상태,가동,",
    "2026-11-25T09:00:01+09:00,프레스1.압력,153.1,bar",
]


async def main(path: Path) -> list[str]:
    await asyncio.to_thread(path.write_bytes, ("\n".join(ROWS) + "\n").encode("cp949"))
    lines: list[str] = []
    config = CsvHistorianConnector.Config(path=path, encoding="cp949", poll_s=0.05)
    async with CsvHistorianConnector(config) as historian:
        for tag in await historian.browse():
            lines.append(f"tag {tag.id} ({tag.data_type.value}, {tag.unit or '-'})")
        for s in await historian.read(["프레스1.압력", "프레스1.상태"]):
            lines.append(f"read {s.tag_id} = {s.value}")
        async with contextlib.aclosing(historian.subscribe(["프레스1.압력"])) as stream:
            first = await anext(stream)
            assert isinstance(first, Sample)
            lines.append(f"current {first.tag_id} = {first.value}")
            with path.open("ab") as f:  # the logger appends a reading
                f.write("2026-11-25T09:00:02+09:00,프레스1.압력,160.4,bar\n".encode("cp949"))
            new = await anext(stream)
            assert isinstance(new, Sample)
            lines.append(f"new {new.tag_id} = {new.value}")
    return lines


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        for line in asyncio.run(main(Path(tmp) / "press-log.csv")):
            print(line)
