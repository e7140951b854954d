"""The MES sample exports shipped with the sector pilots are current and deterministic."""

from __future__ import annotations

from pathlib import Path

import pytest

import factorypilot.pilots as pilots_pkg
from factorypilot.pilots.abb.trace import read_mes_lots
from factorypilot.pilots.mes_samples import SECTORS, generate_samples

ROOT = Path(pilots_pkg.__file__).parent


@pytest.mark.parametrize("sector", SECTORS)
def test_shipped_samples_match_a_fresh_generation(sector: str, tmp_path: Path) -> None:
    files = generate_samples(sector, tmp_path)
    assert files
    for f in files:
        shipped = ROOT / sector / "mes" / f.name
        assert shipped.read_bytes() == f.read_bytes(), f"{shipped} is stale: python -m factorypilot.pilots.mes_samples"


def test_healthcare_batch_record_lists_its_deviations() -> None:
    text = (ROOT / "healthcare" / "mes" / "healthcare-batch-record.csv").read_text(encoding="utf-8-sig")
    assert "실링 온도 밸리데이션 범위(140~150℃) 이탈" in text
    assert "0.5㎛ 미립자 ISO 7 기준 초과" in text


def test_abb_lot_table_reads_back() -> None:
    lots = read_mes_lots(ROOT / "abb" / "mes" / "abb-lots.csv")
    assert len(lots) == 15
    assert {row.product for row in lots.values()} == {"ECU-HOUSING-4410"}
    assert sum(row.scrap for row in lots.values()) > 0
