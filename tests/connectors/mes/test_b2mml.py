from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.connectors.mes import NS_V0401, NS_V0600, MesFilesConnector
from factorypilot.errors import DataError

Make = Callable[..., MesFilesConnector]


@pytest.mark.parametrize(("ns", "v06", "version"), [(NS_V0401, False, "V0401"), (NS_V0600, True, "V0600")])
async def test_production_performance_both_versions(tmp_path: Path, make_mes: Make, perf_xml: Callable[..., bytes],
                                                    ns: str, v06: bool, version: str) -> None:
    path = tmp_path / "perf.xml"
    path.write_bytes(perf_xml(ns, v06=v06))
    async with make_mes() as mes:
        report = await mes.ingest(path)
        again = await mes.ingest(path)
        rows = await mes.records("production")
        segments = await mes.records("segment")
    assert report.detail == f"{version} ProductionPerformance; not validated (no schemas)"
    assert report.quarantined == 0
    assert again.duplicates == report.accepted
    # the final segment (SR-2) is the order's production; SR-1 is an intermediate segment, kept apart
    assert [(r["equipment"], r["good"], r["scrap"]) for r in rows] == [("CNC-02", 80, 2)]
    final = rows[0]
    assert final["time"] == "2026-11-25T06:30:00+00:00"  # Z
    assert (final["order_id"], final["product"], final["lot_id"]) == ("WO-1001", "브래킷-A", "LOT-2")
    sr1 = [s for s in segments if s["segment_id"] == "SR-1" and s["material_use"] == "Produced"]
    assert next((s["material_use"], s["material"], s["quantity"], s["equipment"]) for s in sr1) == (
        "Produced", "브래킷-A", 120.0, "CNC-01")
    assert sr1[0]["time"] == "2026-11-24T23:00:00+00:00"  # +09:00 offset honoured
    consumed = [s for s in segments if s["material_use"] == "Consumed"]
    assert [(s["segment_id"], s["material"], s["quantity"]) for s in consumed] == (
        [("SR-1", "강판", 999.0), ("SR-2", "강판", 999.0)] if v06 else [])


SCHEDULE = """<?xml version="1.0" encoding="UTF-8"?>
<SyncProductionSchedule xmlns="{ns}"><DataArea><Sync/><ProductionSchedule><ID>PS-1</ID>
<ProductionRequest><ID>WO-2001</ID><Description>브래킷 가공</Description><RequestState>Waiting</RequestState>
<StartTime>2026-11-26T08:00:00+09:00</StartTime><EndTime>2026-11-26T17:00:00+09:00</EndTime>
<SegmentRequirement><ID>SEG-1</ID><EquipmentRequirement><EquipmentID>CNC-01</EquipmentID></EquipmentRequirement>
<MaterialProducedRequirement><MaterialDefinitionID>브래킷-A</MaterialDefinitionID>
<Quantity><QuantityString>500</QuantityString><UnitOfMeasure>EA</UnitOfMeasure></Quantity>
</MaterialProducedRequirement></SegmentRequirement></ProductionRequest>
<ProductionRequest><ID></ID></ProductionRequest>
</ProductionSchedule></DataArea></SyncProductionSchedule>
"""

MATERIAL_AND_EQUIPMENT = """<?xml version="1.0" encoding="UTF-8"?>
<Root xmlns="{ns}" xmlns:v="urn:vendor">
<MaterialInformation><ID>MI-1</ID>
<MaterialDefinition><ID>강판-1.2t</ID><Description>냉연강판 1.2t</Description>
<MaterialClassID>원자재</MaterialClassID></MaterialDefinition>
<MaterialLot><ID>LOT-77</ID><MaterialDefinitionID>강판-1.2t</MaterialDefinitionID><Status>released</Status>
<StorageLocation>자재창고-2</StorageLocation><Quantity><QuantityString>1500.5</QuantityString>
<UnitOfMeasure>kg</UnitOfMeasure></Quantity><v:Supplier>포스코</v:Supplier></MaterialLot>
</MaterialInformation>
<EquipmentInformation><ID>EI-1</ID>
<Equipment><ID>대구공장</ID><EquipmentLevel>Site</EquipmentLevel>
  <Equipment><ID>1라인</ID><EquipmentLevel>ProductionLine</EquipmentLevel>
    <Equipment><ID>CNC-01</ID><Description>5축 가공기</Description><EquipmentLevel>WorkCell</EquipmentLevel>
    <EquipmentClassID>CNC</EquipmentClassID></Equipment>
  </Equipment>
</Equipment>
</EquipmentInformation>
</Root>
"""


async def test_schedule_material_lot_and_equipment(tmp_path: Path, make_mes: Make) -> None:
    sched = tmp_path / "schedule.xml"
    sched.write_text(SCHEDULE.format(ns=NS_V0600), encoding="utf-8")
    master = tmp_path / "master.xml"
    master.write_text(MATERIAL_AND_EQUIPMENT.format(ns=NS_V0401), encoding="utf-8")
    async with make_mes() as mes:
        r1 = await mes.ingest(sched)
        r2 = await mes.ingest(master)
        orders = await mes.records("work_order")
        lots = await mes.records("lot")
        materials = await mes.records("material")
        equipment = {e["equipment_id"]: e for e in await mes.records("equipment")}
    assert (r1.accepted, r1.quarantined) == (1, 1)  # the request without an ID is quarantined
    assert orders[0] | {"source_file": None} == {
        "order_id": "WO-2001", "product": "브래킷-A", "quantity": 500.0, "unit": "EA", "status": "Waiting",
        "equipment": "CNC-01", "start": "2026-11-25T23:00:00+00:00", "end": "2026-11-26T08:00:00+00:00",
        "source_file": None, "source_row": 3, "source_line": 3, "extra": None}
    assert sorted(r2.kinds) == ["equipment", "lot", "material"]
    assert (lots[0]["lot_id"], lots[0]["quantity"], lots[0]["location"]) == ("LOT-77", 1500.5, "자재창고-2")
    assert materials[0]["material_class"] == "원자재"
    assert equipment["CNC-01"]["parent"] == "1라인"
    assert equipment["1라인"]["parent"] == "대구공장"
    assert equipment["대구공장"]["parent"] is None


XXE = """<?xml version="1.0"?>
<!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<ProductionPerformance xmlns="http://www.mesa.org/xml/B2MML"><ID>&xxe;</ID></ProductionPerformance>
"""
LAUGHS = ('<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
          + "".join(f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10 if i > 1 else "&lol;" * 10}">'
                    for i in range(1, 10))
          + ']>\n<ProductionPerformance xmlns="http://www.mesa.org/xml/B2MML"><ID>&lol9;</ID>'
            '</ProductionPerformance>\n')


@pytest.mark.parametrize("text", [XXE, LAUGHS], ids=["xxe", "billion-laughs"])
async def test_entity_attacks_refused(tmp_path: Path, make_mes: Make, text: str) -> None:
    path = tmp_path / "attack.xml"
    path.write_text(text, encoding="utf-8")
    async with make_mes() as mes:
        with pytest.raises(DataError, match="DTD") as info:
            await mes.ingest(path)
        assert info.value.file == str(path)
        assert await mes.records("production") == []


async def test_utf16_dtd_is_also_refused(tmp_path: Path, make_mes: Make) -> None:
    path = tmp_path / "attack16.xml"
    path.write_bytes(XXE.replace('<?xml version="1.0"?>', '<?xml version="1.0" encoding="UTF-16"?>')
                     .encode("utf-16"))
    async with make_mes() as mes:
        with pytest.raises(DataError, match="DTD"):
            await mes.ingest(path)


async def test_not_b2mml_and_malformed_and_deep_xml(tmp_path: Path, make_mes: Make) -> None:
    other = tmp_path / "other.xml"
    other.write_text('<?xml version="1.0"?><Report xmlns="urn:other"><Row/></Report>', encoding="utf-8")
    cut = tmp_path / "cut.xml"
    cut.write_text(SCHEDULE.format(ns=NS_V0600)[:300], encoding="utf-8")
    deep = tmp_path / "deep.xml"
    deep.write_text(f'<a xmlns="{NS_V0600}">' + "<b>" * 5000 + "</b>" * 5000 + "</a>", encoding="utf-8")
    async with make_mes() as mes:
        with pytest.raises(DataError, match="namespace"):
            await mes.ingest(other)
        with pytest.raises(DataError, match="malformed XML") as info:
            await mes.ingest(cut)
        assert info.value.row is not None
        with pytest.raises(DataError, match="malformed XML"):
            await mes.ingest(deep)


XSD = """<?xml version="1.0" encoding="UTF-8"?>
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema" targetNamespace="{ns}" xmlns="{ns}"
           elementFormDefault="qualified">
  <xs:element name="ProductionSchedule">
    <xs:complexType><xs:sequence>
      <xs:element name="ID" type="xs:string"/>
      <xs:element name="ProductionRequest" maxOccurs="unbounded">
        <xs:complexType><xs:sequence>
          <xs:element name="ID" type="xs:string"/>
          <xs:element name="StartTime" type="xs:dateTime" minOccurs="0"/>
        </xs:sequence></xs:complexType>
      </xs:element>
    </xs:sequence></xs:complexType>
  </xs:element>
</xs:schema>
"""


async def test_schema_validation_when_a_schema_dir_is_given(tmp_path: Path, make_mes: Make) -> None:
    schemas = tmp_path / "xsd"
    schemas.mkdir()
    (schemas / "B2MML-ProductionSchedule.xsd").write_text(XSD.format(ns=NS_V0600), encoding="utf-8")
    good = tmp_path / "good.xml"
    good.write_text(f'<ProductionSchedule xmlns="{NS_V0600}"><ID>PS</ID><ProductionRequest><ID>WO-1</ID>'
                    "<StartTime>2026-11-26T08:00:00+09:00</StartTime></ProductionRequest></ProductionSchedule>",
                    encoding="utf-8")
    bad = tmp_path / "bad.xml"
    bad.write_text(f'<ProductionSchedule xmlns="{NS_V0600}"><ID>PS</ID><ProductionRequest><ID>WO-1</ID>'
                   "<StartTime>내일 아침</StartTime></ProductionRequest></ProductionSchedule>", encoding="utf-8")
    perf = tmp_path / "perf.xml"
    perf.write_text(f'<ProductionPerformance xmlns="{NS_V0600}"><ID>P</ID></ProductionPerformance>',
                    encoding="utf-8")
    async with make_mes(schema_dir=str(schemas)) as mes:
        ok = await mes.ingest(good)
        assert (ok.accepted, ok.schema_valid) == (1, True)
        invalid = await mes.ingest(bad)  # a verdict, not a gate: parsed and ingested, marked invalid
        assert invalid.schema_valid is False
        assert invalid.detail.endswith("schema_valid: false")
        assert "내일 아침" in invalid.schema_violations[0]
        assert (invalid.accepted, invalid.quarantined) == (0, 1)  # '내일 아침' is still no date
        unknown = await mes.ingest(perf)
        assert unknown.schema_valid is None
        assert "no XSD" in unknown.schema_violations[0]
    async with make_mes() as mes:  # without a schema dir the same file is read liberally
        report = await mes.ingest(bad)
    assert (report.accepted, report.quarantined) == (0, 1)
