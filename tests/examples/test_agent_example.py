from __future__ import annotations

import importlib.util
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agent_with_approval.py"


async def test_agent_example_runs(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("agent_with_approval", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = await module.main(tmp_path)
    assert out == {"writes": [("line1.cnc1.feed", 90.0)], "status": "done", "ledger_ok": True}
