"""Fixture files for the MES connector tests, generated per test (nothing licensed is copied)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from factorypilot.connectors.mes import MesFilesConfig, MesFilesConnector

KO_HEADER = "설비,생산일시,양품수량,불량수량,작업지시번호,품번"
KO_ROWS = [
    "CNC-01,2026-11-25 07:00:00,120,3,WO-1001,브래킷-A",
    "CNC-01,2026-11-25 15:10:00,110,5,WO-1001,브래킷-A",
    "CNC-02,2026-11-25 23:30:00,90,9,WO-1002,하우징-B",
    "CNC-02,2026-11-26 02:00:00,80,1,WO-1002,하우징-B",
]

V0401 = "http://www.mesa.org/xml/B2MML-V0401"
V0600 = "http://www.mesa.org/xml/B2MML"


def performance_xml(ns: str, *, v06: bool) -> bytes:
    """A ProductionPerformance with two segment responses, a vendor extension and an offset timestamp."""

    def produced(lot: str, good: int, scrap: int) -> str:
        if v06:
            return (f"<MaterialActual><MaterialDefinitionID>브래킷-A</MaterialDefinitionID>"
                    f"<MaterialLotID>{lot}</MaterialLotID><MaterialUse>Produced</MaterialUse>"
                    f"<Quantity><QuantityString>{good}</QuantityString><UnitOfMeasure>EA</UnitOfMeasure>"
                    f"<Key>Good</Key></Quantity>"
                    f"<Quantity><QuantityString>{scrap}</QuantityString><Key>Scrap</Key></Quantity>"
                    f"</MaterialActual>"
                    f"<MaterialActual><MaterialDefinitionID>강판</MaterialDefinitionID>"
                    f"<MaterialUse>Consumed</MaterialUse><Quantity><QuantityString>999</QuantityString>"
                    f"</Quantity></MaterialActual>")
        return (f"<MaterialProducedActual><MaterialDefinitionID>브래킷-A</MaterialDefinitionID>"
                f"<MaterialLotID>{lot}</MaterialLotID>"
                f"<Quantity><QuantityString>{good}</QuantityString><UnitOfMeasure>EA</UnitOfMeasure></Quantity>"
                f"<Quantity><QuantityString>{scrap}</QuantityString><Key>불량</Key></Quantity>"
                f"</MaterialProducedActual>")

    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<ProductionPerformance xmlns="{ns}" xmlns:acme="urn:acme:mes-extension">\n'
        f"<ID>PP-20261125</ID>\n"
        f"<acme:ExportedBy>ACME MES 7.2</acme:ExportedBy>\n"
        f"<ProductionResponse><ID>PR-1</ID><ProductionRequestID>WO-1001</ProductionRequestID>\n"
        f"<SegmentResponse><ID>SR-1</ID><ActualStartTime>2026-11-25T07:00:00+09:00</ActualStartTime>"
        f"<ActualEndTime>2026-11-25T08:00:00+09:00</ActualEndTime>"
        f"<EquipmentActual><EquipmentID>CNC-01</EquipmentID></EquipmentActual>"
        f"{produced('LOT-1', 120, 3)}<acme:Operator>김철수</acme:Operator></SegmentResponse>\n"
        f"<SegmentResponse><ID>SR-2</ID>"
        f"<ActualEndTime>2026-11-25T06:30:00Z</ActualEndTime>"
        f"<EquipmentActual><EquipmentID>CNC-02</EquipmentID></EquipmentActual>"
        f"{produced('LOT-2', 80, 2)}</SegmentResponse>\n"
        f"</ProductionResponse>\n</ProductionPerformance>\n"
    )
    return b"\xef\xbb\xbf" + body.encode("utf-8")


@pytest.fixture
def write_ko_csv(tmp_path: Path) -> Callable[..., Path]:
    def make(name: str = "생산실적.csv", rows: list[str] | None = None, encoding: str = "cp949",
             header: str = KO_HEADER) -> Path:
        path = tmp_path / name
        text = "\r\n".join([header, *(KO_ROWS if rows is None else rows)]) + "\r\n"
        path.write_bytes(text.encode(encoding))
        return path

    return make


@pytest.fixture
def make_mes(fp_home: Path) -> Callable[..., MesFilesConnector]:
    def make(**config: object) -> MesFilesConnector:
        # a catch-all mapping (pattern '*', no kind) opts into name-based mapping; without any mapping the
        # connector refuses to store a tabular file (test_first_contact checks that)
        config.setdefault("mappings", [{"pattern": "*"}])
        return MesFilesConnector(MesFilesConfig.model_validate(config))

    return make


@pytest.fixture
def ko_rows() -> list[str]:
    return list(KO_ROWS)


@pytest.fixture
def perf_xml() -> Callable[..., bytes]:
    return performance_xml
