"""The agent graph end to end against the in-memory plant: detect, plan, guard, act once, read back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from factorypilot.agents import AgentRuntime, TagRule
from factorypilot.connectors import InMemoryConnector
from factorypilot.errors import ApprovalError
from factorypilot.vocabulary import Sample

from .conftest import make_config


def rising(values: list[float]) -> dict[str, list[Sample]]:
    return {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in values]}


async def test_fault_detected_action_executed_once_and_read_back(plant: InMemoryConnector, tmp_path: Path) -> None:
    plant.set_value("cnc1.vib", 5.2)
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        out = await rt.handle(rising([2.0, 3.1, 4.5, 5.2]))
        assert out.status == "done", out.report
        assert plant.writes == [("cnc1.feed", 85.0)]
        statuses = {r["request"]["target"]: r["status"] for r in out.report["results"]}  # type: ignore[index]
        assert statuses == {"cnc1.feed": "done", "maintenance": "done"}
        assert rt.ledger.verify().ok
        kinds = [r.kind for r in rt.ledger.records(run_id=out.run_id)]
        # write-ahead: the intent is on the ledger (planned, then issued) before the plant accepted the write
        assert kinds[:6] == ["observation", "detection", "decision", "intent", "intent", "action"]
        story = [(r.kind, r.payload.get("status")) for r in rt.ledger.records(run_id=out.run_id)
                 if r.payload.get("target") == "cnc1.feed"]
        assert story == [("intent", "planned"), ("intent", "issued"), ("action", "executed"), ("read-back", "done")]
        assert rt.store.actions_for(out.run_id)[0].state == "confirmed"
        assert "read-back" in kinds
        assert kinds[-1] == "report"


async def test_fault_gone_by_observation_means_no_action(plant: InMemoryConnector, tmp_path: Path) -> None:
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))  # the plant now reads 2.0: the excursion is over
        assert out.status == "no_event"
        assert plant.writes == []


async def test_no_event_means_no_action(plant: InMemoryConnector, tmp_path: Path) -> None:
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        out = await rt.handle(rising([2.0, 2.1, 2.0]))
        assert out.status == "no_event"
        assert plant.writes == []


async def test_interlock_blocks_every_action(plant: InMemoryConnector, tmp_path: Path) -> None:
    plant.set_value("cnc1.door", True)
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        assert plant.writes == []
        reasons = [r["reason"] for r in out.report["results"]]  # type: ignore[index]
        assert len(reasons) == 2
        assert all("interlock 'door'" in r for r in reasons)
        assert any(r.kind == "refusal" for r in rt.ledger.records(run_id=out.run_id))


async def test_out_of_range_write_refused_and_never_reaches_plant(plant: InMemoryConnector, tmp_path: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=90, max=110)])  # 85 is below 90
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        assert plant.writes == []
        feed = next(r for r in out.report["results"] if r["request"]["target"] == "cnc1.feed")  # type: ignore[index]
        assert feed["status"] == "refused"
        assert "below allowed minimum 90" in feed["reason"]
        assert (await plant.read(["cnc1.feed"]))[0].value == 100.0


async def test_approval_interrupt_then_approve_executes_once(plant: InMemoryConnector, tmp_path: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        assert out.status == "waiting_approval"
        assert plant.writes == []
        assert rt.pending() == [out.run_id]
        done = await rt.resume(out.run_id, "approve", by="김민수")
        assert done.status == "done"
        assert plant.writes == [("cnc1.feed", 85.0)]
        approval = rt.ledger.records(run_id=out.run_id, kind="approval")[0]
        assert approval.payload["by"] == "김민수"
        # a second resume of a finished run changes nothing
        again = await rt.recover()
        assert again == []
        assert plant.writes == [("cnc1.feed", 85.0)]


async def test_reject_means_no_write(plant: InMemoryConnector, tmp_path: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        done = await rt.resume(out.run_id, "reject", by="lee", comment="line changeover")
        assert plant.writes == []
        feed = next(r for r in done.report["results"] if r["request"]["target"] == "cnc1.feed")  # type: ignore[index]
        assert feed["status"] == "rejected"
        assert "line changeover" in feed["reason"]


async def test_edit_outside_policy_is_refused(plant: InMemoryConnector, tmp_path: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        # refused when the person decides, with the reason — not accepted and dropped later
        for edits, why in (({"cnc1.feed": 20.0}, "below allowed minimum 50"), ({"0": 150}, "above allowed maximum"),
                           ({"7": 90}, "names no action waiting"), ({"0": "abc"}, "not a number"),
                           ({"0": float("nan")}, "not a finite number"), ({"1": "x"}, "names no action")):
            with pytest.raises(ApprovalError, match=why):
                await rt.resume(out.run_id, "approve", by="park", edits=edits)
        row = rt.store.approval(out.run_id)
        assert row is not None
        assert row.decision is None
        assert plant.writes == []
        done = await rt.resume(out.run_id, "approve", by="park", edits={"0": 90})
        assert plant.writes == [("cnc1.feed", 90)]
        assert done.status == "done"


async def test_edit_within_policy_is_written(plant: InMemoryConnector, tmp_path: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, approval="always")])
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=tmp_path) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        await rt.resume(out.run_id, "approve", by="park", edits={"0": 90.0})
        assert plant.writes == [("cnc1.feed", 90.0)]


async def test_rate_limit_across_runs(plant: InMemoryConnector, tmp_path: Path) -> None:
    cfg = make_config(rules=[TagRule(target="feed_override", min=50, max=110, max_changes=1, window_s=3600)])
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(cfg, plant, home=tmp_path) as rt:
        await rt.handle(rising([5.0, 5.5]))
        second = await rt.handle(rising([5.0, 5.5]))
        assert plant.writes == [("cnc1.feed", 85.0)]
        feed = next(r for r in second.report["results"]  # type: ignore[index]
                    if r["request"]["target"] == "cnc1.feed")
        assert "rate limit" in feed["reason"]


def _sim_twin(feed_high: float = 120.0) -> InMemoryConnector:
    from .conftest import TAGS

    tags = [t.model_copy(update={"id": "sim." + t.id, "limits": t.limits.model_copy(update={"high": feed_high})
                                 if t.limits else None}) for t in TAGS]
    return InMemoryConnector(InMemoryConnector.Config(tags=tags, values={"sim.cnc1.feed": 100.0}))


async def test_dry_run_on_simulator_first_then_plant(plant: InMemoryConnector, tmp_path: Path) -> None:
    plant.set_value("cnc1.vib", 5.5)
    sim = _sim_twin()
    cfg = make_config(dry_run_on_simulator=True)
    async with plant, sim, AgentRuntime(cfg, plant, home=tmp_path,
                                        rehearsal=(sim, {"feed_override": "sim.cnc1.feed"})) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        assert sim.writes == [("sim.cnc1.feed", 85.0)]
        assert plant.writes == [("cnc1.feed", 85.0)]
        assert out.status == "done"
        assert rt.ledger.records(run_id=out.run_id, kind="dry-run")


async def test_failed_dry_run_keeps_the_plant_untouched(plant: InMemoryConnector, tmp_path: Path) -> None:
    plant.set_value("cnc1.vib", 5.5)
    sim = _sim_twin(feed_high=80.0)  # the simulator's device limit rejects 85
    cfg = make_config(dry_run_on_simulator=True)
    async with plant, sim, AgentRuntime(cfg, plant, home=tmp_path,
                                        rehearsal=(sim, {"feed_override": "sim.cnc1.feed"})) as rt:
        out = await rt.handle(rising([5.0, 5.5]))
        assert plant.writes == []
        feed = next(r for r in out.report["results"] if r["request"]["target"] == "cnc1.feed")  # type: ignore[index]
        assert feed["status"] == "refused"
        assert "dry run on the simulator failed" in feed["reason"]


async def test_dry_run_required_without_simulator_refuses(plant: InMemoryConnector, tmp_path: Path) -> None:
    plant.set_value("cnc1.vib", 5.5)
    async with plant, AgentRuntime(make_config(dry_run_on_simulator=True), plant, home=tmp_path) as rt:
        await rt.handle(rising([5.0, 5.5]))
        assert plant.writes == []


async def test_method_call_confirmed_only_by_its_expected_read_back(tmp_path: Path) -> None:
    from factorypilot.agents import AgentConfig, SafetyPolicy
    from factorypilot.agents.detectors import ThresholdConfig
    from factorypilot.agents.planners.playbook import load_playbooks
    from factorypilot.agents.safety import MethodRule

    from .conftest import TAGS

    def config(expect_door: bool) -> AgentConfig:
        return AgentConfig(
            name="m", roles={"spindle_vibration": "cnc1.vib", "door_open": "cnc1.door"},
            detectors=[ThresholdConfig(role="spindle_vibration", high=4.0)],
            playbooks=load_playbooks([{"id": "p", "when": {"role": "spindle_vibration"}, "diagnosis": "d",
                                       "actions": [{"call": "ResetAlarm", "expect": {"door_open": expect_door}}]}]),
            policy=SafetyPolicy(methods=[MethodRule(target="ResetAlarm", approval="never")]),
            verify={"attempts": 1, "interval_s": 0.0, "timeout_s": 0.0},  # type: ignore[arg-type]
        )

    for expect_door, status in ((False, "done"), (True, "failed")):
        plant = InMemoryConnector(InMemoryConnector.Config(
            tags=TAGS, values={"cnc1.vib": 5.0, "cnc1.door": False}, methods=["ResetAlarm"]))
        async with plant, AgentRuntime(config(expect_door), plant, home=tmp_path / status) as rt:
            out = await rt.handle(rising([5.0]))
            assert plant.calls == [("ResetAlarm", [])]
            assert out.report["results"][0]["status"] == status  # type: ignore[index]


async def test_monitor_survives_quiet_periods_then_handles_an_event(plant: InMemoryConnector, tmp_path: Path) -> None:
    """Regression: a quiet plant (no data change for longer than the poll interval) must not end the
    subscription; the service still sees the next excursion."""
    import asyncio

    async with plant, AgentRuntime(make_config(), plant, home=tmp_path) as rt:
        service = asyncio.create_task(rt.monitor(max_runs=1, approval_poll_s=0.05, cooldown_s=0))
        await asyncio.sleep(0.5)  # ten quiet poll intervals
        assert not service.done()
        plant.set_value("cnc1.vib", 5.5)
        plant.set_value("cnc1.vib", 5.6)
        outcomes = await asyncio.wait_for(service, timeout=30)
    assert [o.status for o in outcomes] == ["done"]
    assert plant.writes == [("cnc1.feed", 85.0)]


async def test_monitor_hears_a_frozen_sensor_although_the_subscription_is_silent(plant: InMemoryConnector,
                                                                                  tmp_path: Path) -> None:
    """A data-change subscription delivers nothing while a value is frozen; the service re-reads the tags its
    stuck-sensor detectors watch, so the flat-line fires in the live service too (not only in evaluation)."""
    import asyncio

    from factorypilot.agents._detect_flatline import FlatlineConfig

    config = make_config().model_copy(update={"detectors": [FlatlineConfig(role="spindle_vibration", window=5)]})
    async with plant, AgentRuntime(config, plant, home=tmp_path) as rt:
        outcomes = await asyncio.wait_for(rt.monitor(max_runs=1, period=0.02, approval_poll_s=0.02, cooldown_s=0),
                                          timeout=60)
        [run] = outcomes
        stored = rt.store.run(run.run_id)
    assert stored is not None
    observed = stored.data["report"]["observed"]
    assert [(o["tag_id"], o["detector"]) for o in observed] == [("cnc1.vib", "flatline:spindle_vibration")]
    assert plant.writes == []  # a frozen sensor is a data-quality event, never a plant action


async def test_each_finished_run_is_anchored_outside_the_home(plant: InMemoryConnector, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """FACTORYPILOT_LEDGER_ANCHOR set: the head goes to the external anchor after every finished run, signed."""
    from factorypilot.settings import get_settings

    outside = tmp_path / "nas" / "line1.anchor"
    monkeypatch.setenv("FACTORYPILOT_LEDGER_ANCHOR", str(outside))
    monkeypatch.setenv("FACTORYPILOT_LEDGER_KEY", "kept-outside-the-home")
    get_settings.cache_clear()
    plant.set_value("cnc1.vib", 5.2)
    async with plant, AgentRuntime(make_config(), plant, home=tmp_path / "home") as rt:
        out = await rt.handle(rising([2.0, 3.1, 4.5, 5.2]))
        assert out.status == "done", out.report
        last = rt.ledger.records()[-1]
        report = rt.ledger.verify(external=outside, key=b"kept-outside-the-home")
    lines = [json.loads(x) for x in outside.read_text(encoding="utf-8").splitlines()]
    assert [(x["seq"], x["hash"]) for x in lines] == [(last.seq, last.hash)]
    assert "hmac" in lines[0]
    assert report.ok, report.problems
