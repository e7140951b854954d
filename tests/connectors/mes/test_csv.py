# ruff: noqa: ASYNC240  (tests read fixture/quarantine files synchronously on purpose)
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.connectors.mes import MappingConfig, MesFilesConfig, MesFilesConnector, RecordKind
from factorypilot.errors import DataError

Make = Callable[..., MesFilesConnector]
_HEADER = "설비,생산일시,양품수량,불량수량,작업지시번호,품번"
_ROWS = ["CNC-01,2026-11-25 07:00:00,120,3,WO-1001,브래킷-A", "CNC-01,2026-11-25 15:10:00,110,5,WO-1001,브래킷-A",
         "CNC-02,2026-11-25 23:30:00,90,9,WO-1002,하우징-B", "CNC-02,2026-11-26 02:00:00,80,1,WO-1002,하우징-B"]


async def test_cp949_korean_headers_detected_and_mapped(write_ko_csv: Callable[..., Path], make_mes: Make) -> None:
    path = write_ko_csv()
    async with make_mes() as mes:
        report = await mes.ingest(path)
        rows = await mes.records("production")
    assert report.encoding == "cp949"
    assert report.kinds == ["production"]
    assert (report.total, report.accepted, report.quarantined, report.inserted) == (4, 4, 0, 4)
    assert [r["product"] for r in rows][:1] == ["브래킷-A"]
    first = rows[0]
    # 07:00 in Asia/Seoul is 22:00 UTC the day before; shift A starts at 06:00 local
    assert first["time"] == "2026-11-24T22:00:00+00:00"
    assert (first["shift"], first["shift_date"]) == ("A", "2026-11-25")
    night = next(r for r in rows if r["time"].startswith("2026-11-25T17:00"))
    assert (night["shift"], night["shift_date"]) == ("C", "2026-11-25")  # 02:00 local belongs to yesterday's C


async def test_utf8_bom_and_euc_kr_and_tsv(write_ko_csv: Callable[..., Path], make_mes: Make) -> None:
    bom = write_ko_csv("bom.csv", encoding="utf-8-sig")
    euc = write_ko_csv("euc.csv", rows=["CNC-03,2026-11-25 09:00:00,5,0,WO-9,부품"], encoding="euc-kr")
    tsv = write_ko_csv("tab.tsv", rows=["CNC-04\t2026-11-25 09:00:00\t7\t0\tWO-8\t부품"],
                       header="설비\t생산일시\t양품수량\t불량수량\t작업지시번호\t품번")
    async with make_mes() as mes:
        r_bom = await mes.ingest(bom)
        r_euc = await mes.ingest(euc)
        r_tsv = await mes.ingest(tsv)
        equipment = {r["equipment"] for r in await mes.records("production")}
    assert r_bom.encoding == "utf-8-sig"
    assert r_bom.accepted == 4
    assert r_euc.encoding == "cp949"
    assert r_euc.accepted == 1
    assert r_tsv.delimiter == "\t"
    assert r_tsv.accepted == 1
    assert "설비" not in equipment
    assert {"CNC-03", "CNC-04"} <= equipment  # the BOM did not leak into a header


async def test_encoding_from_config_wins(write_ko_csv: Callable[..., Path], make_mes: Make) -> None:
    path = write_ko_csv(encoding="utf-8")
    async with make_mes(mappings=[{"kind": "production", "encoding": "utf-8"}]) as mes:
        assert (await mes.ingest(path)).encoding == "utf-8"


async def test_bad_rows_quarantined_with_location(write_ko_csv: Callable[..., Path], make_mes: Make) -> None:
    rows = [
        "CNC-01,2026-11-25 07:00:00,120,3,WO-1,A",
        "CNC-01,2026-11-25 08:00:00,열두개,3,WO-1,A",   # not an integer
        "CNC-01,어제,10,3,WO-1,A",                      # not a timestamp
        ",2026-11-25 09:00:00,10,3,WO-1,A",             # required equipment missing
        "CNC-01,2026-11-25 10:00:00,10",                # too few fields
        "",                                             # blank line: counted, not a record
        "CNC-01,2026-11-25 11:00:00,\"1,234\",0,WO-1,A",  # thousands separator is fine
    ]
    path = write_ko_csv(rows=rows)
    async with make_mes() as mes:
        report = await mes.ingest(path)
    assert (report.total, report.accepted, report.quarantined, report.blank_lines) == (6, 2, 4, 1)
    assert report.quarantine_file is not None
    entries = [json.loads(line) for line in Path(report.quarantine_file).read_text(encoding="utf-8").splitlines()]
    by_row = {e["line"]: e for e in entries}
    assert set(by_row) == {3, 4, 5, 6}
    assert (by_row[3]["column"], by_row[3]["value"], by_row[3]["expected"]) == ("양품수량", "열두개", "int")
    assert (by_row[4]["column"], by_row[4]["expected"]) == ("생산일시", "datetime")
    assert by_row[5]["column"] == "설비"
    assert by_row[5]["code"] == "missing"
    assert "3 fields" in by_row[6]["reason"]
    assert by_row[6]["code"] == "bad_field_count"
    assert [by_row[n]["code"] for n in (3, 4)] == ["invalid_number", "invalid_date"]
    assert {n: by_row[n]["row"] for n in by_row} == {3: 2, 4: 3, 5: 4, 6: 5}  # row = data record, line = line
    assert all(e["file"] == str(path) for e in entries)


async def test_reingest_and_overlapping_export_are_idempotent(write_ko_csv: Callable[..., Path],
                                                              make_mes: Make, ko_rows: list[str]) -> None:
    first = write_ko_csv("day1.csv", rows=ko_rows[:3])
    overlap = write_ko_csv("day1-2.csv", rows=ko_rows[1:])
    async with make_mes() as mes:
        a = await mes.ingest(first)
        b = await mes.ingest(first)
        c = await mes.ingest(overlap)
        stored = await mes.records("production")
    assert (a.inserted, a.duplicates) == (3, 0)
    assert (b.inserted, b.duplicates, b.accepted) == (0, 3, 3)
    assert (c.inserted, c.duplicates) == (1, 2)
    assert len(stored) == 4


async def test_reexport_with_new_status_updates_by_natural_key(tmp_path: Path, make_mes: Make) -> None:
    v1 = tmp_path / "orders_v1.csv"
    v2 = tmp_path / "orders_v2.csv"
    v1.write_text("작업지시번호,품번,지시수량,상태\nWO-1,브래킷,100,대기\nWO-2,하우징,50,진행\n", encoding="utf-8")
    v2.write_text("작업지시번호,품번,지시수량,상태\nWO-1,브래킷,100,완료\nWO-2,하우징,50,진행\n", encoding="utf-8")
    enums = {"status": {"대기": "planned", "진행": "running", "완료": "completed"}}
    async with make_mes(mappings=[{"kind": "work_order", "pattern": "orders_*.csv", "enums": enums,
                                   "on_conflict": "replace"}]) as mes:
        await mes.ingest(v1)
        r2 = await mes.ingest(v2)
        orders = {o["order_id"]: o["status"] for o in await mes.records("work_order")}
    assert (r2.replaced, r2.duplicates, r2.inserted) == (1, 1, 0)
    assert r2.conflict_list[0]["stored"]["status"] == "planned"  # both versions, even when replaced
    assert orders == {"WO-1": "completed", "WO-2": "running"}


async def test_enum_unknown_value_scale_and_timezone(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "stops.csv"
    path.write_text("machine,from,to,hours,why\n"
                    "PRESS-1,25.11.2026 08:00,25.11.2026 09:30,1.5,금형교체\n"
                    "PRESS-1,25.11.2026 10:00,,0.25,자재대기\n"
                    "PRESS-2,25.11.2026 10:00,25.11.2026 09:00,,금형교체\n"
                    "PRESS-2,25.11.2026 11:00,,1,외계인\n", encoding="utf-8")
    mapping = MappingConfig(kind="downtime", columns={"machine": "equipment", "from": "start", "to": "end",
                                                      "hours": "minutes", "why": "reason"},
                            scale={"minutes": 60}, units={"minutes": "min"}, timezone="UTC",
                            timestamp_formats=["%d.%m.%Y %H:%M"],
                            enums={"reason": {"금형교체": "die change", "자재대기": "waiting for material"}})
    async with MesFilesConnector(MesFilesConfig(mappings=[mapping])) as mes:
        report = await mes.ingest(path)
        rows = await mes.records("downtime")
        per_machine = await mes.downtime_per_machine()
    assert (report.accepted, report.quarantined) == (2, 2)  # end before start; unknown reason word
    assert rows[0]["start"] == "2026-11-25T08:00:00+00:00"
    assert [r["minutes"] for r in rows] == [90.0, 15.0]
    assert rows[0]["reason"] == "die change"
    assert per_machine == [{"equipment": "PRESS-1", "stops": 2, "minutes": 105.0}]


async def test_wrong_delimiter_is_a_clear_error(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "semi.csv"
    path.write_text("설비;생산일시;양품수량\nCNC-01;2026-11-25 07:00:00;5\n", encoding="utf-8")
    async with make_mes(mappings=[{"kind": "production", "delimiter": ","}]) as mes:
        with pytest.raises(DataError, match="delimiter") as info:
            await mes.ingest(path)
    assert info.value.file == str(path)


async def test_hostile_tabular_input_is_an_error_not_a_crash(tmp_path: Path, make_mes: Make,
                                                             write_ko_csv: Callable[..., Path]) -> None:
    junk = tmp_path / "junk.csv"
    junk.write_bytes(bytes(range(256)) * 64)
    truncated = tmp_path / "cut.csv"  # cut inside a double-byte character
    truncated.write_bytes("설비,생산일시,양품수량\nCNC-01,2026-11-25 07:00:00,5\n설비".encode("cp949")[:-1])
    cut_row = tmp_path / "cut-row.csv"  # cut inside a quoted field: the last row is incomplete
    cut_row.write_text('설비,생산일시,양품수량\nCNC-01,2026-11-25 07:00:00,5\nCNC-01,"2026-11-25', encoding="utf-8")
    huge = write_ko_csv("huge.csv", rows=["CNC-01,2026-11-25 07:00:00,5,0,WO-1," + "가" * 20_000,
                                          "CNC-01,2026-11-25 08:00:00,5,0,WO-1,B"])
    async with make_mes(max_field_chars=1000) as mes:
        with pytest.raises(DataError, match="binary"):
            await mes.ingest(junk)
        with pytest.raises(DataError) as info:
            await mes.ingest(truncated)
        assert info.value.file == str(truncated)
        assert "cp949" in str(info.value)
        cut = await mes.ingest(cut_row)
        report = await mes.ingest(huge)
    assert (cut.accepted, cut.quarantined) == (1, 1)
    assert (report.accepted, report.quarantined) == (1, 1)


async def test_unknown_kind_and_unmappable_columns(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "mystery.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    async with make_mes() as mes:
        with pytest.raises(DataError, match="record kind"):
            await mes.ingest(path)
        with pytest.raises(DataError, match="unknown record kind"):
            await mes.ingest(path, kind="widgets")
        with pytest.raises(DataError, match="required production fields"):
            await mes.ingest(path, kind="production")


async def test_progress_reports_bytes_read(write_ko_csv: Callable[..., Path], make_mes: Make) -> None:
    path = write_ko_csv()
    seen: list[int] = []
    async with make_mes() as mes:
        await mes.ingest(path, progress=seen.append)
    assert seen
    assert seen == sorted(seen)
    assert seen[-1] == path.stat().st_size


async def test_progress_of_streamed_json_lines_and_xlsx(tmp_path: Path, make_mes: Make) -> None:
    import openpyxl

    jsonl = tmp_path / "lots.jsonl"
    jsonl.write_text("".join(f'{{"로트번호": "L-{i}"}}\n' for i in range(10_000)), encoding="utf-8")
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["설비", "생산일시", "양품수량"])
    for i in range(300):
        ws.append(["CNC-01", f"2026-11-25 {i % 24:02d}:{i % 60:02d}:00", i])
    xlsx = tmp_path / "생산.xlsx"
    wb.save(xlsx)
    for path, kind in ((jsonl, "lot"), (xlsx, "production")):
        seen: list[int] = []
        async with make_mes(batch_rows=100) as mes:
            await mes.ingest(path, kind=kind, progress=seen.append)
        assert len(seen) > 2, path  # reported along the way, not only at the end
        assert seen == sorted(seen)
        assert seen[-1] == path.stat().st_size


async def test_documents_over_the_size_limit_are_refused(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "big.json"
    path.write_text("[" + ",".join(['{"lot": "L"}'] * 2000) + "]", encoding="utf-8")
    async with make_mes(max_document_mb=0.01) as mes:
        with pytest.raises(DataError, match="limit"):
            await mes.ingest(path, kind="lot")


async def test_json_lines_stream_in_batches_past_the_document_limit(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "lots.jsonl"  # a key that first appears late still becomes a column of every batch
    lines = [f'{{"로트번호": "L-{i}", "품번": "브래킷"}}' for i in range(2500)]
    lines[2400] = '{"로트번호": "L-2400", "품번": "브래킷", "수량": 7}'
    lines[1200] = "not json"
    path.write_bytes(("\n".join(lines) + "\n").encode("cp949"))
    async with make_mes(max_document_mb=0.01, batch_rows=1000,
                        mappings=[{"kind": "lot", "pattern": "lots.jsonl", "encoding": "cp949",
                                   "columns": {"로트번호": "lot_id", "품번": "material", "수량": "quantity"}}]) as mes:
        report = await mes.ingest(path)
        lots = {r["lot_id"]: r for r in await mes.records("lot")}
    assert (report.format, report.total, report.accepted, report.quarantined) == ("jsonl", 2500, 2499, 1)
    assert lots["L-2400"]["quantity"] == 7
    assert lots["L-0"]["material"] == "브래킷"


def test_public_api_is_pinned() -> None:
    import factorypilot.connectors.mes as mes

    assert sorted(mes.__all__) == sorted([
        "NS_V0401", "NS_V0600", "NS_V0700", "Downtime", "Equipment", "IngestReport", "InspectReport", "Lot",
        "MappingConfig",
        "Material", "MesFilesConfig", "MesFilesConnector", "MesRecord", "MesStore", "ProductionCount",
        "RecordKind", "Scrap", "Segment", "WatchEvent", "WorkOrder", "detect_format", "wait_stable"])
    assert all(hasattr(mes, name) for name in mes.__all__)


async def test_row_numbers_stay_exact_across_blocks(tmp_path: Path, make_mes: Make) -> None:
    """A file larger than one 8 MB parse block, with short rows early and late: every line number is exact."""
    path = tmp_path / "big.csv"
    lines = ["설비,생산일시,양품수량,불량수량,작업지시번호,품번"]
    short = {5, 6, 100, 90_001, 150_000}  # physical line numbers of rows with too few fields
    bad_value = {7, 120_000}
    n_lines = 160_000
    for line in range(2, n_lines + 1):
        if line in short:
            lines.append("CNC-01,2026-11-25 08:00:00")
        else:
            good = "x" if line in bad_value else "1"
            lines.append(f"CNC-01,2026-11-25 08:00:00,{good},0,WO-{line},품번-{'가' * 20}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert path.stat().st_size > 9 << 20  # more than one parse block
    async with make_mes() as mes:
        report = await mes.ingest(path)
        probes = {line: await mes.records("production", filters={"order_id": f"WO-{line}"})
                  for line in (2, 8, 101, 90_000, 90_002, 149_999, 150_001, n_lines)}
    assert report.quarantined == len(short) + len(bad_value)
    assert report.accepted == n_lines - 1 - report.quarantined
    assert report.quarantine_file is not None
    rows = sorted(json.loads(x)["line"] for x in Path(report.quarantine_file).read_text("utf-8").splitlines())
    assert rows == sorted(short | bad_value)
    assert {line: found[0]["source_line"] for line, found in probes.items()} == {line: line for line in probes}
    # the record number (as a quarantine entry's row): one header line, no multi-line cells here
    assert {line: found[0]["source_row"] for line, found in probes.items()} == {line: line - 1 for line in probes}


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
async def test_row_numbers_are_file_lines_across_pieces(tmp_path: Path, make_mes: Make, newline: str) -> None:
    """Files are cut into pieces parsed apart (batch_rows=2 here): quarantine rows are still the file's lines,
    whatever the line ends, with blank lines and rows of the wrong width in between."""
    lines = [_HEADER, _ROWS[0], "", _ROWS[1], "CNC-03,2026-11-25 08:00:00,열둘,0,WO-1,A", ",,,,,",
             "too,few", _ROWS[2], "CNC-04,어제,1,0,WO-2,B", _ROWS[3]]
    path = tmp_path / "lines.csv"
    path.write_bytes(newline.join(lines).encode("cp949"))  # no line end after the last row
    async with make_mes(batch_rows=2, mappings=[{"kind": "production", "encoding": "cp949"}]) as mes:
        report = await mes.ingest(path)
    assert (report.accepted, report.quarantined, report.total, report.blank_lines) == (4, 3, 7, 2)
    assert report.quarantine_file is not None
    entries = [json.loads(x) for x in Path(report.quarantine_file).read_text("utf-8").splitlines()]
    assert sorted(e["line"] for e in entries) == [5, 7, 9]  # '열둘', 'too,few', '어제'; lines 3 and 6 are blank


async def test_excel_unicode_text_utf16_tsv(tmp_path: Path, make_mes: Make) -> None:
    """Excel's "Unicode text" export: UTF-16 LE with a BOM, tab-separated (read as one stream, not in pieces)."""
    path = tmp_path / "unicode.txt"
    rows = [_HEADER, *_ROWS, "CNC-09,2026-11-25 07:00:00,불량입력,0,WO-9,X"]
    path.write_bytes("\r\n".join(r.replace(",", "\t") for r in rows).encode("utf-16"))
    async with make_mes(batch_rows=2) as mes:
        report = await mes.ingest(path)
        shown = await mes.inspect(path)
    assert (report.encoding, report.delimiter) == ("utf-16", "\t")
    assert (report.accepted, report.quarantined) == (4, 1)
    assert report.quarantine_file is not None
    assert [json.loads(x)["line"] for x in Path(report.quarantine_file).read_text("utf-8").splitlines()] == [6]
    assert shown.columns == _HEADER.split(",")


async def test_utf16_cut_inside_a_character_names_record_line_and_byte(tmp_path: Path, make_mes: Make) -> None:
    """A UTF-16 export cut in the middle of a character, after a quoted two-line cell: one line naming the
    record, its physical line and the exact byte offset (the stream path, not the pieces)."""
    path = tmp_path / "cut.txt"
    rows = [_HEADER, _ROWS[0], 'CNC-02,2026-11-25 08:00:00,5,0,WO-2,"두 줄\n비고"', *_ROWS[1:]]
    data = "\r\n".join(r.replace(",", "\t") for r in rows).encode("utf-16")
    path.write_bytes(data[:-1])  # the last character loses its second byte
    async with make_mes() as mes:
        with pytest.raises(DataError) as err:
            await mes.ingest(path)
    records = len(rows) - 1
    message = str(err.value)
    assert f"at record {records} (line {records + 2}, byte offset {len(data) - 2:,})" in message, message
    assert len(message.splitlines()) == 1


@pytest.mark.parametrize("encoding", ["utf-8-sig", "cp949", "utf-16"])
async def test_banner_lines_and_two_header_rows(tmp_path: Path, make_mes: Make, encoding: str) -> None:
    """Banner lines before a two-row header: pieces (UTF-8 with BOM, CP949) and the stream (UTF-16) agree on
    the columns and on the file's line numbers."""
    lines = ["생산실적 보고서,,,", "출력일: 2026-11-25,,,", "설비,생산,수량,수량", "설비,일시,양품,불량",
             "CNC-01,2026-11-25 07:00:00,120,3", "CNC-01,2026-11-25 08:00:00,많음,3", "CNC-02,2026-11-25 09:00:00,90,1"]
    path = tmp_path / f"report-{encoding}.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode(encoding))
    mapping = {"kind": "production", "skip_rows": 2, "header_rows": 2,
               "columns": {"설비": "equipment", "생산/일시": "time", "수량/양품": "good", "수량/불량": "scrap"}}
    async with make_mes(batch_rows=1, mappings=[mapping]) as mes:
        shown = await mes.inspect(path)
        report = await mes.ingest(path)
    assert shown.columns == ["설비", "생산/일시", "수량/양품", "수량/불량"]
    assert [r["line"] for r in shown.records] == [5, 7]
    assert (report.encoding, report.accepted, report.quarantined) == (encoding, 2, 1)
    assert report.quarantine_file is not None
    assert [json.loads(x)["line"] for x in Path(report.quarantine_file).read_text("utf-8").splitlines()] == [6]


async def test_worker_count_changes_nothing_but_speed(tmp_path: Path, make_mes: Make) -> None:
    """One worker or five, small pieces: the same records, row numbers and quarantine file."""
    rows = [f"CNC-{i % 3:02d},2026-11-25 {i % 24:02d}:{i % 60:02d}:00,{'열' if i % 7 == 0 else i},{i % 4},"
            f"WO-{i // 10},브래킷-{i % 5}" for i in range(200)]
    path = tmp_path / "many.csv"
    path.write_bytes(("\n".join([_HEADER, *rows]) + "\n").encode("cp949"))
    results = []
    for workers in (1, 5):
        async with make_mes(batch_rows=9, workers=workers, source=f"w{workers}", home=tmp_path / f"h{workers}",
                            mappings=[{"kind": "production", "encoding": "cp949"}]) as mes:
            report = await mes.ingest(path)
            assert report.quarantine_file is not None
            records = mes.store.records(RecordKind.PRODUCTION, limit=1000)
        results.append((report.accepted, report.quarantined, Path(report.quarantine_file).read_text("utf-8"),
                        sorted((r["source_row"], r["equipment"], r["good"], r["shift"]) for r in records)))
    assert results[0] == results[1]
    assert results[0][:2] == (171, 29)


async def test_undecodable_bytes_mid_file_name_the_row(tmp_path: Path, make_mes: Make) -> None:
    """A piece that cannot be decoded is reported by row (counted over the pieces before it), not only by byte."""
    lines = [_HEADER.encode("cp949"), *(r.encode("cp949") for r in _ROWS[:3]), b"CNC-09,\xff\xfe,1,0,WO-9,X",
             _ROWS[3].encode("cp949")]
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\r\n".join(lines) + b"\r\n")
    async with make_mes(batch_rows=1, mappings=[{"kind": "production", "encoding": "cp949"}]) as mes:
        with pytest.raises(DataError) as info:
            await mes.ingest(path)
    assert (info.value.file, info.value.row) == (str(path), 5)
    at = path.read_bytes().index(b"\xff")
    assert f"record 4 (line 5, byte offset {at:,})" in str(info.value)  # the exact byte, not the piece start
    assert "cp949" in str(info.value)
