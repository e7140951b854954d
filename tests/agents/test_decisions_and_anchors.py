"""Atomic decisions (compare-and-set, raced with barriers), the ledger's two heads, the pilot lease and the
SQLite-open helper's one-line errors — against real SQLite files."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from factorypilot._sqlite import open_sqlite
from factorypilot.agents import Ledger, RunStore
from factorypilot.agents._lease import PilotLease, _start_time, read_leases
from factorypilot.errors import ApprovalError, LeaseHeldError, StorageError

if TYPE_CHECKING:
    from conftest import Unprivileged

REQUEST = {"run_id": "r1", "actions": [{"kind": "write", "target": "cnc1.feed", "value": 85.0}],
           "edit_rules": {"0": {"target": "cnc1.feed", "kind": "write", "value": 85.0, "current": 100.0,
                                "rule": {"target": "feed_override", "min": 60, "max": 110, "max_step": 20}}}}


def _race(path: Path, moves: list[tuple[str, str]]) -> list[object]:
    """Two stores (two connections, like two processes) decide the same run at the same instant."""
    stores = [RunStore(path) for _ in moves]
    barrier = threading.Barrier(len(moves))
    results: list[object] = [None] * len(moves)

    def decide(i: int) -> None:
        decision, by = moves[i]
        barrier.wait()
        try:
            results[i] = stores[i].decide("r1", decision, by)
        except ApprovalError as exc:
            results[i] = exc

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(len(moves))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    return results


@pytest.mark.parametrize("moves", [[("approve", "alice"), ("reject", "bob")],
                                   [("approve", "alice"), ("approve", "bob")],
                                   [("reject", "alice"), ("reject", "bob")]], ids=["approve-reject",
                                                                                    "approve-approve",
                                                                                    "reject-reject"])
def test_racing_decisions_have_exactly_one_winner_and_the_loser_is_told(tmp_path: Path,
                                                                         moves: list[tuple[str, str]]) -> None:
    for trial in range(20):
        path = tmp_path / f"agent{trial}.sqlite"
        with_request = RunStore(path)
        with_request.request_approval("r1", REQUEST)
        with_request.close()
        results = _race(path, moves)
        winners = [r for r in results if not isinstance(r, ApprovalError)]
        losers = [r for r in results if isinstance(r, ApprovalError)]
        assert len(winners) == 1, (trial, results)
        assert len(losers) == 1, (trial, results)
        store = RunStore(path)
        row = store.approval("r1")
        store.close()
        assert row is not None
        winner = moves[results.index(winners[0])]
        assert (row.decision, row.decided_by) == winner  # the stored decision is the winner's, not a mix
        past = {"approve": "approved", "reject": "rejected"}[winner[0]]
        assert f"already {past} by {winner[1]} at" in str(losers[0])


def test_rejectd_is_spelt_rejected(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "agent.sqlite")
    store.request_approval("r1", REQUEST)
    store.decide("r1", "reject", "lee")
    with pytest.raises(ApprovalError, match="already rejected by lee") as err:
        store.decide("r1", "approve", "kim")
    assert "rejectd" not in str(err.value)


@pytest.mark.parametrize(("edit", "why"), [({"0": 150}, "above allowed maximum 110"),
                                            ({"0": 55}, "below allowed minimum 60"),
                                            ({"0": 70}, "exceeds max step 20"),
                                            ({"7": 90}, "names no action waiting"),
                                            ({"0": "abc"}, "not a number"),
                                            ({"0": float("nan")}, "not a finite number"),
                                            ({"0": True}, "not a number")])
def test_edits_are_checked_against_the_policy_when_decided(tmp_path: Path, edit: dict[str, object],
                                                           why: str) -> None:
    store = RunStore(tmp_path / "agent.sqlite")
    store.request_approval("r1", REQUEST)
    with pytest.raises(ApprovalError, match=why):
        store.decide("r1", "approve", "kim", edits=edit)
    row = store.approval("r1")
    assert row is not None
    assert row.decision is None  # a refused edit records nothing
    ok = store.decide("r1", "approve", "kim", edits={"cnc1.feed": 90})
    assert ok.edits == {"0": 90}


# -- the ledger's heads ---------------------------------------------------------------------------------
@pytest.fixture
def home(tmp_path: Path) -> Path:
    with Ledger(tmp_path / "ledger.sqlite") as led:
        for i in range(5):
            led.append("observation", {"i": i}, run_id="r1", key=f"r1:{i}")
    return tmp_path


def _verify(home: Path) -> list[str]:
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        return led.verify().problems


def _truncate(home: Path, keep: int) -> None:
    db = sqlite3.connect(home / "ledger.sqlite")
    db.execute("DELETE FROM ledger WHERE seq > ?", (keep,))
    db.commit()
    db.close()


def test_both_heads_are_written_and_agree(home: Path) -> None:
    assert _verify(home) == []
    db = sqlite3.connect(home / "agent.sqlite")
    seq, digest = db.execute("SELECT seq, hash FROM ledger_head").fetchone()
    db.close()
    assert (home / "ledger.head").read_text().split() == [str(seq), digest]
    assert seq == 5


@pytest.mark.parametrize("tamper", ["deleted", "emptied", "rewritten"])
def test_truncated_tail_is_caught_whatever_happened_to_the_head_file(home: Path, tamper: str) -> None:
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        rec3 = led.records()[2]
    _truncate(home, 3)
    head = home / "ledger.head"
    if tamper == "deleted":
        head.unlink()
    elif tamper == "emptied":
        head.write_text("")
    else:  # rewritten to agree with the truncated ledger
        head.write_text(f"3 {rec3.hash}\n")
    problems = _verify(home)
    assert problems
    joined = " | ".join(problems)
    assert "truncat" in joined
    if tamper != "rewritten":
        assert "tail truncation can't be ruled out" in joined
    else:
        assert "agent.sqlite says 5" in joined


def test_head_file_missing_alone_fails_verification(home: Path) -> None:
    (home / "ledger.head").unlink()
    problems = _verify(home)
    assert any("head file ledger.head is missing" in p and "can't be ruled out" in p for p in problems)


def test_head_in_agent_sqlite_missing_fails_verification(home: Path) -> None:
    db = sqlite3.connect(home / "agent.sqlite")
    db.execute("DELETE FROM ledger_head")
    db.commit()
    db.close()
    problems = _verify(home)
    assert any("agent.sqlite" in p and "can't be ruled out" in p for p in problems)


def test_readonly_open_never_creates_a_table(tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE t (x)")
    db.commit()
    db.close()
    with pytest.raises(StorageError, match="not a factorypilot ledger"):
        Ledger(other, readonly=True)
    db = sqlite3.connect(other)
    assert [r[0] for r in db.execute("SELECT name FROM sqlite_master")] == ["t"]
    db.close()


def test_readonly_ledger_on_a_readonly_directory_verifies(home: Path, unprivileged: Unprivileged) -> None:
    """Read-only files in a read-only directory (no WAL/shm can be made): verified without writing anything.
    In a child process, so that as root the permissions apply too (see ``unprivileged``)."""
    for p in home.iterdir():
        p.chmod(0o444)
    home.chmod(0o555)
    code = ("import json, sys; from pathlib import Path; from factorypilot.agents import Ledger\n"
            "with Ledger(Path(sys.argv[1]) / 'ledger.sqlite', readonly=True) as led:\n"
            "    r = led.verify(); print(json.dumps([r.ok, r.records, r.problems]))\n"
            "try:\n    open(Path(sys.argv[1]) / 'ledger.sqlite', 'r+b')\nexcept PermissionError:\n"
            "    print('cannot write')\n")
    try:
        out = unprivileged.run([sys.executable, "-c", code, str(home)], os.environ)
        assert out.returncode == 0, out.stderr
        assert out.stdout.splitlines() == ["[true, 5, []]", "cannot write"]
        assert sorted(p.name for p in home.iterdir()) == ["agent.sqlite", "ledger.head", "ledger.head.lock",
                                                          "ledger.sqlite"]
    finally:
        home.chmod(0o755)


# -- the external anchor -----------------------------------------------------------------------------------
def _rewrite_both_heads(home: Path) -> None:
    """What someone who can write the home does after cutting the tail: both heads follow the new end."""
    db = sqlite3.connect(home / "ledger.sqlite")
    seq, digest = db.execute("SELECT seq, hash FROM ledger ORDER BY seq DESC LIMIT 1").fetchone()
    db.close()
    (home / "ledger.head").write_text(f"{seq} {digest}\n")
    agent = sqlite3.connect(home / "agent.sqlite")
    agent.execute("UPDATE ledger_head SET seq = ?, hash = ?", (seq, digest))
    agent.commit()
    agent.close()


def test_external_anchor_catches_what_both_heads_in_the_home_cannot(home: Path, tmp_path_factory:
                                                                    pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("nas") / "line1.anchor"
    key = b"kept-outside-the-home"
    with Ledger(home / "ledger.sqlite") as led:
        line = led.anchor_to(outside, key)
    assert line is not None
    assert (line["seq"], len(line["hmac"])) == (5, 64)
    _truncate(home, 3)
    _rewrite_both_heads(home)
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        assert led.verify().ok  # the two heads in the home were rewritten with the tail: nothing to see there
        report = led.verify(external=outside, key=key)
    assert not report.ok
    assert report.problems == ["the external anchor saw record 5 at " + line["time"] + ", the ledger ends at 3: "
                               "records 4..5 were removed (tail truncated)"]
    # new records appended after the cut: same sequence numbers, other hashes
    with Ledger(home / "ledger.sqlite") as led:
        for i in range(3):
            led.append("observation", {"i": f"new {i}"}, run_id="r2", key=f"r2:{i}")
        report = led.verify(external=outside, key=key)
    assert [p.split(" differs ")[0] for p in report.problems] == ["record 5"]


def test_external_anchor_lines_are_signed(home: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    outside = tmp_path_factory.mktemp("nas") / "line1.anchor"
    key = b"kept-outside-the-home"
    with Ledger(home / "ledger.sqlite") as led:
        led.anchor_to(outside, key)
        assert led.verify(external=outside, key=key).ok
        unsigned = led.verify(external=outside)  # no key: the signature is not checked, and it says so
        assert unsigned.ok
        assert unsigned.notes == ["1 signed anchor line(s) not checked: set FACTORYPILOT_LEDGER_KEY to check them"]
        assert not led.verify(external=outside, key=b"another key").ok
    forged = json.loads(outside.read_text().splitlines()[0])
    forged["seq"] = 4  # moved back by hand, signature kept
    with outside.open("a") as fh:
        fh.write(json.dumps(forged) + "\n")
        fh.write(json.dumps({k: forged[k] for k in ("ledger", "seq", "hash", "time")}) + "\n")
    with Ledger(home / "ledger.sqlite", readonly=True) as led:
        problems = led.verify(external=outside, key=key).problems
    assert problems == ["external anchor line 2 has a wrong signature (forged, edited, or another key)",
                        "external anchor line 3 is not signed although a key is set (added by hand?)"]


def test_ledger_anchor_cli_and_the_service_setting(home: Path, tmp_path_factory: pytest.TempPathFactory,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from factorypilot.cli._app import app
    from factorypilot.cli._commands import register
    from factorypilot.settings import get_settings

    register(app)
    outside = tmp_path_factory.mktemp("nas") / "line1.anchor"
    monkeypatch.setenv("FACTORYPILOT_HOME", str(home))
    monkeypatch.setenv("FACTORYPILOT_LEDGER_KEY", "kept-outside-the-home")
    get_settings.cache_clear()
    runner = CliRunner()
    done = runner.invoke(app, ["ledger", "anchor", "--to", str(outside)])
    assert done.exit_code == 0, done.output
    assert "anchored record 5" in done.output
    assert "signed" in done.output
    ok = runner.invoke(app, ["ledger", "verify", "--anchor", str(outside)])
    assert ok.exit_code == 0, ok.output
    assert "external anchor line1.anchor" in ok.output
    _truncate(home, 4)
    _rewrite_both_heads(home)
    monkeypatch.setenv("FACTORYPILOT_LEDGER_ANCHOR", str(outside))  # the setting: verify uses it by default
    get_settings.cache_clear()
    caught = runner.invoke(app, ["ledger", "verify"])
    assert caught.exit_code == 1
    assert "records 5..5 were removed (tail truncated)" in caught.output


def test_concurrent_appends_with_one_key_never_crash(tmp_path: Path) -> None:
    """Two writers (two connections) appending the same keys at the same instant: one record per key."""
    ledgers = [Ledger(tmp_path / "ledger.sqlite") for _ in range(2)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def write(led: Ledger) -> None:
        barrier.wait()
        try:
            for i in range(30):
                led.append("action", {"i": i}, run_id="r", key=f"r:{i}")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(led,)) for led in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(ledgers[0]) == 30
    assert ledgers[0].verify().ok
    for led in ledgers:
        led.close()


# -- the lease ------------------------------------------------------------------------------------------
def test_second_owner_is_refused_naming_the_first(tmp_path: Path) -> None:
    first = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    first.acquire()
    second = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    with pytest.raises(LeaseHeldError, match=rf"PID {os.getpid()} on "):
        second.acquire()
    other_pilot = PilotLease(tmp_path / "agent.sqlite", "robotics-cell")
    other_pilot.acquire()  # another pilot shares the home
    first.release()
    second.acquire()  # released: the next owner takes it
    assert not first.held
    assert second.renew()
    second.release()
    other_pilot.release()


def test_lease_of_a_dead_process_is_taken_over(tmp_path: Path) -> None:
    dead = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    dead.acquire()
    dead._db.execute("UPDATE leases SET pid = ?", (2**22 + 12345,))  # a PID that does not run here
    heir = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    heir.acquire()
    assert not dead.renew()  # the old owner learns it lost the lease
    heir.release()


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="process start times come from /proc (Linux)")
def test_lease_of_a_reused_pid_is_taken_over_at_once(tmp_path: Path) -> None:
    """The holder died and the system gave its PID to another process within the heartbeat TTL: the start
    time differs, so the lease is taken over at once (the PID alone would keep it for ``ttl_s``)."""
    other = subprocess.Popen([sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE)
    try:
        dead = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc", ttl_s=3600)
        dead.acquire()
        real_start = _start_time(other.pid)
        assert real_start is not None
        # the dead holder had this PID, but started at another time
        dead._db.execute("UPDATE leases SET pid = ?, started = ?", (other.pid, str(int(real_start) - 1)))
        heir = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc", ttl_s=3600)
        heir.acquire()
        assert not dead.renew()
        # the live process itself (same PID, same start time) keeps its lease
        heir._db.execute("UPDATE leases SET pid = ?, started = ?", (other.pid, real_start))
        third = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc", ttl_s=3600)
        with pytest.raises(LeaseHeldError, match=rf"PID {other.pid} on "):
            third.acquire()
        third.release()
        heir.release()
    finally:
        other.communicate(b"", timeout=30)


def test_lease_table_of_an_older_home_gains_the_start_time(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "agent.sqlite")
    db.execute("CREATE TABLE leases (pilot TEXT PRIMARY KEY, owner TEXT NOT NULL, pid INTEGER NOT NULL, "
               "host TEXT NOT NULL, acquired TEXT NOT NULL, heartbeat TEXT NOT NULL)")
    db.commit()
    db.close()
    lease = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    lease.acquire()
    assert lease._db.execute("SELECT pid, started FROM leases").fetchone() == (os.getpid(), _start_time(os.getpid()))
    lease.release()


def test_the_service_records_its_endpoint_on_the_lease_and_an_older_home_gains_the_columns(tmp_path: Path) -> None:
    db = sqlite3.connect(tmp_path / "agent.sqlite")  # a home from before the endpoint was recorded
    db.execute("CREATE TABLE leases (pilot TEXT PRIMARY KEY, owner TEXT NOT NULL, pid INTEGER NOT NULL, "
               "host TEXT NOT NULL, acquired TEXT NOT NULL, heartbeat TEXT NOT NULL, started TEXT)")
    db.execute("INSERT INTO leases VALUES ('robotics-cell', 'o', 1, 'h', '2026-01-01T00:00:00+00:00', "
               "'2026-01-01T00:00:00+00:00', NULL)")
    db.commit()
    db.close()
    old = read_leases(tmp_path / "agent.sqlite")  # a reader of the older layout: no endpoint, no change
    assert old["robotics-cell"].endpoint is None
    assert old["robotics-cell"].bindings == {}
    lease = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    lease.acquire()
    assert read_leases(tmp_path / "agent.sqlite")["mobility-cnc"].endpoint is None  # not advertised yet
    lease.advertise("opc.tcp://127.0.0.1:48400", {"spindle_vibration": "ns=2;s=주축.진동"})
    info = read_leases(tmp_path / "agent.sqlite")["mobility-cnc"]
    assert (info.endpoint, info.bindings, info.pid) == ("opc.tcp://127.0.0.1:48400",
                                                        {"spindle_vibration": "ns=2;s=주축.진동"}, os.getpid())
    assert info.age_s() < 60
    # another process cannot advertise on a lease it does not hold
    thief = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    thief.advertise("opc.tcp://10.0.0.9:4840", {})
    assert read_leases(tmp_path / "agent.sqlite")["mobility-cnc"].endpoint == "opc.tcp://127.0.0.1:48400"
    thief.release()
    # a malformed bindings value is left out, never guessed
    lease._db.execute("UPDATE leases SET bindings = '[1, 2]' WHERE pilot = 'mobility-cnc'")
    assert read_leases(tmp_path / "agent.sqlite")["mobility-cnc"].bindings == {}
    lease.release()  # the endpoint goes with the lease
    assert "mobility-cnc" not in read_leases(tmp_path / "agent.sqlite")
    # the next holder starts with no endpoint, even when the row was left behind by a dead owner
    dead = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    dead.acquire()
    dead.advertise("opc.tcp://127.0.0.1:1", {"a": "b"})
    dead._db.execute("UPDATE leases SET pid = ?", (2**22 + 12345,))
    heir = PilotLease(tmp_path / "agent.sqlite", "mobility-cnc")
    heir.acquire()
    assert read_leases(tmp_path / "agent.sqlite")["mobility-cnc"].endpoint is None
    heir.release()
    dead._db.close()
    assert read_leases(tmp_path / "no-such.sqlite") == {}


# -- one-line storage errors ----------------------------------------------------------------------------
def test_corrupted_and_missing_files_are_one_typed_line(tmp_path: Path) -> None:
    bad = tmp_path / "agent.sqlite"
    bad.write_bytes(b"this is not a database, it is a text file" * 100)
    with pytest.raises(StorageError, match=r"agent\.sqlite: the file is corrupted or not a SQLite database"):
        RunStore(bad)
    with pytest.raises(StorageError, match=r"no database file missing\.sqlite"):
        open_sqlite(tmp_path / "missing.sqlite", readonly=True)
