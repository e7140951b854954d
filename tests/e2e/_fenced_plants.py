"""A committed foreign plant plus the safety-fence door switch the firm wired to its line PLC (a line-level
Boolean ``FENCE_DR``, "안전펜스 도어", closed = False). Shared by the e2e tests that bind the interlock signal."""

from __future__ import annotations

import json
from pathlib import Path


def fenced_plant(plant: Path, line_browse: str, door_id: str, out: Path) -> Path:
    """Write ``plant`` with a ``FENCE_DR`` variable (node id ``door_id``) added to its first line object, whose
    browse name must be ``line_browse``, to ``out`` and return ``out``."""
    desc = json.loads(plant.read_text(encoding="utf-8"))
    line = desc["objects"][0]["children"][0]
    assert line["browse"] == line_browse, (plant, line["browse"])
    line["variables"].append({"browse": "FENCE_DR", "id": door_id, "display": {"ko": "안전펜스 도어"},
                              "type": "Boolean", "value": False})
    out.write_text(json.dumps(desc, ensure_ascii=False), encoding="utf-8")
    return out
