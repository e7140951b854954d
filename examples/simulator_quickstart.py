"""Simulator quick start: run the mobility plant, read it over OPC UA, inject a fault, mitigate it.

Run:  python examples/simulator_quickstart.py [output-dir]

1. start a deterministic plant (seed 7) on a free port, step it by hand (realtime=False);
2. read Korean display names, units and values with a plain asyncua client;
3. inject a rising spindle-vibration fault (DRIFT) and watch it climb;
4. lower the feed override over OPC UA (the server checks the limits) and watch the vibration drop;
5. write MES exports (CP949 CSV + B2MML XML) whose totals equal the OPC UA counters.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

from asyncua import Client, ua

from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator
from factorypilot.pilots.simulator.mes_export import export_mes


async def main(out_dir: Path) -> dict[str, float]:
    async with PlantSimulator("mobility", seed=7, realtime=False) as sim:
        await sim.step(20)
        print(f"endpoint: {sim.endpoint}")
        async with Client(sim.endpoint) as client:
            vib = client.get_node(sim.node_id("spindle_vibration"))
            feed = client.get_node(sim.node_id("feed_override"))
            name = (await vib.read_display_name()).Text
            unit = (await (await vib.get_child("0:EngineeringUnits")).read_value()).DisplayName.Text
            normal = await vib.read_value()
            print(f"{name} = {normal:.2f} {unit}  (node {sim.node_id('spindle_vibration')})")

            sim.inject(Fault(FaultKind.DRIFT, "spindle_vibration", magnitude=0.15))
            await sim.step(40)
            faulty = await vib.read_value()
            print(f"after 40 ticks of drift: {faulty:.2f} {unit}, alarm={sim.value('alarm_active')}")

            try:
                await feed.write_value(ua.DataValue(ua.Variant(150.0, ua.VariantType.Double)))
            except ua.uaerrors.BadOutOfRange:
                print("feed_override=150 % refused by the server (limits 0..120)")
            await feed.write_value(ua.DataValue(ua.Variant(60.0, ua.VariantType.Double)))
            await sim.step(5)
            mitigated = await vib.read_value()
            print(f"feed_override=60 %: vibration {faulty:.2f} -> {mitigated:.2f} {unit}")
            good = await client.get_node(sim.node_id("good_count")).read_value()
            scrap = await client.get_node(sim.node_id("scrap_count")).read_value()

        export = export_mes(sim, out_dir, ticks_per_order=25)
        print(f"MES export: {export.csv_path.name}, {export.xml_path.name} — good {export.good_total} "
              f"(OPC UA {good}), scrap {export.scrap_total} (OPC UA {scrap})")
        print(f"accepted writes: {sim.write_log}")
    return {"normal": normal, "faulty": faulty, "mitigated": mitigated, "good": good, "scrap": scrap,
            "export_good": export.good_total, "export_scrap": export.scrap_total}


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="fp-sim-"))
    asyncio.run(main(target))
