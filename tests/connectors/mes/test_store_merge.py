# ruff: noqa: ASYNC240  (tests read quarantine files synchronously on purpose)
"""The store's Arrow -> SQLite merge (ADBC staging + one upsert) and the validator's fast integer path."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from factorypilot.connectors.mes import MappingConfig, MesFilesConfig, MesFilesConnector, MesStore
from factorypilot.connectors.mes._shifts import shifts as _shifts
from factorypilot.connectors.mes._validate import _int, _iso_fast, _parse_time
from factorypilot.errors import DataError

Make = Callable[..., MesFilesConnector]


def test_integer_parser_takes_plain_digits_fast_and_the_rest_by_rule() -> None:
    raw = pa.array(["12", "+5", "-3", "12.0", "12.5", "1e3", "불량", "9" * 18, "9" * 19, None, "007"])
    assert _int(raw).to_pylist() == [12, 5, -3, 12, None, None, None, int("9" * 18), None, None, 7]


async def test_duplicate_keys_inside_one_file_count_once(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "dup.csv"
    path.write_text("설비,생산일시,양품수량,불량수량\n"
                    "CNC-01,2026-11-25 07:00:00,10,1\n"
                    "CNC-01,2026-11-25 07:00:00,10,1\n"  # the same row twice: a duplicate
                    "CNC-01,2026-11-25 07:00:00,12,1\n"  # same key, new count: a conflict
                    "CNC-01,2026-11-25 08:00:00,9,0\n", encoding="utf-8")
    async with make_mes() as mes:
        report = await mes.ingest(path)
        rows = await mes.records("production")
    assert (report.inserted, report.replaced, report.duplicates, report.conflicts) == (2, 0, 1, 1)
    assert [(r["time"], r["good"]) for r in rows] == [("2026-11-24T22:00:00+00:00", 10),
                                                      ("2026-11-24T23:00:00+00:00", 9)]
    # the first version stays (default on_conflict: quarantine): record 1, on line 2
    assert (rows[0]["source_row"], rows[0]["source_line"]) == (1, 2)
    (c,) = report.conflict_list
    assert (c["line"], c["stored"]["good"], c["incoming"]["good"], c["differs"]) == (4, 10, 12, ["good"])


async def test_records_without_natural_key_are_deduplicated_by_content(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "불량.csv"
    path.write_text("설비,발생일시,불량수량,불량유형\n"
                    "PR-1,2026-11-25 09:00:00,3,버\n"
                    "PR-1,2026-11-25 09:00:00,3,버\n"
                    "PR-1,2026-11-25 09:00:00,3,크랙\n", encoding="utf-8")
    async with make_mes(mappings=[{"kind": "scrap", "columns": {"설비": "equipment", "발생일시": "time",
                                                                "불량수량": "quantity", "불량유형": "reason"}}]) as mes:
        first = await mes.ingest(path)
        again = await mes.ingest(path)
        rows = await mes.records("scrap")
    assert (first.inserted, first.duplicates) == (2, 1)
    assert (again.inserted, again.replaced, again.duplicates) == (0, 0, 3)
    assert sorted(r["reason"] for r in rows) == ["버", "크랙"]


def test_a_store_of_the_first_layout_is_refused_with_what_to_do(tmp_path: Path) -> None:
    old = tmp_path / "old.sqlite"
    with sqlite3.connect(old) as db:  # layout 1 had a content column and no user_version
        db.execute("CREATE TABLE production (key TEXT PRIMARY KEY, content TEXT NOT NULL)")
    with pytest.raises(DataError) as err:
        MesStore(old)
    assert "layout 1" in str(err.value)
    assert "ingest the exports again" in (err.value.hint or "")


def test_a_damaged_store_file_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "damaged.sqlite"
    bad.write_bytes(b"not a database " * 20)
    with pytest.raises(DataError) as err:
        MesStore(bad)
    assert str(bad) in str(err.value)
    assert "move it aside" in (err.value.hint or "")
    assert bad.read_bytes() == b"not a database " * 20  # nothing written over it


def test_reopening_a_current_store_keeps_its_records(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite"
    MesStore(path).close()
    store = MesStore(path)
    try:
        assert store.counts()["production"] == 0
    finally:
        store.close()



@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2040, 1, 1))),
                max_size=40))
def test_shift_from_the_parsed_wall_clock_equals_the_shift_from_utc(local: list[datetime | None]) -> None:
    """The shortcut (reuse the wall-clock seconds the parser read) must agree with converting UTC back."""
    cfg = MesFilesConfig(home=Path("unused"))
    raw = pa.array([None if t is None else t.strftime("%Y-%m-%d %H:%M:%S") for t in local], pa.string())
    parsed = _parse_time(raw, MappingConfig(kind="production"))
    assert parsed.wall_known.all()
    fast = _shifts(parsed.utc, cfg, parsed.wall)
    slow = _shifts(parsed.utc, cfg)
    assert fast[0].to_pylist() == slow[0].to_pylist()
    assert fast[1].to_pylist() == slow[1].to_pylist()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2060, 1, 1)),
                          st.sampled_from(["2026-02-30 06:00:00", "2026-01-01 6:00:00", "2026-01-01 06:00",
                                           "2026/01/01 06:00:00", "2026-01-01T06:00:00", "  junk  "])),
                max_size=30),
       st.booleans())
def test_iso_fast_path_parses_exactly_like_the_formats(values: list[datetime | str | None], tee: bool) -> None:
    raw = pa.array([v if v is None or isinstance(v, str) else v.strftime("%Y-%m-%dT%H:%M:%S" if tee else
                                                                        "%Y-%m-%d %H:%M:%S") for v in values],
                   pa.string())
    iso_first = ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y/%m/%d %H:%M:%S", "%Y-%m-%d %H:%M"]
    fast_map = MappingConfig(kind="production", timestamp_formats=iso_first)
    slow_map = MappingConfig(kind="production", timestamp_formats=iso_first[2:3] + iso_first[:2] + iso_first[3:])
    assert _iso_fast(raw, slow_map) is None  # the reference takes strptime only
    if all(isinstance(v, datetime) for v in values) and values:
        assert _iso_fast(raw, fast_map) is not None  # ... and the fast path is really taken when it can be
    assert _parse_time(raw, fast_map).utc.to_pylist() == _parse_time(raw, slow_map).utc.to_pylist()


async def test_reingest_rewrites_its_quarantine_file_and_a_corrected_export_gets_its_own(
        tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "실적.csv"
    path.write_text("설비,생산일시,양품수량\nCNC-01,2026-11-25 07:00:00,불량입력\nCNC-01,2026-11-25 08:00:00,5\n",
                    encoding="utf-8")
    async with make_mes() as mes:
        first = await mes.ingest(path)
        again = await mes.ingest(path)
        path.write_text("설비,생산일시,양품수량\nCNC-01,2026-11-25 07:00:00,7,\nCNC-01,2026-11-25 08:00:00,5\n",
                        encoding="utf-8")
        fixed = await mes.ingest(path)
    assert first.quarantine_file == again.quarantine_file
    assert first.quarantine_file is not None
    assert len(Path(first.quarantine_file).read_text(encoding="utf-8").splitlines()) == 1
    assert fixed.quarantine_file not in (None, first.quarantine_file)
    assert fixed.quarantined == 1  # the trailing comma: 4 fields where the header has 3
