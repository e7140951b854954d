"""LLM planner without a model server: a scripted FakeChatModel drives the real agent runtime.

Run:  python examples/llm_planner_fake.py [home-dir]

1. an in-memory CNC (Korean tag names) whose spindle vibration is above its limit;
2. the "model" first reads the feed override, then proposes feed 200 % — the safety guard refuses it
   (the policy allows 50..110 %, at most 20 points per change) and the refusal goes back to the model as
   the answer to its ``propose_plan`` call;
3. the model corrects itself to 85 %; the guard allows it — but an LLM-proposed write needs a person by default
   (the rule's ``approval: never`` is the playbook's), so the run waits with the planner's reason and the
   quoted sources; a person approves (``factorypilot runs approve RUN --by NAME`` on the CLI);
4. ``act`` writes it once, ``verify`` reads it back; the ledger records both decisions with the model name and
   the prompt tokens per step, and the approval.

Swap ``FakeChatModel`` for ``make_chat_model({"provider": "ollama", "model": "qwen2.5:7b-instruct"})``
(``pip install "factorypilot[llm]"``) to use a real model.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from langchain_core.messages import AIMessage, BaseMessage, ToolMessage

from factorypilot.agents import AgentConfig, AgentRuntime, PlaybookPlanner, SafetyPolicy, TagRule, load_playbooks
from factorypilot.agents.detectors import ThresholdConfig
from factorypilot.agents.planners.llm import LLMPlanner
from factorypilot.connectors import InMemoryConnector
from factorypilot.testing import FakeChatModel, tool_call
from factorypilot.vocabulary import DataType, Limits, Sample, Tag

TAGS = [
    Tag(id="cnc1.vib", name="주축 진동", unit="mm/s", data_type=DataType.FLOAT),
    Tag(id="cnc1.feed", name="이송 오버라이드", unit="%", data_type=DataType.FLOAT, writable=True,
        limits=Limits(low=0, high=120)),
]


def model_turn(messages: list[BaseMessage], tools: list[dict[str, Any]]) -> AIMessage:
    """What a tool-calling model would do, decided from what it was sent."""
    last = messages[-1]
    if isinstance(last, ToolMessage) and "REFUSED" in str(last.content):
        return AIMessage("", tool_calls=[tool_call("propose_plan", diagnosis="주축 진동 상승: 이송을 85 %로 낮춤",
                                                   actions=[{"kind": "write", "target": "feed_override",
                                                             "value": 85, "reason": "절삭 부하 감소"}])])
    if not any(isinstance(m, ToolMessage) for m in messages):
        return AIMessage("", tool_calls=[tool_call("read_tags", tags=["feed_override", "spindle_vibration"])])
    return AIMessage("", tool_calls=[
        tool_call("propose_write", target="feed_override", value=200, reason="run faster"),
        tool_call("propose_plan", diagnosis="vibration high")])


async def main(home: Path) -> dict[str, Any]:
    config = AgentConfig(
        name="cnc-llm-demo", lang="ko",
        roles={"spindle_vibration": "cnc1.vib", "feed_override": "cnc1.feed"},
        detectors=[ThresholdConfig(role="spindle_vibration", high=4.0, persist=2)],
        playbooks=load_playbooks([{"id": "vib", "when": {"role": "spindle_vibration", "severity": "warning"},
                                   "diagnosis": "vibration high",
                                   "actions": [{"write": "feed_override", "delta": -15, "floor": 60}]}]),
        policy=SafetyPolicy(name="cnc", tags=[TagRule(target="feed_override", min=50, max=110, max_step=20)]),
        verify={"attempts": 3, "interval_s": 0.0, "timeout_s": 0.0},  # type: ignore[arg-type]
    )
    plant = InMemoryConnector(InMemoryConnector.Config(tags=TAGS, values={"cnc1.vib": 5.4, "cnc1.feed": 100.0}))
    model = FakeChatModel(function=model_turn, model_name="scripted-qwen")
    planner = LLMPlanner(model, fallback=PlaybookPlanner(config.playbooks))
    window = {"cnc1.vib": [Sample(tag_id="cnc1.vib", value=v) for v in (4.8, 5.4)]}
    async with plant, AgentRuntime(config, plant, home=home, planner=planner, tag_meta={t.id: t for t in TAGS}) as rt:
        out = await rt.handle(window)
        pending = rt.store.approval(out.run_id)
        assert out.status == "waiting_approval"
        assert pending is not None
        for a in pending.request["actions"]:
            print(f"waiting for a person: {a['target']}={a['value']} because {a['reason']!r} "
                  f"(proposed by {a['requested_by']}; rule {pending.request['approval_rules'][0]})")
        out = await rt.resume(out.run_id, "approve", by="shift-lead")
        assert out.report is not None
        print(f"status: {out.status}  planner: {out.report['planner']}  diagnosis: {out.report['diagnosis']}")
        for rec in rt.ledger.records(run_id=out.run_id):
            if rec.kind == "decision":
                acts = [(a["target"], a["value"]) for a in rec.payload["actions"]]
                print(f"decision by {rec.payload['model']}: {acts}, prompt tokens {rec.payload['prompt_tokens']}")
            elif rec.kind == "refusal":
                print(f"refused {rec.payload['target']}={rec.payload['value']}: {'; '.join(rec.payload['reasons'])}")
        for r in out.report["results"]:
            print(f"result {r['request']['target']}={r['request']['value']}: {r['status']} ({r['reason']})")
        print(f"plant writes: {plant.writes}")
        print(f"model calls: {model.calls}; ledger verifies: {rt.ledger.verify().ok}")
        return out.report


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="fp-llm-"))
    asyncio.run(main(target))
