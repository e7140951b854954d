from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pytest

from factorypilot.connectors import BaseConnector, Capability, InMemoryConnector, create
from factorypilot.connectors.mes import MesFilesConfig, MesFilesConnector
from factorypilot.errors import CapabilityError, DataError
from factorypilot.testing import ConnectorContract

Make = Callable[..., MesFilesConnector]


async def test_records_through_the_base_interface(write_ko_csv: Callable[..., Path]) -> None:
    settings = {"source": "대구-cnc", "mappings": [{"kind": "production"}]}
    conn: BaseConnector[MesFilesConfig] = create("mes-files", settings)  # type: ignore[assignment]
    async with conn:
        assert isinstance(conn, MesFilesConnector)
        await conn.ingest(write_ko_csv())
        since = datetime(2026, 11, 25, 6, 0, tzinfo=UTC)
        later = await conn.records("production", since=since)
        cnc2 = await conn.records("production", filters={"equipment": "CNC-02"}, limit=1)
        with pytest.raises(DataError, match="unknown field"):
            await conn.records("production", filters={"nope": 1})
        with pytest.raises(DataError, match="naive"):
            await conn.records("production", since=datetime(2026, 11, 25))
        with pytest.raises(DataError, match="no time field"):
            await conn.records("equipment", since=since)
    assert [r["time"] for r in later] == ["2026-11-25T06:10:00+00:00", "2026-11-25T14:30:00+00:00",
                                          "2026-11-25T17:00:00+00:00"]
    assert len(cnc2) == 1
    assert cnc2[0]["equipment"] == "CNC-02"
    assert conn.store_path.name == "대구-cnc.sqlite"
    assert conn.store_path.is_file()


async def test_records_need_the_capability_and_a_connection() -> None:
    async with InMemoryConnector() as mem:
        with pytest.raises(CapabilityError):
            await mem.records("production")
    from factorypilot.errors import ConnectionError_

    with pytest.raises(ConnectionError_):
        await MesFilesConnector().records("production")


async def test_scrap_rate_per_shift_includes_separate_scrap_records(tmp_path: Path, make_mes: Make,
                                                                    write_ko_csv: Callable[..., Path]) -> None:
    scrap = tmp_path / "불량.csv"
    scrap.write_text("설비,발생일시,불량수량,불량유형\nCNC-01,2026-11-25 09:00:00,7,치수불량\n", encoding="utf-8")
    async with make_mes() as mes:
        await mes.ingest(write_ko_csv())
        r = await mes.ingest(scrap)
        rates = await mes.scrap_rate_per_shift()
        only_cnc2 = await mes.scrap_rate_per_shift(equipment="CNC-02")
    assert r.kinds == ["scrap"]
    by_shift = {(x["date"], x["shift"]): (x["good"], x["scrap"]) for x in rates}
    assert by_shift == {("2026-11-25", "A"): (120, 10), ("2026-11-25", "B"): (110, 5),
                        ("2026-11-25", "C"): (170, 10)}
    a = next(x for x in rates if x["shift"] == "A")
    assert a["scrap_rate"] == pytest.approx(10 / 130)
    assert {x["shift"] for x in only_cnc2} == {"C"}


async def test_totals_as_tags(make_mes: Make, write_ko_csv: Callable[..., Path]) -> None:
    async with make_mes() as mes:
        await mes.ingest(write_ko_csv())
        tags = {t.id: t for t in await mes.browse()}
        samples = await mes.read(["CNC-02/good", "CNC-01/scrap"])
    assert set(tags) == {"CNC-01/good", "CNC-01/scrap", "CNC-02/good", "CNC-02/scrap"}
    assert tags["CNC-01/good"].display_names["ko"] == "CNC-01 양품 수량"
    assert [s.value for s in samples] == [170.0, 8.0]


class TestMesFilesContract(ConnectorContract):
    unknown_tag_id = "없는설비/good"

    @pytest.fixture
    def make_connector(self, tmp_path: Path) -> Callable[[], MesFilesConnector]:
        path = tmp_path / "seed.csv"
        path.write_text("설비,생산일시,양품수량,불량수량\n프레스-1,2026-11-25 08:00:00,10,1\n", encoding="utf-8")
        cfg = MesFilesConfig(source="contract", home=tmp_path / "mes")

        async def seed() -> None:
            async with MesFilesConnector(cfg) as c:
                await c.ingest(path, kind="production")

        asyncio.run(seed())
        return lambda: MesFilesConnector(cfg)


def test_capabilities_are_documented() -> None:
    assert MesFilesConnector.capabilities == {Capability.EXPORT_FILES, Capability.BROWSE, Capability.READ}
