"""A lead firm's first agent in 60 lines: an in-memory plant, a playbook, a policy that asks a person.

Run:  python examples/agent_with_approval.py
It detects a vibration excursion, proposes lowering the feed override, waits for approval, then executes the
write exactly once, reads it back and prints the verified ledger.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from factorypilot import DataType, Limits, Sample, Tag
from factorypilot.agents import AgentConfig, AgentRuntime, SafetyPolicy, TagRule, load_playbooks
from factorypilot.agents.detectors import ThresholdConfig
from factorypilot.connectors import InMemoryConnector

TAGS = [
    Tag(id="line1.cnc1.vib", name="주축 진동", unit="mm/s", data_type=DataType.FLOAT),
    Tag(id="line1.cnc1.feed", name="이송 오버라이드", unit="%", data_type=DataType.FLOAT, writable=True,
        limits=Limits(low=0, high=120)),
]
PLAYBOOKS = [{
    "id": "vibration-high",
    "when": {"role": "vibration", "severity": "warning"},
    "diagnosis": {"en": "Spindle vibration high", "ko": "주축 진동 상승"},
    "actions": [{"write": "feed", "delta": -10, "reason": {"en": "reduce load", "ko": "부하 감소"}}],
}]


async def main(home: Path) -> dict[str, object]:
    plant = InMemoryConnector(InMemoryConnector.Config(tags=TAGS, values={"line1.cnc1.vib": 6.1,
                                                                          "line1.cnc1.feed": 100.0}))
    config = AgentConfig(
        name="example-pilot", lang="ko",
        roles={"vibration": "line1.cnc1.vib", "feed": "line1.cnc1.feed"},
        detectors=[ThresholdConfig(role="vibration", high=4.0)],
        playbooks=load_playbooks(PLAYBOOKS),
        policy=SafetyPolicy(tags=[TagRule(target="feed", min=60, max=110, max_step=20, approval="always")]),
    )
    async with plant, AgentRuntime(config, plant, home=home) as rt:
        waiting = await rt.handle({"line1.cnc1.vib": [Sample(tag_id="line1.cnc1.vib", value=6.1)]})
        print("status:", waiting.status, "— proposed:", waiting.waiting["actions"] if waiting.waiting else None)
        done = await rt.resume(waiting.run_id, "approve", by="김민수")
        result = done.report["results"][0] if done.report else {}
        print("result:", result.get("status"), "read back", (result.get("read_back") or {}).get("value"))
        print("plant writes:", plant.writes, "— ledger intact:", rt.ledger.verify().ok)
        return {"writes": plant.writes, "status": result.get("status"), "ledger_ok": rt.ledger.verify().ok}


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(main(Path(tmp)))
