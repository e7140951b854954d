"""A plant split over several server processes equals the same plant in one process."""

from __future__ import annotations

import asyncio

from asyncua import Client

from factorypilot.pilots.simulator import PlantSimulator, ShardedPlant


async def _read(endpoint: str, node_ids: list[str]) -> list[object]:
    async with Client(endpoint) as client:
        return list(await client.read_values([client.get_node(n) for n in node_ids]))


def test_two_shards_serve_disjoint_lines_with_the_single_process_values() -> None:
    single = PlantSimulator(seed=5, realtime=False, scale=4)
    with ShardedPlant("mobility", shards=2, lines_per_shard=2, seed=5, realtime=False) as plant:
        roles = plant.roles()
        assert len(plant.endpoints) == 2
        assert len(set(plant.endpoints)) == 2
        assert set(roles) == set(single.roles())
        endpoint, node = roles["line03_spindle_speed"]
        assert endpoint == plant.endpoints[1]
        assert node == "ns=2;s=mobility.line-03.cnc-01.spindle_speed"
        for ep in plant.endpoints:
            mine = [r for r, (e, _) in roles.items() if e == ep]
            served = asyncio.run(_read(ep, [roles[r][1] for r in mine]))
            assert served == [single.value(r) for r in mine]


async def test_a_shard_steps_exactly_like_its_lines_in_the_whole_plant() -> None:
    whole = PlantSimulator(seed=5, realtime=False, scale=4)
    shard = PlantSimulator(seed=5, realtime=False, scale=2, first_line=2)
    await whole.step(30)
    await shard.step(30)
    assert shard.roles() == {r: n for r, n in whole.roles().items() if r.startswith(("line03_", "line04_"))}
    assert {r: shard.value(r) for r in shard.roles()} == {r: whole.value(r) for r in shard.roles()}
