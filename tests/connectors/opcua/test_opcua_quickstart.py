"""examples/opcua_quickstart.py runs against the plant simulator: browse, read, subscribe, outage → gap → resume."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "opcua_quickstart.py"


def test_quickstart_runs_and_reports_the_gap() -> None:
    spec = importlib.util.spec_from_file_location("opcua_quickstart", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    lines = module.main()
    assert lines[0].endswith("tags, e.g.:")
    assert any(line.startswith("read ns=2;s=") and "(good)" in line for line in lines)
    gap = next(i for i, line in enumerate(lines) if line.startswith("gap of"))
    assert lines[gap + 1].startswith("resumed: ")
