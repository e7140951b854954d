"""Any mix of valid and invalid rows: every row is accepted or quarantined, none dropped or invented."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factorypilot.connectors.mes import MesFilesConfig, MesStore
from factorypilot.connectors.mes._ingest import ingest_file
from factorypilot.errors import DataError

_good_cell = {
    "equipment": st.sampled_from(["CNC-01", "프레스-2", "로봇셀 3"]),
    "time": st.datetimes(min_value=__import__("datetime").datetime(2020, 1, 1),
                         max_value=__import__("datetime").datetime(2030, 1, 1)).map(
        lambda d: d.strftime("%Y-%m-%d %H:%M:%S")),
    "good": st.integers(0, 10**9).map(str),
    "scrap": st.integers(0, 10**6).map(str),
}
_bad_cell = {
    "equipment": st.just(""),
    "time": st.sampled_from(["", "어제", "2026-13-45 99:99:99", "12/34"]),
    "good": st.sampled_from(["", "열둘", "1.5", "1e3", "--1", "0x10"]),
    "scrap": st.sampled_from(["many", "3.7", "불량"]),
}
_text = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=12)


@st.composite
def rows(draw: st.DrawFn) -> tuple[list[list[str]], int, set[int]]:
    """Rows as cell lists, how many of them are valid, and the indexes of the invalid ones."""
    out: list[list[str]] = []
    valid = 0
    bad: set[int] = set()
    for _ in range(draw(st.integers(0, 40))):
        kind = draw(st.sampled_from(["good", "bad-cell", "short", "long"]))
        if kind != "good":
            bad.add(len(out))
        cells = [draw(_good_cell[c]) for c in ("equipment", "time", "good", "scrap")] + [draw(_text)]
        if kind == "good":
            valid += 1
        elif kind == "bad-cell":
            col = draw(st.sampled_from(list(_bad_cell)))
            cells[list(_good_cell).index(col)] = draw(_bad_cell[col])
        elif kind == "short":
            cells = cells[: draw(st.integers(1, 3))]
        else:
            cells = [*cells, "extra"]
        out.append(cells)
    return out, valid, bad


def _csv_line(cells: list[str]) -> str:
    return ",".join('"' + c.replace('"', '""') + '"' for c in cells)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows(), encoding=st.sampled_from(["utf-8", "cp949", "utf-8-sig"]), newline=st.sampled_from(["\n", "\r\n"]),
       batch_rows=st.sampled_from([1, 7, 1000]))
def test_accepted_plus_quarantined_is_total(data: tuple[list[list[str]], int, set[int]], encoding: str,
                                            newline: str, batch_rows: int) -> None:
    """Small batches cut the file into many pieces parsed apart: row numbers must still be the file's lines."""
    table, valid, bad = data
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.csv"
        lines = ["설비,생산일시,양품수량,불량수량,메모", *(_csv_line(r) for r in table)]
        text = newline.join(lines) + newline
        try:
            payload = text.encode(encoding)
        except UnicodeEncodeError:  # a character CP949 cannot represent: write UTF-8 instead
            encoding = "utf-8"
            payload = text.encode(encoding)
        path.write_bytes(payload)
        cfg = MesFilesConfig(home=Path(tmp) / "home", batch_rows=batch_rows,
                             mappings=[{"kind": "production", "encoding": encoding, "columns": {"메모": "product"}}])
        store = MesStore(Path(tmp) / "home" / "s.sqlite")
        try:
            report = ingest_file(path, cfg, store)
        finally:
            store.close()
        assert report.accepted + report.quarantined == report.total == len(table)
        # valid rows whose key repeats with other values are conflicts: quarantined (the default), never dropped
        assert report.accepted + report.conflicts == valid
        assert report.inserted + report.replaced + report.duplicates == report.accepted
        quarantined = 0
        entries = []
        if report.quarantine_file:
            entries = [json.loads(x) for x in Path(report.quarantine_file).read_text("utf-8").splitlines()]
            quarantined = len(entries)
        assert quarantined == report.quarantined
        invalid = {e["line"] for e in entries if e["code"] != "conflict"}
        assert invalid == {i + 2 for i in bad}  # line 1 is the header
        assert len([e for e in entries if e["code"] == "conflict"]) == report.conflicts


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=rows(), junk=st.lists(st.sampled_from(["{oops", "[1, 2]", '"text"', "null"]), max_size=5))
def test_jsonl_accepted_plus_quarantined_is_total(data: tuple[list[list[str]], int, set[int]],
                                                  junk: list[str]) -> None:
    table, valid, _ = data
    names = ["설비", "생산일시", "양품수량", "불량수량", "메모", "extra"]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "rows.jsonl"
        lines = [json.dumps(dict(zip(names, r, strict=False)), ensure_ascii=False) for r in table]
        # a "short" record lacks keys: only required ones make it invalid; a "long" one has an extra key
        expected_valid = sum(1 for r in table if _row_ok(r))
        path.write_text("\n".join([*lines, *junk]) + "\n", encoding="utf-8")
        cfg = MesFilesConfig(home=Path(tmp) / "home", batch_rows=5,
                             mappings=[{"kind": "production", "columns": {"메모": "product"}}])
        if table and max(len(r) for r in table) < 3:  # no record names the time and good keys at all:
            with pytest.raises(DataError, match="not mapped"):  # the file is refused whole, with the reason
                ingest_file(path, cfg, None)
            return
        report = ingest_file(path, cfg, None)
        assert report.accepted + report.quarantined == report.total == len(table) + len(junk)
        assert report.accepted == expected_valid
        assert expected_valid >= valid


def _row_ok(r: list[str]) -> bool:
    """Valid production record: equipment, time and good present and well-formed; scrap optional."""
    from datetime import datetime

    if len(r) < 3:
        return False
    equipment, time, good = r[:3]
    scrap = r[3] if len(r) > 3 else "0"
    try:
        datetime.strptime(time, "%Y-%m-%d %H:%M:%S")
    except ValueError:
        return False
    return bool(equipment.strip()) and good.isdigit() and scrap.isdigit()
