"""The example third-party connector (examples/connector_example) passes the connector contract suite."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from factorypilot.errors import DataError
from factorypilot.testing import ConnectorContract

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "connector_example"
sys.path.insert(0, str(EXAMPLE))

from csv_historian import CsvHistorianConnector  # noqa: E402

LOG = "time,tag,value,unit\n2026-11-25T09:00:00+09:00,프레스1.압력,152.5,bar\n" \
      "2026-11-25T09:00:00+09:00,프레스1.상태,가동,\n2026-11-25T09:00:01+09:00,용접2.전류,210,A\n"


class TestCsvHistorianConnector(ConnectorContract):
    unknown_tag_id = "없는.태그"

    @pytest.fixture
    def make_connector(self, tmp_path: Path) -> Callable[[], CsvHistorianConnector]:
        path = tmp_path / "log.csv"
        path.write_bytes(LOG.encode("cp949"))
        return lambda: CsvHistorianConnector(CsvHistorianConnector.Config(path=path, encoding="cp949"))


def test_wrong_encoding_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_bytes(LOG.encode("cp949"))

    async def go() -> None:
        async with CsvHistorianConnector(CsvHistorianConnector.Config(path=path)):
            pass

    with pytest.raises(DataError, match="cp949") as info:
        asyncio.run(go())
    assert str(path) in str(info.value)


def test_bad_timestamp_names_row_and_column(tmp_path: Path) -> None:
    path = tmp_path / "log.csv"
    path.write_text("time,tag,value\nyesterday,a,1\n", encoding="utf-8")

    async def go() -> None:
        async with CsvHistorianConnector(CsvHistorianConnector.Config(path=path)):
            pass

    with pytest.raises(DataError, match="row 2, column 'time'"):
        asyncio.run(go())


def test_walk_through_runs(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("run_example", EXAMPLE / "run_example.py")
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = asyncio.run(module.main(tmp_path / "press-log.csv"))
    assert "tag 프레스1.압력 (float, bar)" in lines
    assert lines[-1] == "new 프레스1.압력 = 160.4"
