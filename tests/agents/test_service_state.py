"""State the service keeps across restarts: detector cool-downs, one pending request per event, checkpoint
retention — and runs a plant outage parks instead of crashing."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from pathlib import Path

import pytest

from factorypilot.agents import AgentRuntime, TagRule
from factorypilot.agents.config import VerifyConfig
from factorypilot.agents.trigger import EventTrigger
from factorypilot.connectors import InMemoryConnector
from factorypilot.connectors.memory import InMemoryConfig
from factorypilot.vocabulary import ActionStatus, DataType, Sample, Tag, utcnow

from .conftest import make_config


def _approval_config():  # type: ignore[no-untyped-def]
    return make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])


async def _until(cond, what: str) -> None:  # type: ignore[no-untyped-def]
    for _ in range(3000):
        if cond():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never saw: {what}")


async def test_a_restart_raises_no_second_request_for_a_pending_event(plant: InMemoryConnector,
                                                                      tmp_path: Path) -> None:
    async with plant, AgentRuntime(_approval_config(), plant, home=tmp_path) as rt:
        service = asyncio.create_task(rt.monitor(max_runs=1, approval_poll_s=0.05, cooldown_s=0))
        await _until(lambda: bool(plant._listeners), "the service subscribed")
        plant.set_value("cnc1.vib", 5.5)
        plant.set_value("cnc1.vib", 5.6)
        first = await asyncio.wait_for(service, timeout=30)
    assert [o.status for o in first] == ["waiting_approval"]
    async with plant, AgentRuntime(_approval_config(), plant, home=tmp_path) as rt2:
        before = rt2.store.cooldowns("test-pilot")
        assert before  # the cool-down survived the restart
        service = asyncio.create_task(rt2.monitor(approval_poll_s=0.05, cooldown_s=0))
        await _until(lambda: bool(plant._listeners), "the service subscribed")
        plant.set_value("cnc1.vib", 5.7)
        plant.set_value("cnc1.vib", 5.8)
        # the detector fires again (its cool-down is 0 here), but the event already waits for a person
        await _until(lambda: rt2.store.cooldowns("test-pilot") != before, "the detector firing again")
        rt2.stop()
        second = await asyncio.wait_for(service, timeout=30)
        assert second == []  # no new run: the old one still waits for a person
        assert len(rt2.store.runs()) == 1
        db = sqlite3.connect(tmp_path / "agent.sqlite")
        assert db.execute("SELECT count(*) FROM approvals").fetchone() == (1,)
        db.close()
    assert plant.writes == []


def test_cooldowns_seeded_from_storage_hold_back_a_detector() -> None:
    cfg = make_config()
    fresh = EventTrigger(cfg, ["cnc1.vib"], cooldown=60.0)
    seeded = EventTrigger(cfg, ["cnc1.vib"], cooldown=60.0, last={fresh.keys[0]: 1000.0})
    for trig in (fresh, seeded):
        for v in (5.5, 5.6):
            trig.add(Sample(tag_id="cnc1.vib", value=v))
    assert fresh.due(1030.0)
    assert fresh.fired == [fresh.keys[0]]
    assert not seeded.due(1030.0)  # fired 30 s ago in the previous process
    assert seeded.due(1061.0)


async def test_checkpoints_of_old_finished_runs_are_dropped(plant: InMemoryConnector, tmp_path: Path) -> None:
    window = {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]}
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path, keep_runs=2) as rt:
        plant.set_value("cnc1.vib", 5.5)
        ids = []
        for i in range(4):
            plant.set_value("cnc1.feed", 100.0)
            ids.append((await rt.handle(window, run_id=f"run-{i}")).run_id)
    db = sqlite3.connect(tmp_path / "checkpoints.sqlite")
    kept = {r[0] for r in db.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    db.close()
    assert kept == {"run-2", "run-3"}  # the newest two finished runs keep their checkpoints
    db = sqlite3.connect(tmp_path / "agent.sqlite")
    assert db.execute("SELECT count(*) FROM runs").fetchone() == (4,)  # the runs themselves stay
    db.close()


async def test_an_approval_applied_while_the_plant_is_down_waits_then_resumes(plant: InMemoryConnector,
                                                                             tmp_path: Path) -> None:
    window = {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]}
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(_approval_config(), plant, home=tmp_path) as rt:
        out = await rt.handle(window)
        assert out.status == "waiting_approval"
        with plant.outage("link cut"):
            parked = await rt.resume(out.run_id, "approve", by="alice")
            assert parked.status == "waiting_for_plant"
            run = rt.store.run(out.run_id)
            assert run is not None
            assert run.status == "waiting_for_plant"
            again = await rt.continue_run(out.run_id)  # still down: still parked, no crash
            assert again.status == "waiting_for_plant"
            assert plant.writes == []
        done = await rt.continue_run(out.run_id)
        assert done.status == "done"
        assert plant.writes == [("cnc1.feed", 85.0)]
        assert [r.kind for r in rt.ledger.records(run_id=out.run_id, kind="waiting-for-plant")] == [
            "waiting-for-plant"]
        assert rt.ledger.verify().ok


async def test_reissue_is_a_new_run_that_waits_for_approval(plant: InMemoryConnector, tmp_path: Path) -> None:
    window = {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]}
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        first = await rt.handle(window)
        assert first.status == "done"
        write = rt.store.actions_for(first.run_id)[0]
        # as after a crash whose read-back found the operator's value: the action is left for a person
        rt.store.mark_action(write.key, "unconfirmed", "issued before a restart and not confirmed")
        plant.set_value("cnc1.feed", 100.0)
        again = await rt.reissue(first.run_id, by="kim")
        assert again.status == "waiting_approval"  # no automatic write, whatever the policy says
        assert plant.writes == [("cnc1.feed", 85.0)]
        done = await rt.resume(again.run_id, "approve", by="kim")
        assert done.status == "done", done.report
        assert plant.writes == [("cnc1.feed", 85.0), ("cnc1.feed", 85.0)]
        keys = [a.key for a in rt.store.actions_for(again.run_id)]
        assert keys
        assert write.key not in keys  # a new idempotency key: a new decision, not a replay
        assert [r.payload["of"] for r in rt.ledger.records(kind="reissue")] == [first.run_id]
        assert rt.ledger.verify().ok


async def test_a_second_runtime_for_the_same_pilot_is_refused_and_releases_nothing(plant: InMemoryConnector,
                                                                                   tmp_path: Path) -> None:
    from factorypilot.errors import LeaseHeldError

    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        with pytest.raises(LeaseHeldError, match="already running here: PID"):
            async with AgentRuntime(make_config(), plant, home=tmp_path):
                pass
        assert rt.lease is not None
        assert rt.lease.renew()  # the first owner still holds its lease
        out = await rt.handle({"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (5.0, 5.5)]})
        assert out.status in ("done", "no_event")


# -- read-back: a deadline on the monotonic clock, not a count of attempts --------------------------------
class _SettlesLate(InMemoryConnector):
    """A plant whose value reaches the target only after ``settle_s`` of loop time; each read blocks the loop
    for ``block_s`` first (a starved process: few reads fit in the window)."""

    def __init__(self, settle_s: float, block_s: float = 0.0) -> None:
        super().__init__(InMemoryConfig(tags=[Tag(id="feed", name="feed", data_type=DataType.FLOAT)],
                                        values={"feed": 100.0}))
        self.settle_s, self.block_s, self.reads = settle_s, block_s, 0
        self._t0: float | None = None

    async def _read(self, tag_ids: list[str]) -> list[Sample]:
        loop = asyncio.get_running_loop()
        self._t0 = loop.time() if self._t0 is None else self._t0
        self.reads += 1
        if self.block_s:
            time.sleep(self.block_s)  # noqa: ASYNC251 — blocks the loop on purpose: the starvation simulated
        value = 85.0 if loop.time() - self._t0 >= self.settle_s else 100.0
        return [Sample(tag_id="feed", value=value, source_time=utcnow())]


async def test_read_back_waits_for_the_deadline_not_a_count_of_attempts() -> None:
    from factorypilot.agents._nodes_act import _read_back

    cfg = VerifyConfig(attempts=2, interval_s=0.01, timeout_s=30.0)
    late = _SettlesLate(settle_s=0.3)
    async with late:
        status, why, sample = await _read_back(late, {"feed": 85.0}, cfg)
    assert status is ActionStatus.DONE, why
    assert sample is not None
    assert sample.value == 85.0
    assert late.reads > cfg.attempts  # more reads than the attempt count: the deadline decided

    # starved: every read takes 0.2 s of blocked loop; two reads (the minimum) would end before the value settles
    starved = _SettlesLate(settle_s=0.5, block_s=0.2)
    async with starved:
        status, why, _ = await _read_back(starved, {"feed": 85.0}, VerifyConfig(attempts=2, interval_s=0.0,
                                                                                timeout_s=30.0))
    assert status is ActionStatus.DONE, why

    # never at target: unconfirmed only after both the minimum reads and the deadline
    never = _SettlesLate(settle_s=1e9)
    async with never:
        status, why, _ = await _read_back(never, {"feed": 85.0}, VerifyConfig(attempts=3, interval_s=0.0,
                                                                              timeout_s=0.0))
    assert status is ActionStatus.FAILED
    assert never.reads == 3
    assert "expected {'feed': 85.0}, read feed=100.0" in why
