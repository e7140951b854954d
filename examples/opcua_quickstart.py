"""OPC UA quick start: connect to the simulated plant, browse, read, watch — and survive a server restart.

    python examples/opcua_quickstart.py

Swap ``plant.endpoint`` for your own server's ``opc.tcp://...`` (check it first with
``factorypilot connect browse opc.tcp://host:4840``).
"""

from __future__ import annotations

import asyncio
import contextlib

from factorypilot.connectors.opcua import OpcUaConnector
from factorypilot.pilots.simulator import PlantHandle, running_plant
from factorypilot.vocabulary import Gap, Sample


async def tour(plant: PlantHandle) -> list[str]:
    lines: list[str] = []
    config = OpcUaConnector.Config(endpoint=plant.endpoint, watchdog_interval_s=0.2, reconnect_max_delay_s=1)
    async with OpcUaConnector(config) as conn:
        tags = await conn.browse()
        lines.append(f"{len(tags)} tags, e.g.:")
        for tag in tags[:3]:
            lines.append(f"  {tag.id}  {tag.label('ko')} / {tag.label('en')}  [{tag.unit or '-'}]  {tag.asset}")
        vib = plant.node_id("spindle_vibration")
        sample = (await conn.read([vib]))[0]
        lines.append(f"read {sample.tag_id} = {sample.value} ({sample.quality.value})")
        async with contextlib.aclosing(conn.subscribe([vib], period=0.1)) as stream:
            first = await anext(stream)
            assert isinstance(first, Sample)
            lines.append(f"subscribed: current value {first.value}")
            await asyncio.to_thread(plant.stop)   # the server goes away ...
            await asyncio.to_thread(plant.start)  # ... and comes back on the same port
            async for item in stream:
                if isinstance(item, Gap):
                    lines.append(f"gap of {item.seconds:.1f} s: {item.reason}")
                elif lines[-1].startswith("gap"):
                    lines.append(f"resumed: {item.tag_id} = {item.value}")
                    break
    return lines


def main() -> list[str]:
    with running_plant(model="mobility", seed=1, tick_seconds=0.1) as plant:
        return asyncio.run(tour(plant))


if __name__ == "__main__":
    import logging

    logging.getLogger("asyncua").setLevel(logging.CRITICAL)  # its reconnect chatter; ours says what matters
    for line in main():
        print(line)
