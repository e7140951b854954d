"""The hash-chained ledger detects edits, deletions, reordering and truncation — and says which record."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from factorypilot.agents import Ledger
from factorypilot.errors import LedgerIntegrityError


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    led = Ledger(tmp_path / "ledger.sqlite")
    for i in range(5):
        led.append("observation", {"i": i, "값": "주축 진동"}, run_id="r1", key=f"r1:{i}")
    return led


def _sql(led: Ledger, sql: str, *args: object) -> None:
    db = sqlite3.connect(led.path)
    db.execute(sql, args)
    db.commit()
    db.close()


def test_intact_ledger_verifies(ledger: Ledger) -> None:
    report = ledger.verify()
    assert report.ok
    assert report.records == 5
    report.raise_for_problems()


def test_keyed_append_is_idempotent(ledger: Ledger) -> None:
    again = ledger.append("observation", {"i": 0}, run_id="r1", key="r1:0")
    assert again.seq == 1
    assert len(ledger) == 5


def test_edited_payload_is_detected(ledger: Ledger) -> None:
    _sql(ledger, "UPDATE ledger SET payload = ? WHERE seq = 3", '{"i":99}')
    report = ledger.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "record 3 (observation) was edited" in report.problems[0]
    with pytest.raises(LedgerIntegrityError, match="record 3"):
        report.raise_for_problems()


def test_edit_with_recomputed_hash_still_breaks_the_chain(ledger: Ledger) -> None:
    from factorypilot.agents.ledger import _digest

    row = sqlite3.connect(ledger.path).execute("SELECT seq,time,kind,run_id,key,prev_hash FROM ledger "
                                               "WHERE seq=2").fetchone()
    forged = _digest(row[0], row[1], row[2], row[3], row[4], '{"i":42}', row[5])
    _sql(ledger, "UPDATE ledger SET payload=?, hash=? WHERE seq=2", '{"i":42}', forged)
    report = ledger.verify()
    assert not report.ok
    assert report.first_bad_seq == 3  # record 3 no longer follows record 2


def test_deleted_record_is_detected(ledger: Ledger) -> None:
    _sql(ledger, "DELETE FROM ledger WHERE seq = 2")
    report = ledger.verify()
    assert not report.ok
    assert report.first_bad_seq == 3
    assert "deleted" in report.problems[0]


def test_reordered_records_are_detected(ledger: Ledger) -> None:
    db = sqlite3.connect(ledger.path)
    rows = db.execute("SELECT * FROM ledger WHERE seq IN (2,3) ORDER BY seq").fetchall()
    db.execute("DELETE FROM ledger WHERE seq IN (2,3)")
    db.executemany("INSERT INTO ledger VALUES (?,?,?,?,?,?,?,?)",
                   [(2, *rows[1][1:]), (3, *rows[0][1:])])  # the two records swap places
    db.commit()
    db.close()
    report = ledger.verify()
    assert not report.ok


def test_truncated_tail_is_detected_by_head_file(ledger: Ledger) -> None:
    _sql(ledger, "DELETE FROM ledger WHERE seq = 5")
    report = ledger.verify()
    assert not report.ok
    assert "newest record" in report.problems[0]
