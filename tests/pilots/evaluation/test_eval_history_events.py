"""``eval --replay-history`` with the plant's own *alarm* history (OPC UA HistoryRead of events).

Answer key: the simulator's event history is back-filled with a known alarm log (spindle lubrication pressure
low, code 2201, active at 08:03:20, back to normal at 08:06:40; a spindle vibration alarm 2101 that the
pilot's alarm detector does not match). The back-test must read those events with the times the server
stored, the mobility pilot's ``kind: alarm`` detector must fire once on 2201 with its Korean text, and nothing
may reach the plant (no write, no method, no Acknowledge call).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from asyncua import Server, ua

from factorypilot.connectors.registry import create
from factorypilot.errors import CapabilityError
from factorypilot.pilots.evaluation._history import replay_history
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import PlantHandle, running_plant
from factorypilot.pilots.simulator._backfill import backfill_alarms, backfill_history
from factorypilot.pilots.spec import load_spec

EXE = str(Path(sys.executable).with_name("factorypilot"))
T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
LUBE_ON, LUBE_OFF, VIB_ON = T0 + timedelta(seconds=200), T0 + timedelta(seconds=400), T0 + timedelta(seconds=100)
LOG = [(True, 2101, VIB_ON), (True, 2201, LUBE_ON), (False, 2201, LUBE_OFF)]


@pytest.fixture
def plant() -> Iterator[tuple[PlantHandle, list[bytes]]]:
    with running_plant(model="mobility", port=0, realtime=False) as handle:
        sim = handle.simulator
        handle._call(backfill_history(sim, "spindle_vibration", [  # live, below the 3.2 mm/s limit
            (2.0 + 0.01 * (i % 5), T0 + timedelta(seconds=i), None) for i in range(600)]))
        ids = handle._call(backfill_alarms(sim, "alarm_active", LOG))
        yield handle, ids


def _bindings(plant: PlantHandle, tmp_path: Path) -> Path:
    spec = yaml.safe_load(reference_pilots()["mobility"].read_text("utf-8"))
    path = tmp_path / "bindings.yaml"
    path.write_text(yaml.safe_dump({r: t for r, t in plant.roles().items() if r in spec["roles"]},
                                   allow_unicode=True), encoding="utf-8")
    return path


def test_event_history_returns_what_the_server_stored(plant: tuple[PlantHandle, list[bytes]]) -> None:
    handle, ids = plant

    async def read() -> list[Any]:
        async with create("opcua", {"endpoint": handle.endpoint}) as c:
            return await c.event_history(None, T0, T0 + timedelta(minutes=10))

    got = asyncio.run(read())
    assert [(e.time, e.active, e.event_id) for e in got] == [(t, a, i.hex()) for (a, _, t), i in zip(LOG, ids,
                                                                                                     strict=True)]
    assert got[1].message.startswith("주축 윤활 압력 저하 (코드 2201)")
    assert got[1].message_locale == "ko-KR"
    assert (got[1].acked, got[2].acked, got[1].severity) == (False, True, 600)
    assert {e.condition_id for e in got} == {handle.roles()["alarm_active"] + ".Condition"}
    assert all(not e.refreshed for e in got)


def test_replay_history_reports_alarm_driven_detection_and_sends_nothing(
        plant: tuple[PlantHandle, list[bytes]], tmp_path: Path) -> None:
    handle, ids = plant
    out_json = tmp_path / "backtest.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")} | {
        "FACTORYPILOT_HOME": str(tmp_path / "home"), "COLUMNS": "200"}
    done = subprocess.run([EXE, "eval", "mobility", "--replay-history", handle.endpoint,
                           "--start", T0.isoformat(), "--end", (T0 + timedelta(minutes=10)).isoformat(),
                           "--bindings", str(_bindings(handle, tmp_path)), "--json", str(out_json)],
                          env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "plant alarm history / 설비 알람 이력: 3 events" in done.stdout
    rep = json.loads(out_json.read_text(encoding="utf-8"))
    assert rep["alarm_events"] == 3
    assert rep["events_unavailable"] is None
    [det] = rep["detections"]  # 2101 does not match the detector's message "2201"; the return to normal is history
    assert datetime.fromisoformat(det["time"]) == LUBE_ON
    assert det["detector"] == "alarm:machine_state"
    assert det["playbook"] == "plant-alarm-lubrication"
    assert det["message"].startswith("주축 윤활 압력 저하 (코드 2201)")
    assert det["alarm"]["event_id"] == ids[1].hex()
    assert det["alarm"]["condition_id"] == handle.roles()["alarm_active"] + ".Condition"
    kinds = {p["kind"]: p for p in det["proposals"]}
    assert set(kinds) == {"note", "acknowledge"}
    ack = kinds["acknowledge"]
    assert ack["role"] == det["alarm"]["condition_id"]
    # machine_state / door_open keep no history: the door interlock reads as active (fail safe) → refused
    assert ack["verdict"] == "refused"
    assert any("interlock 'door-open-while-running' active" in r for r in ack["reasons"])
    assert "주축 윤활 압력 저하" in done.stdout
    assert handle.simulator.alarms.calls == 0  # no Acknowledge reached the plant
    assert handle.write_log == []
    assert handle.method_log == []


def test_server_without_event_history_is_said_and_value_backtest_still_runs(tmp_path: Path) -> None:
    async def run() -> tuple[Any, str]:
        server = Server()
        await server.init()
        server.set_endpoint("opc.tcp://127.0.0.1:0/plain/")
        idx = await server.register_namespace("urn:plain")
        var = await server.nodes.objects.add_variable(ua.NodeId("vib", idx), "vib", 0.0)
        others = {r: (await server.nodes.objects.add_variable(ua.NodeId(r, idx), r, v)).nodeid.to_string()
                  for r, v in (("feed_override", 100.0), ("spindle_temperature", 40.0), ("door_open", False),
                               ("machine_state", "RUN"))}  # not historized
        await server.historize_node_data_change(var, period=None, count=100)
        for i in range(10):
            t = T0 + timedelta(seconds=i)
            await server.iserver.history_manager.storage.save_node_value(
                var.nodeid, ua.DataValue(ua.Variant(2.0, ua.VariantType.Double), SourceTimestamp=t,
                                         ServerTimestamp=t))
        async with server:
            port = server.bserver._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
            url = f"opc.tcp://127.0.0.1:{port}/plain/"
            spec = load_spec(reference_pilots()["mobility"])
            config = spec.agent_config({"spindle_vibration": var.nodeid.to_string(), **others})
            async with create("opcua", {"endpoint": url}) as c:
                with pytest.raises(CapabilityError) as err:
                    await c.event_history(None, T0, T0 + timedelta(minutes=1))
                rep = await replay_history(config, c, T0, T0 + timedelta(minutes=1))
            proc = await asyncio.create_subprocess_exec(
                EXE, "connect", "history", url, "--events", "--start", T0.isoformat(), "--end",
                (T0 + timedelta(minutes=1)).isoformat(), stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env={**os.environ, "COLUMNS": "200"})
            out = (await asyncio.wait_for(proc.communicate(), 120))[0].decode()
            assert proc.returncode != 0
            assert "keeps no event history" in out
            assert "Traceback" not in out
            return rep, err.value.message

    rep, message = asyncio.run(run())
    assert "keeps no event history" in message
    assert rep.events_unavailable == message
    assert rep.alarm_events is None
    assert rep.samples["spindle_vibration"] == 10  # the value back-test ran
    assert rep.detections == []


def test_connect_history_events_lists_the_stored_alarm_log(plant: tuple[PlantHandle, list[bytes]],
                                                           tmp_path: Path) -> None:
    import csv
    import io

    handle, ids = plant
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")} | {
        "FACTORYPILOT_HOME": str(tmp_path / "home")}
    done = subprocess.run([EXE, "connect", "history", handle.endpoint, "--events", "--start", T0.isoformat(),
                           "--end", (T0 + timedelta(minutes=10)).isoformat(), "--csv", "-"],
                          env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    rows = list(csv.DictReader(io.StringIO(done.stdout)))
    assert [(datetime.fromisoformat(r["time"]), r["active"], r["event_id"]) for r in rows] == [
        (t, str(a), i.hex()) for (a, _, t), i in zip(LOG, ids, strict=True)]
    assert rows[1]["message"].startswith("주축 윤활 압력 저하 (코드 2201)")
