"""Benchmark: alarm events and history read through OpcUaConnector vs raw asyncua, same run, client side.

    python benchmarks/alarms.py            # 500 active alarms, a burst of 1,000 changes, 20,000 history values
    python benchmarks/alarms.py --quick    # 100 / 200 / 5,000

The server runs in its own process (asyncua, one OffNormalAlarmType condition per alarm, emitted by the
Server object). Measured, client process only (wall time and CPU time of this process):
- ConditionRefresh of N active alarms: ``OpcUaConnector.events()`` until N refreshed alarms arrived, vs raw
  asyncua (subscribe + ConditionRefresh call, until RefreshEnd);
- a burst of M condition changes: received (and de-duplicated) alarms per second and client CPU, ours vs raw;
- history: values/s of ``OpcUaConnector.history`` vs raw ``Node.read_raw_history`` over the same values;
- acknowledge round trip (per alarm, sequential, ACKS of them): factorypilot's guarded path — the alarm read
  from the plant (a ConditionRefresh over all retained alarms), guard + proposal on the ledger, a person's
  approval, the check before the call, write-ahead intent, the Acknowledge call, the AckedState read-back —
  vs one raw asyncua ``Acknowledge`` call with an EventId already known. The guarded path runs twice: with
  ``condition_reads='auto'`` (the check and the read-back read the condition's variables, which this server
  keeps as Part 9 says), with ``'refresh'`` (every read a ConditionRefresh), and as before these changes
  (``'refresh'`` and the short-lived subscriptions publishing every 50 ms instead of 10 ms); the second table
  gives each against the last. Same server, same run, different conditions.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

T0 = datetime(2026, 1, 1, tzinfo=UTC)
ACKS = 20


def _serve(port: int, n: int, hist: int, ready: Any, burst: Any, stop: Any) -> None:
    from asyncua import Server, ua

    async def run() -> None:
        server = Server()
        server.iserver.bind_condition_methods = True
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/bench/")
        idx = await server.register_namespace("urn:factorypilot:bench")
        var = await server.nodes.objects.add_variable(ua.NodeId("Hist", idx), "Hist", 0.0)
        await server.historize_node_data_change(var, period=None, count=hist + 10)
        for i in range(hist):
            t = T0 + timedelta(milliseconds=100 * i)
            await server.iserver.history_manager.storage.save_node_value(
                var.nodeid, ua.DataValue(ua.Variant(float(i), ua.VariantType.Double), SourceTimestamp=t,
                                         ServerTimestamp=t))
        gens = []
        for i in range(n):
            gen = await server.get_event_generator(ua.ObjectIds.OffNormalAlarmType, ua.ObjectIds.Server)
            gen.event.NodeId = ua.NodeId(f"Alarm{i:04d}.Condition", idx)
            gen.event.Severity = 600
            gens.append(gen)

        async def set_state(gen: Any, active: bool) -> None:
            gen.event.Retain = True
            setattr(gen.event, "ActiveState/Id", active)
            setattr(gen.event, "AckedState/Id", False)
            gen.event.Message = ua.LocalizedText(f"설비 알람 {gen.event.NodeId.Identifier}", "ko-KR")
            await gen.trigger()

        for gen in gens:
            await set_state(gen, True)
        acks: dict[str, tuple[Any, Any]] = {}  # condition id -> (generator, node)

        async def acknowledge(parent: Any, event_id: Any = None, comment: Any = None) -> Any:
            gen, node = acks[parent.to_string()]
            eid = event_id.Value if isinstance(event_id, ua.Variant) else event_id
            if eid != gen.event.EventId.Value or getattr(gen.event, "AckedState/Id"):
                return ua.StatusCode(ua.StatusCodes.BadEventIdUnknown)
            setattr(gen.event, "AckedState/Id", True)
            await gen.trigger()
            await keep_node(gen, node)
            return []

        async def keep_node(gen: Any, node: Any) -> None:
            """The condition node's variables follow the last state event (as a Part 9 server keeps them)."""
            ev = gen.event
            for path, variant in ((["0:EventId"], ua.Variant(ev.EventId.Value, ua.VariantType.ByteString)),
                                  (["0:ActiveState", "0:Id"], ua.Variant(getattr(ev, "ActiveState/Id"),
                                                                         ua.VariantType.Boolean)),
                                  (["0:AckedState", "0:Id"], ua.Variant(getattr(ev, "AckedState/Id"),
                                                                        ua.VariantType.Boolean)),
                                  (["0:Retain"], ua.Variant(ev.Retain, ua.VariantType.Boolean)),
                                  (["0:Severity"], ua.Variant(ev.Severity, ua.VariantType.UInt16))):
                await (await node.get_child(path)).write_value(variant)

        server.link_method(server.get_node(ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)),
                           acknowledge)
        for i in range(4 * ACKS):
            cid = ua.NodeId(f"Ack{i:03d}.Condition", idx)
            node = await server.nodes.server.add_object(cid, ua.QualifiedName(f"Ack{i:03d}", idx),
                                                        objecttype=ua.ObjectIds.OffNormalAlarmType)
            server.link_method(await node.get_child("0:Acknowledge"), acknowledge)
            gen = await server.get_event_generator(ua.ObjectIds.OffNormalAlarmType, ua.ObjectIds.Server)
            gen.event.NodeId, gen.event.SourceNode, gen.event.Severity = cid, var.nodeid, 600
            acks[cid.to_string()] = (gen, node)
            await set_state(gen, True)
            await keep_node(gen, node)
        async with server:
            ready.set()
            loop = asyncio.get_running_loop()
            while not stop.is_set():
                if await loop.run_in_executor(None, burst.wait, 0.2):
                    burst.clear()
                    for k in range(2 * n if n else 0):
                        await set_state(gens[k % n], k // n % 2 == 1)

    asyncio.run(run())


async def _ours_refresh(url: str, n: int) -> float:
    from contextlib import aclosing

    from factorypilot.connectors.opcua import OpcUaConnector

    async with OpcUaConnector(OpcUaConnector.Config(endpoint=url, timeout_s=30)) as c:
        t = time.perf_counter()
        got = 0
        async with aclosing(c.events()) as stream:
            async for _ in stream:
                got += 1
                if got >= n:
                    return time.perf_counter() - t
    return float("nan")


async def _raw_refresh(url: str, n: int) -> float:
    from asyncua import Client, ua

    done = asyncio.Event()
    count = [0]

    class H:
        def event_notification(self, ev: Any) -> None:
            count[0] += 1
            if count[0] >= n:
                done.set()

    async with Client(url, timeout=30) as client:
        t = time.perf_counter()
        sub = await client.create_subscription(200, H())
        await sub.subscribe_alarms_and_conditions()
        await client.get_node(ua.ObjectIds.ConditionType).call_method(
            ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
            ua.Variant(sub.subscription_id, ua.VariantType.UInt32))
        await done.wait()
        return time.perf_counter() - t


async def _ours_burst(url: str, n: int, burst: Any) -> tuple[float, float, int]:
    from contextlib import aclosing

    from factorypilot.connectors.opcua import OpcUaConnector

    async with OpcUaConnector(OpcUaConnector.Config(endpoint=url, timeout_s=30)) as c, \
            aclosing(c.events()) as stream:
        seen = 0
        async for _ in stream:
            seen += 1
            if seen >= n:
                break
        wall, cpu = time.perf_counter(), time.process_time()
        burst.set()
        got = 0
        async for _ in stream:
            got += 1
            if got >= 2 * n:
                break
        return time.perf_counter() - wall, time.process_time() - cpu, got


async def _raw_burst(url: str, n: int, burst: Any) -> tuple[float, float, int]:
    from asyncua import Client

    count = [0]
    done = asyncio.Event()
    target = [n]

    class H:
        def event_notification(self, ev: Any) -> None:
            count[0] += 1
            if count[0] >= target[0]:
                done.set()

    async with Client(url, timeout=30) as client:
        sub = await client.create_subscription(200, H())
        await sub.subscribe_alarms_and_conditions(queuesize=10_000)
        count[0], target[0] = 0, 2 * n
        done.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        burst.set()
        await done.wait()
        return time.perf_counter() - wall, time.process_time() - cpu, count[0]


async def _history(url: str, hist: int) -> tuple[float, float]:
    from asyncua import Client, ua

    from factorypilot.connectors.opcua import OpcUaConnector

    end = T0 + timedelta(milliseconds=100 * hist)
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=url, timeout_s=30)) as c:
        ns = (await c._clients[url].get_namespace_array()).index("urn:factorypilot:bench")
        t = time.perf_counter()
        ours = await c.history([f"ns={ns};s=Hist"], T0, end)
        ours_s = time.perf_counter() - t
    async with Client(url, timeout=30) as client:
        node = client.get_node(ua.NodeId("Hist", ns))
        t = time.perf_counter()
        raw = await node.read_raw_history(T0, end, numvalues=0)
        raw_s = time.perf_counter() - t
    assert len(ours) == len(raw) == hist, (len(ours), len(raw))
    return hist / ours_s, hist / raw_s


async def _guarded_acks(url: str, home: Any, first: int, reads: str, publish_ms: float | None = None) -> float:
    """Mean seconds per guarded acknowledgement (propose + approve + act + read-back) of Ack<first>.. with
    ``condition_reads=reads`` and (when given) the short-lived subscriptions' publishing interval ``publish_ms``
    instead of the library's (50 ms was the interval before it was shortened)."""
    from factorypilot.connectors.opcua import _ack, _condition

    default_ms = _condition.SHORT_PUBLISH_MS
    _condition.SHORT_PUBLISH_MS = _ack.SHORT_PUBLISH_MS = publish_ms or default_ms
    try:
        return await _timed_acks(url, home, first, reads)
    finally:
        _condition.SHORT_PUBLISH_MS = _ack.SHORT_PUBLISH_MS = default_ms


async def _timed_acks(url: str, home: Any, first: int, reads: str) -> float:
    from factorypilot.agents import AgentConfig, AgentRuntime
    from factorypilot.agents._external import alarm_request, propose
    from factorypilot.agents.safety import AlarmRule, SafetyPolicy
    from factorypilot.connectors.opcua import OpcUaConnector

    async with OpcUaConnector(OpcUaConnector.Config(endpoint=url, timeout_s=30, condition_reads=reads)) as c:
        ns = (await c._clients[url].get_namespace_array()).index("urn:factorypilot:bench")
        cfg = AgentConfig(name="bench", roles={"hist": f"ns={ns};s=Hist"},
                          policy=SafetyPolicy(name="bench", alarms=[AlarmRule(source="*", max_acks=1000)]),
                          verify={"attempts": 20, "interval_s": 0.05})  # type: ignore[arg-type]
        async with AgentRuntime(cfg, c, home=home / f"{reads}-{first}", lease=False) as rt:
            t = time.perf_counter()
            for i in range(first, first + ACKS):
                _, req = await alarm_request(rt, f"ns={ns};s=Ack{i:03d}.Condition", confirm=False, comment="bench",
                                             requested_by="bench")
                out = await propose(rt, req, proposer={"client": "bench"})
                assert out.request_id is not None, out.reasons
                done = await rt.resume(out.request_id, "approve", by="bench")
                assert (done.report or {})["results"][0]["status"] == "done", done.report
            ours = (time.perf_counter() - t) / ACKS
        assert c.condition_reads["refresh"] == (3 * ACKS if reads == "refresh" else ACKS), c.condition_reads
    return ours


async def _acks(url: str, home: Any) -> tuple[float, float, float, float]:
    """Mean seconds per acknowledgement: guarded with condition_reads 'auto', with 'refresh' (three
    ConditionRefreshes per acknowledgement), with 'refresh' and 50 ms publishing (the way before), and raw
    Acknowledge; each on its own alarms."""
    from asyncua import Client, ua

    from factorypilot.connectors.opcua import OpcUaConnector

    auto = await _guarded_acks(url, home, 0, "auto")
    refresh = await _guarded_acks(url, home, ACKS, "refresh")
    before = await _guarded_acks(url, home, 2 * ACKS, "refresh", publish_ms=50.0)
    async with OpcUaConnector(OpcUaConnector.Config(endpoint=url, timeout_s=30)) as c:
        ns = (await c._clients[url].get_namespace_array()).index("urn:factorypilot:bench")
        event_ids = [(await c.alarm_state(f"ns={ns};s=Ack{i:03d}.Condition")) for i in range(3 * ACKS, 4 * ACKS)]
    async with Client(url, timeout=30) as client:
        method = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
        t = time.perf_counter()
        for alarm in event_ids:
            assert alarm is not None
            await client.get_node(ua.NodeId.from_string(alarm.condition_id)).call_method(
                method, ua.Variant(bytes.fromhex(alarm.event_id), ua.VariantType.ByteString),
                ua.Variant(ua.LocalizedText("bench"), ua.VariantType.LocalizedText))
        raw = (time.perf_counter() - t) / ACKS
    return auto, refresh, before, raw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    n, hist = (100, 5_000) if args.quick else (500, 20_000)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    ready, burst, stop = ctx.Event(), ctx.Event(), ctx.Event()
    proc = ctx.Process(target=_serve, args=(port, n, hist, ready, burst, stop))
    proc.start()
    try:
        if not ready.wait(300):
            raise SystemExit("server did not start")
        url = f"opc.tcp://127.0.0.1:{port}/bench/"
        ours_r = asyncio.run(_ours_refresh(url, n))
        raw_r = asyncio.run(_raw_refresh(url, n))
        ours_b = asyncio.run(_ours_burst(url, n, burst))
        time.sleep(1.0)
        raw_b = asyncio.run(_raw_burst(url, n, burst))
        ours_h, raw_h = asyncio.run(_history(url, hist))
        with tempfile.TemporaryDirectory() as home:
            ours_a, refresh_a, before_a, raw_a = asyncio.run(_acks(url, Path(home)))
    finally:
        stop.set()
        proc.join(30)
    table = Table(title=f"alarms: {n} active alarms, burst of {2 * n} changes, {hist:,} history values")
    for col in ("measure", "factorypilot", "raw asyncua", "ours / raw"):
        table.add_column(col, justify="right")
    table.add_row("ConditionRefresh (s)", f"{ours_r:.3f}", f"{raw_r:.3f}", f"{ours_r / raw_r:.2f}x time")
    table.add_row("burst alarms/s", f"{ours_b[2] / ours_b[0]:.0f}", f"{raw_b[2] / raw_b[0]:.0f}",
                  f"{(ours_b[2] / ours_b[0]) / (raw_b[2] / raw_b[0]):.2f}x")
    table.add_row("burst client CPU (s)", f"{ours_b[1]:.3f}", f"{raw_b[1]:.3f}", f"{ours_b[1] / raw_b[1]:.2f}x")
    table.add_row("history values/s", f"{ours_h:.0f}", f"{raw_h:.0f}", f"{ours_h / raw_h:.2f}x")
    table.add_row(f"acknowledge round trip (ms, mean of {ACKS})", f"{1000 * ours_a:.1f}", f"{1000 * raw_a:.1f}",
                  f"{ours_a / raw_a:.1f}x time")
    Console().print(table)
    acks = Table(title=f"guarded acknowledge, mean of {ACKS} (same server, same run)")
    for col in ("way", "ms", "vs before"):
        acks.add_column(col, justify="right")
    for name, value in (("condition_reads='auto' (1 ConditionRefresh, 2 reads of the condition's variables)", ours_a),
                        ("condition_reads='refresh' (3 ConditionRefreshes)", refresh_a),
                        ("before: 3 ConditionRefreshes, 50 ms publishing", before_a)):
        acks.add_row(name, f"{1000 * value:.1f}", f"{value / before_a:.2f}x time")
    Console().print(acks)


if __name__ == "__main__":
    main()
