"""Benchmark: OpcUaConnector.read() of N Double tags vs raw asyncua, client side only, same run.

    python benchmarks/opcua_read.py            # 1,000 tags, 50 repetitions
    python benchmarks/opcua_read.py --quick    # 1,000 tags, 10 repetitions (one-by-one: 2)

The server runs in its own *process* (an asyncua server whose address space is built with one AddNodes
call), so the numbers are the client's. Contenders, each reading all N values per repetition:
- raw asyncua ``Client.read_values`` (one Read request with N nodes) — the baseline
- factorypilot ``OpcUaConnector.read`` (chunks of ``read_chunk_size`` in parallel; Samples with quality
  and timestamps) — default chunk 500, and one chunk of N
- raw asyncua ``Node.read_value`` one by one (N round trips) — what a naive client does
Goal (issue): ours >= 0.9x raw batched.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import socket
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rich.console import Console
from rich.table import Table


def _serve(port: int, n: int, ready: Any, stop: Any) -> None:
    from asyncua import Server, ua

    async def run() -> None:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/bench/")
        idx = await server.register_namespace("urn:factorypilot:bench")
        folder = await server.nodes.objects.add_folder(ua.NodeId("Bulk", idx), ua.QualifiedName("Bulk", idx))
        items = []
        for i in range(n):
            item = ua.AddNodesItem()
            item.RequestedNewNodeId = ua.NodeId(f"Bulk.T{i:05d}", idx)
            item.BrowseName = ua.QualifiedName(f"T{i:05d}", idx)
            item.NodeClass = ua.NodeClass.Variable
            item.ParentNodeId = folder.nodeid
            item.ReferenceTypeId = ua.NodeId(ua.ObjectIds.HasComponent)
            item.TypeDefinition = ua.NodeId(ua.ObjectIds.BaseDataVariableType)
            attrs = ua.VariableAttributes()
            attrs.DisplayName = ua.LocalizedText(f"태그 {i}", "ko-KR")
            attrs.DataType = ua.NodeId(ua.ObjectIds.Double)
            attrs.Value = ua.Variant(float(i), ua.VariantType.Double)
            attrs.ValueRank = ua.ValueRank.Scalar
            attrs.AccessLevel = attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
            item.NodeAttributes = attrs
            items.append(item)
        for res in await server.iserver.isession.add_nodes(items):
            res.StatusCode.check()
        async with server:
            ready.set()
            await asyncio.to_thread(stop.wait)

    asyncio.run(run())


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _interleaved(contenders: dict[str, Callable[[], Awaitable[Any]]], reps: int) -> dict[str, list[float]]:
    """Time each contender once per round, round after round, so load changes on the machine hit all alike."""
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for fn in contenders.values():
        await fn()  # warm-up (caches, first-call costs)
    for _ in range(reps):
        for name, fn in contenders.items():
            t0 = time.perf_counter()
            await fn()
            times[name].append(time.perf_counter() - t0)
    return times


async def bench(endpoint: str, n: int, reps: int, naive_reps: int) -> list[tuple[str, int, list[float]]]:
    from asyncua import Client, ua

    from factorypilot.connectors.opcua import OpcUaConnector

    ids = [f"ns=2;s=Bulk.T{i:05d}" for i in range(n)]
    small = OpcUaConnector(OpcUaConnector.Config(endpoint=endpoint, read_chunk_size=500, timeout_s=30))
    big = OpcUaConnector(OpcUaConnector.Config(endpoint=endpoint, read_chunk_size=n, timeout_s=30))
    async with Client(endpoint, timeout=30) as client, small, big:
        nodes = [client.get_node(ua.NodeId.from_string(t)) for t in ids]

        async def raw_batched() -> None:
            values = await client.read_values(nodes)
            assert len(values) == n

        async def raw_one_by_one() -> None:
            for node in nodes:
                await node.read_value()

        def ours(conn: OpcUaConnector) -> Callable[[], Awaitable[None]]:
            async def read() -> None:
                samples = await conn.read(ids)
                assert len(samples) == n
                assert samples[-1].value == float(n - 1)
            return read

        times = await _interleaved({"raw asyncua read_values (1 request)": raw_batched,
                                    "factorypilot read() chunk 500": ours(small),
                                    f"factorypilot read() chunk {n}": ours(big)}, reps)
        times["raw asyncua read_value one by one"] = (
            await _interleaved({"naive": raw_one_by_one}, naive_reps))["naive"]
    return [(name, n, t) for name, t in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--tags", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=None)
    args = parser.parse_args()
    reps = args.reps or (10 if args.quick else 50)
    naive_reps = 2 if args.quick else 5
    port = _free_port()
    ctx = mp.get_context("spawn")
    ready, stop = ctx.Event(), ctx.Event()
    server = ctx.Process(target=_serve, args=(port, args.tags, ready, stop), daemon=True)
    server.start()
    try:
        if not ready.wait(120):
            raise SystemExit("benchmark server did not start")
        rows = asyncio.run(bench(f"opc.tcp://127.0.0.1:{port}/bench/", args.tags, reps, naive_reps))
    finally:
        stop.set()
        server.join(10)
    base = statistics.median(rows[0][2])
    table = Table(title=f"OPC UA read of {args.tags} Double tags (server in another process, median of {reps})")
    for col in ("contender", "median ms / read", "values/s", "ratio vs raw batched"):
        table.add_column(col, justify="right" if col != "contender" else "left")
    for name, n, times in rows:
        med = statistics.median(times)
        table.add_row(name, f"{med * 1000:.1f}", f"{n / med:,.0f}", f"{base / med:.2f}x")
    Console().print(table)


if __name__ == "__main__":
    main()
