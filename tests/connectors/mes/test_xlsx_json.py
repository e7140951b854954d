# ruff: noqa: ASYNC240  (tests read fixture/quarantine files synchronously on purpose)
from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import pytest

from factorypilot.connectors.mes import MesFilesConnector
from factorypilot.errors import DataError

Make = Callable[..., MesFilesConnector]


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


async def test_xlsx_named_sheet_with_merged_headers(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "실적.xlsx"
    _merged_workbook(path)
    mapping = {"kind": "production", "sheet": "실적", "skip_rows": 1, "header_rows": 2,
               "columns": {"설비": "equipment", "일시": "time", "수량/양품": "good", "수량/불량": "scrap"}}
    async with make_mes(mappings=[mapping]) as mes:
        info = await mes.inspect(path)
        report = await mes.ingest(path)
        rows = await mes.records("production")
    assert info.columns == ["설비", "일시", "수량/양품", "수량/불량", "비고"]
    assert info.detail == "sheet '실적'"
    assert (report.total, report.accepted, report.quarantined) == (3, 2, 1)
    assert [r["good"] for r in rows] == [120, 98]
    assert rows[0]["time"] == "2026-11-24T22:00:00+00:00"
    assert report.quarantine_file is not None
    bad = json.loads(Path(report.quarantine_file).read_text(encoding="utf-8"))
    assert (bad["row"], bad["column"], bad["value"]) == (6, "일시", "언제")


async def test_xlsx_streams_in_batches_and_fills_merged_data_cells(tmp_path: Path, make_mes: Make) -> None:
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
    async with make_mes(batch_rows=2, max_document_mb=0.001) as mes:  # streamed: the size limit does not apply
        report = await mes.ingest(path, kind="production")
        rows = await mes.records("production")
    assert (report.total, report.accepted, report.quarantined) == (6, 6, 0)
    assert [r["equipment"] for r in rows] == ["CNC-07"] * 5 + ["CNC-08"]
    assert [r["source_row"] for r in rows] == [2, 3, 4, 5, 6, 8]


async def test_xlsx_missing_sheet_and_damaged_file(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "실적.xlsx"
    _merged_workbook(path)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(path.read_bytes()[:2000])
    async with make_mes(mappings=[{"kind": "production", "sheet": "없는시트"}]) as mes:
        with pytest.raises(DataError, match="no sheet") as info:
            await mes.ingest(path)
        assert "실적" in str(info.value)
        with pytest.raises(DataError, match="workbook"):
            await mes.ingest(broken)


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
    rows = sorted(json.loads(x)["row"] for x in Path(report.quarantine_file).read_text("utf-8").splitlines())
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
