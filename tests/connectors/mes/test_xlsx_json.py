# ruff: noqa: ASYNC240  (tests read fixture/quarantine files synchronously on purpose)
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from factorypilot.connectors.mes import MesFilesConnector
from factorypilot.errors import DataError

Make = Callable[..., MesFilesConnector]
READERS = pytest.mark.parametrize("reader", ["calamine", "openpyxl"])


def _merged_workbook(path: Path) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    cover = wb.active
    cover.title = "표지"
    cover["A1"] = "생산 실적 보고서"
    ws = wb.create_sheet("실적")
    ws["A1"] = "2026년 11월 생산실적"  # a title row before the header
    ws.merge_cells("A1:E1")
    ws["A2"], ws["B2"], ws["C2"], ws["E2"] = "설비", "일시", "수량", "비고"
    ws.merge_cells("C2:D2")  # merged group header over two sub-columns
    ws.merge_cells("A2:A3")
    ws.merge_cells("B2:B3")
    ws["C3"], ws["D3"] = "양품", "불량"
    ws.append(["CNC-01", datetime(2026, 11, 25, 7, 0), 120, 3, "정상"])
    ws.append(["CNC-02", datetime(2026, 11, 25, 8, 0), 98.0, 2, None])
    ws.append(["CNC-02", "언제", 5, 0, None])
    for _ in range(20):  # trailing empty (formatted) rows
        ws.append([None, None, None, None, None])
    ws.cell(row=40, column=1).number_format = "0.00"
    wb.save(path)


@READERS
async def test_xlsx_named_sheet_with_merged_headers(tmp_path: Path, make_mes: Make, reader: str) -> None:
    path = tmp_path / "실적.xlsx"
    _merged_workbook(path)
    mapping = {"kind": "production", "sheet": "실적", "skip_rows": 1, "header_rows": 2,
               "columns": {"설비": "equipment", "일시": "time", "수량/양품": "good", "수량/불량": "scrap"}}
    async with make_mes(mappings=[mapping], xlsx_reader=reader) as mes:
        info = await mes.inspect(path)
        report = await mes.ingest(path)
        rows = await mes.records("production")
    assert info.columns == ["설비", "일시", "수량/양품", "수량/불량", "비고"]
    assert info.detail == f"sheet '실적', read by {reader}"
    assert (report.total, report.accepted, report.quarantined) == (3, 2, 1)
    assert [r["good"] for r in rows] == [120, 98]
    assert rows[0]["time"] == "2026-11-24T22:00:00+00:00"
    assert report.quarantine_file is not None
    bad = json.loads(Path(report.quarantine_file).read_text(encoding="utf-8"))
    assert (bad["line"], bad["column"], bad["value"]) == (6, "일시", "언제")


@READERS
async def test_xlsx_in_batches_and_fills_merged_data_cells(tmp_path: Path, make_mes: Make, reader: str) -> None:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["설비", "생산일시", "양품수량", "불량수량"])
    for hour in range(7, 12):
        ws.append(["CNC-07" if hour == 7 else None, datetime(2026, 11, 25, hour), 10 * hour, 1])
    ws.merge_cells("A2:A6")  # the equipment name merged down five data rows, as report-style exports do
    ws.append([None, None, None, None])
    ws.append(["CNC-08", datetime(2026, 11, 25, 12), 5, 0])  # row 8, after an empty row
    path = tmp_path / "생산.xlsx"
    wb.save(path)
    # read in batches: the document size limit does not apply
    async with make_mes(batch_rows=2, max_document_mb=0.001, xlsx_reader=reader) as mes:
        report = await mes.ingest(path, kind="production")
        rows = await mes.records("production")
    assert (report.total, report.accepted, report.quarantined) == (6, 6, 0)
    assert [r["equipment"] for r in rows] == ["CNC-07"] * 5 + ["CNC-08"]
    assert [r["source_line"] for r in rows] == [2, 3, 4, 5, 6, 8]
    assert [r["source_row"] for r in rows] == [1, 2, 3, 4, 5, 7]  # record numbers, as quarantine rows count them


@READERS
async def test_xlsx_missing_sheet_and_damaged_file(tmp_path: Path, make_mes: Make, reader: str) -> None:
    path = tmp_path / "실적.xlsx"
    _merged_workbook(path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(path.read_bytes()[:2000])
    async with make_mes(mappings=[{"kind": "production", "sheet": "없는시트"}], xlsx_reader=reader) as mes:
        with pytest.raises(DataError, match="no sheet") as info:
            await mes.ingest(path)
        assert "실적" in str(info.value)
        with pytest.raises(DataError, match="workbook"):
            await mes.ingest(broken)


async def test_xlsx_readers_agree_on_an_offset_table(tmp_path: Path, make_mes: Make,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A table that starts at C3 (the exporter's layout), a formula cell, a date-only cell and a number
    stored as text: both readers give the same records and row numbers; "auto" picks calamine for a small
    sheet and the streaming reader once the sheet XML is over the limit."""
    import openpyxl

    import factorypilot.connectors.mes._xlsx as xlsx

    wb = openpyxl.Workbook()
    ws = wb.active
    ws["C1"] = "설비 가동 보고"
    for r, row in enumerate([["설비", "생산일시", "양품수량", "불량수량"],
                             ["CNC-01", datetime(2026, 11, 25, 7), 120, "3"],
                             ["CNC-02", datetime(2026, 11, 25).date(), 98.0, 2],
                             ["CNC-03", "어제", 5, 0]], start=3):
        for c, value in enumerate(row, start=3):
            ws.cell(row=r, column=c, value=value)
    path = tmp_path / "offset.xlsx"
    wb.save(path)
    seen = {}
    for reader in ("calamine", "openpyxl", "auto"):
        if reader == "auto":
            monkeypatch.setattr(xlsx, "_CALAMINE_MAX_XML", 0)
        async with make_mes(xlsx_reader=reader, source=reader, home=tmp_path / reader,
                            mappings=[{"kind": "production", "skip_rows": 2}]) as mes:
            report = await mes.ingest(path)
            rows = await mes.records("production")
        seen[reader] = ((report.accepted, report.quarantined, report.detail),
                        sorted((r["source_line"], r["equipment"], r["time"], r["good"], r["scrap"]) for r in rows))
    assert seen["calamine"][1] == seen["openpyxl"][1] == seen["auto"][1] == [
        (4, "CNC-01", "2026-11-24T22:00:00+00:00", 120, 3), (5, "CNC-02", "2026-11-24T15:00:00+00:00", 98, 2)]
    assert seen["calamine"][0] == (2, 1, "sheet 'Sheet', read by calamine")
    assert seen["auto"][0] == (2, 1, "sheet 'Sheet', read by openpyxl")


async def test_jsonl_with_bad_lines_and_depth_limit(tmp_path: Path, make_mes: Make) -> None:
    deep: object = "x"
    for _ in range(50):
        deep = {"a": deep}
    lines = [
        json.dumps({"lot": "LOT-1", "자재코드": "강판-1.2t", "수량": 500, "단위": "kg", "상태": "사용가능"},
                   ensure_ascii=False),
        "{not json",
        json.dumps([1, 2, 3]),
        json.dumps({"lot": "LOT-2", "수량": "많음"}, ensure_ascii=False),
        json.dumps({"lot": "LOT-3", "extra": deep}),
        "",
        json.dumps({"lot": "LOT-4", "수량": 20.5, "nested": {"k": 1}}),
    ]
    path = tmp_path / "lots.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    async with make_mes(mappings=[{"kind": "lot"}]) as mes:
        report = await mes.ingest(path)
        lots = await mes.records("lot")
    assert (report.format, report.total, report.accepted, report.quarantined) == ("jsonl", 6, 2, 4)
    assert {lot["lot_id"]: lot["quantity"] for lot in lots} == {"LOT-1": 500.0, "LOT-4": 20.5}
    assert lots[0]["material"] == "강판-1.2t"
    assert report.quarantine_file is not None
    rows = sorted(json.loads(x)["line"] for x in Path(report.quarantine_file).read_text("utf-8").splitlines())
    assert rows == [2, 3, 4, 5]


async def test_json_document_with_records_key_and_hostile_json(tmp_path: Path, make_mes: Make) -> None:
    doc = {"exported": "2026-11-25", "items": [
        {"equipment": "PRESS-1", "start": "2026-11-25T08:00:00+09:00", "end": "2026-11-25T08:45:00+09:00",
         "reason": "금형 교체"}]}
    path = tmp_path / "downtime.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    cut = tmp_path / "cut.json"
    cut.write_text(json.dumps(doc)[:40], encoding="utf-8")
    async with make_mes() as mes:
        report = await mes.ingest(path, kind="downtime")
        rows = await mes.records("downtime")
        with pytest.raises(DataError, match="nested"):
            await mes.ingest(deep, kind="downtime")
        with pytest.raises(DataError, match="invalid JSON"):
            await mes.ingest(cut, kind="downtime")
    assert report.accepted == 1
    assert rows[0]["minutes"] == 45.0
    assert rows[0]["start"] == "2026-11-24T23:00:00+00:00"


def test_cell_text_rounds_excel_times_to_the_second() -> None:
    """Excel keeps date-times as fractions of a day: 07:00 can come back as 06:59:59.999999."""
    from datetime import date

    from factorypilot.connectors.mes._xlsx import _cell

    assert _cell(datetime(2026, 11, 25, 6, 59, 59, 999_999)) == "2026-11-25 07:00:00"
    assert _cell(datetime(2026, 12, 31, 23, 59, 59, 600_000)) == "2027-01-01 00:00:00"
    assert _cell(datetime(2026, 11, 25, 7, 0, 0, 400_000, tzinfo=UTC)) == "2026-11-25 07:00:00"
    assert _cell(date(2026, 11, 25)) == "2026-11-25 00:00:00"
    assert [_cell(v) for v in (120.0, 1.5, 7, None, "브래킷-A", True)] == ["120", "1.5", "7", "", "브래킷-A", "True"]


_CELLS = st.one_of(
    st.lists(st.one_of(st.none(), st.text(max_size=5)), max_size=30),
    st.lists(st.one_of(st.none(), st.integers(-(2**63), 2**63 - 1)), max_size=30),
    st.lists(st.one_of(st.none(), st.floats(), st.integers(-(2**60), 2**60).map(float),
                       st.sampled_from([0.5, -0.0, 1e20, 2.0**53, 120.0])), max_size=30),
    st.lists(st.one_of(st.none(), st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2100, 1, 1)),
                       st.sampled_from([datetime(2026, 11, 25, 6, 59, 59, 500_000),
                                        datetime(2026, 11, 25, 6, 59, 59, 499_999)])), max_size=30),
    st.lists(st.one_of(st.none(), st.text(max_size=3), st.floats(allow_nan=False), st.booleans(),
                       st.dates(), st.datetimes()), max_size=30),
)


@given(values=_CELLS)
def test_column_text_equals_cell_by_cell(values: list[object]) -> None:
    """The per-column fast paths spell every value exactly as the per-cell conversion does."""
    from factorypilot.connectors.mes._xlsx import _cell, _column_text

    assert _column_text(values).to_pylist() == [_cell(v) for v in values]
