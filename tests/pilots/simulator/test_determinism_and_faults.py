"""Same seed → same values; every fault kind changes its signal deterministically."""

from __future__ import annotations

import pytest
from asyncua import Client

from factorypilot.errors import ConfigError
from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.vocabulary import Scalar


async def _trace(seed: int, ticks: int = 30, faults: tuple[Fault, ...] = ()) -> list[dict[str, Scalar]]:
    sim = PlantSimulator(seed=seed, realtime=False)  # the engine steps without a server too
    for f in faults:
        sim.inject(f)
    out = []
    for _ in range(ticks):
        await sim.step()
        out.append({r: sim.value(r) for r in sim.roles()})
    return out


async def test_same_seed_gives_identical_values_and_other_seed_differs() -> None:
    a, b, c = await _trace(5), await _trace(5), await _trace(6)
    assert a == b
    assert a != c


async def test_served_values_equal_a_serverless_run_with_the_same_seed() -> None:
    expected = (await _trace(9, 12))[-1]
    async with PlantSimulator(seed=9, realtime=False) as sim:
        await sim.step(12)
        async with Client(sim.endpoint) as client:
            nodes = [client.get_node(n) for n in sim.roles().values()]
            served = await client.read_values(nodes)
    assert dict(zip(sim.roles(), served, strict=True)) == expected


async def test_drift_on_vibration_ramps_up() -> None:
    base = await _trace(1, 40)
    drift = await _trace(1, 40, (Fault(FaultKind.DRIFT, "spindle_vibration", start_tick=10, magnitude=0.1),))
    assert base[:10] == drift[:10]
    gap = [d["spindle_vibration"] - b["spindle_vibration"] for b, d in zip(base, drift, strict=True)]  # type: ignore[operator]
    assert gap[39] > gap[25] > gap[15] > 0.5


async def test_spike_stuck_noise_and_alarm() -> None:
    base = await _trace(4, 20)
    spike = await _trace(4, 20, (Fault(FaultKind.SPIKE, "press_tonnage", start_tick=5, magnitude=500.0),))
    assert spike[5]["press_tonnage"] == pytest.approx(base[5]["press_tonnage"] + 500.0)  # type: ignore[operator]
    assert spike[6] == base[6]
    stuck = await _trace(4, 20, (Fault(FaultKind.STUCK, "spindle_temperature", start_tick=3),))
    assert {s["spindle_temperature"] for s in stuck[3:]} == {base[2]["spindle_temperature"]}
    noise = await _trace(4, 20, (Fault(FaultKind.NOISE, "spindle_load", magnitude=5.0),))
    assert noise == await _trace(4, 20, (Fault(FaultKind.NOISE, "spindle_load", magnitude=5.0),))
    assert [n["spindle_load"] for n in noise] != [b["spindle_load"] for b in base]
    alarm = await _trace(4, 20, (Fault(FaultKind.ALARM, start_tick=8, duration_ticks=5, magnitude=3301),))
    assert alarm[8]["alarm_active"] is True
    assert alarm[8]["alarm_code"] == 3301
    assert alarm[8]["machine_state"] == "ALARM"
    assert alarm[13]["alarm_active"] is False
    assert alarm[13]["part_counter"] == alarm[7]["part_counter"] or alarm[13]["part_counter"] > 0


async def test_integer_counters_stay_integers_under_drift() -> None:
    trace = await _trace(4, 10, (Fault(FaultKind.DRIFT, "part_counter", magnitude=0.6),))
    assert all(isinstance(t["part_counter"], int) for t in trace)


async def test_clear_faults_and_reset_alarm() -> None:
    sim = PlantSimulator(seed=1, realtime=False)
    sim.inject(Fault(FaultKind.ALARM, magnitude=77))
    await sim.step(2)
    assert sim.value("alarm_code") == 77
    out, _ = sim.engine.call(0, sim.engine.cls.methods[0], ())  # ResetAlarm
    assert out is True
    await sim.step(1)
    assert sim.value("alarm_active") is False
    assert sim.faults == []
    sim.inject(Fault(FaultKind.STUCK, "spindle_speed"))
    sim.clear_faults()
    assert sim.faults == []


def test_bad_faults_are_refused_with_a_hint() -> None:
    sim = PlantSimulator(seed=1, realtime=False)
    with pytest.raises(ConfigError, match="unknown role"):
        sim.inject(Fault(FaultKind.DRIFT, "no_such_role"))
    with pytest.raises(ConfigError, match="numeric"):
        sim.inject(Fault(FaultKind.NOISE, "machine_state"))
    with pytest.raises(ConfigError, match="unknown fault kind"):
        Fault.parse("melt:spindle_speed")
    f = Fault.parse("drift:spindle_vibration:0.2:5:30")
    assert f == Fault(FaultKind.DRIFT, "spindle_vibration", 5, 30, 0.2)
