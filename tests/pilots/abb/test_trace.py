"""Lot traceability: lots from process data, MES linkage, root-cause station, ledger anchoring and tampering."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from factorypilot.agents import Ledger
from factorypilot.errors import DataError, NodeNotFoundError
from factorypilot.pilots.abb.trace import TraceRun, anchor_lots, lot_history, read_mes_lots, record_line, root_cause


@pytest.fixture
def run(tmp_path: Path) -> TraceRun:
    return record_line(tmp_path, lots=6, seed=3)


def test_lots_are_collected_linked_to_mes_and_anchored(run: TraceRun) -> None:
    assert [lot.lot for lot in run.lots] == [f"LOT-260105-{i:03d}" for i in range(1, 7)]
    assert all(lot.mes["found"] and lot.mes["counts_match"] for lot in run.lots)
    assert {lot.work_order for lot in run.lots} == {"WO-260105-001", "WO-260105-002"}
    assert sum(lot.good + lot.scrap for lot in run.lots) > 0
    assert any(lot.failed for lot in run.lots)
    assert any(not lot.failed for lot in run.lots)
    # 4 stations + 1 summary per lot
    assert len(run.records) == 6 * 5
    assert {r.kind for r in run.records} == {"trace"}


def test_mes_lot_table_is_cp949_with_korean_headers(run: TraceRun) -> None:
    raw = run.mes_path.read_bytes()
    assert raw.decode("cp949").startswith("로트번호,작업지시번호,품번")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    assert read_mes_lots(run.mes_path)["LOT-260105-003"].work_order == "WO-260105-001"


def test_bad_mes_row_names_file_row_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "lots.csv"
    bad.write_text("로트번호,작업지시번호,품번,양품수량,불량수량,시작시각,종료시각\nLOT-1,WO-1,P,열두개,0,a,b\n",
                   encoding="utf-8")
    with pytest.raises(DataError) as err:
        read_mes_lots(bad)
    assert (err.value.row, err.value.column) == (2, "양품수량")


def test_root_cause_is_the_weld_station(run: TraceRun) -> None:
    assert run.findings[0].station == "st30-weld"
    assert run.findings[0].failed_mean < run.findings[0].good_mean
    assert all(f.station != "st40-leak" for f in run.findings)  # the quality gate is the symptom


def test_no_escape_no_root_cause(tmp_path: Path) -> None:
    clean = record_line(tmp_path, lots=4, seed=3, escape=False)
    assert not any(lot.failed for lot in clean.lots)
    assert root_cause(clean.lots) == []


def test_lot_history_verifies_and_anchoring_is_idempotent(run: TraceRun) -> None:
    with Ledger(run.ledger_path) as ledger:
        before = len(ledger)
        anchor_lots(ledger, run.lots)
        assert len(ledger) == before
        hist = lot_history(ledger, "LOT-260105-003")
    assert hist.ok, hist.problems
    assert [r.payload["station"] for r in hist.records] == ["st10-press", "st20-screw", "st30-weld", "st40-leak",
                                                           "summary"]
    assert hist.summary["quality"]["result"] == "fail"
    assert set(hist.summary["station_hashes"].values()) == {r.hash for r in hist.stations}


def _sql(path: Path, statement: str) -> None:
    db = sqlite3.connect(path)
    db.execute(statement)
    db.commit()
    db.close()


def test_editing_a_lot_record_is_detected(run: TraceRun) -> None:
    with Ledger(run.ledger_path) as ledger:
        target = lot_history(ledger, "LOT-260105-004").summary
        seq = next(r.seq for r in ledger.records(kind="trace") if r.payload == target)
    # a forger turns the failed lot into a passed one
    _sql(run.ledger_path, f"UPDATE ledger SET payload = replace(payload, '\"fail\"', '\"pass\"') WHERE seq = {seq}")
    with Ledger(run.ledger_path) as ledger:
        hist = lot_history(ledger, "LOT-260105-004")
        earlier = lot_history(ledger, "LOT-260105-001")
    assert not hist.ok
    assert any("edited" in p for p in hist.problems)
    assert earlier.ok  # records before the edit still verify


def test_deleting_a_station_record_is_detected(run: TraceRun) -> None:
    with Ledger(run.ledger_path) as ledger:
        seq = next(r.seq for r in lot_history(ledger, "LOT-260105-006").stations if r.payload["station"] == "st30-weld")
    _sql(run.ledger_path, f"DELETE FROM ledger WHERE seq = {seq}")
    with Ledger(run.ledger_path) as ledger:
        hist = lot_history(ledger, "LOT-260105-006")
    assert not hist.ok
    assert any("st30-weld is missing" in p for p in hist.problems)


def test_unknown_lot_is_a_clear_error(run: TraceRun) -> None:
    with Ledger(run.ledger_path) as ledger, pytest.raises(NodeNotFoundError, match="LOT-999"):
        lot_history(ledger, "LOT-999")


def test_history_names_the_agent_runs_that_observed_the_lot(run: TraceRun) -> None:
    with Ledger(run.ledger_path) as ledger:
        ledger.append("observation", {"pilot": "abb-traceability", "values": {"lot_id": "LOT-260105-004",
                                                                              "leak_rate": 2.3}}, run_id="run-a")
        ledger.append("observation", {"pilot": "abb-traceability", "values": {"lot_id": "LOT-260105-005"}},
                      run_id="run-b")
        hist = lot_history(ledger, "LOT-260105-004")
    assert hist.runs == ["run-a"]
    assert hist.ok


def test_collect_lots_keeps_the_running_lot_on_request() -> None:
    from factorypilot.pilots.abb.trace import collect_lots

    frames = [{"lot_id": "A", "press_force": 12.0, "good_count": 1, "scrap_count": 0},
              {"lot_id": "A", "press_force": 13.0, "good_count": 2, "scrap_count": 0},
              {"lot_id": "B", "press_force": 11.0, "good_count": 2, "scrap_count": 1}]
    initial = {"good_count": 0, "scrap_count": 0}
    assert [(x.lot, x.good, x.scrap) for x in collect_lots(frames, initial)] == [("A", 2, 0)]
    both = collect_lots(frames, initial, complete_only=False)
    assert [(x.lot, x.good, x.scrap, x.result) for x in both] == [("A", 2, 0, "pass"), ("B", 0, 1, "fail")]
    assert both[0].stations["st10-press"]["press_force"] == {"mean": 12.5, "min": 12.0, "max": 13.0}
