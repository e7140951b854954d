"""``factorypilot llm check``: does this model server answer a planning request, in which mode, how fast?

Against any OpenAI-compatible server (``llm serve``, llama.cpp, vLLM, LM Studio, a GPU box on the LAN):

1. lists the served models (``GET /models``) and takes the first unless one is named;
2. measures speed on a short request: prompt and generation tokens per second and time to first token, from
   the server's own ``timings`` when it reports them (llama.cpp does), else from the wall clock;
3. sends one real planning request per mode — ``json`` (structured output: the plan's JSON schema as
   ``response_format``) and ``tools`` (tool calling through the model's chat template) — through the same
   :class:`~factorypilot.agents.planners.llm.LLMPlanner` the pilots use, on a small CNC vibration event, and
   says whether a valid plan came back, what it proposed, and whether the safety guard would allow it.

The recommended mode is the one that produced a valid plan (``json`` first: it holds small models to the
schema). Nothing is written anywhere; the check needs ``FACTORYPILOT_ALLOW_MODEL_REQUESTS`` not ``false``.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from factorypilot.agents.planners._llm_models import ChatModelConfig, ensure_model_requests_allowed
from factorypilot.agents.planners._llm_prompt import system_prompt
from factorypilot.agents.planners.base import PlanContext
from factorypilot.agents.safety import Guard, SafetyPolicy, TagRule
from factorypilot.errors import ConnectionError_
from factorypilot.vocabulary import DataType, Event, Limits, Sample, Severity, Tag

__all__ = ["CheckReport", "ModeResult", "check_server", "sample_context"]


@dataclass
class ModeResult:
    mode: str
    valid_plan: bool
    source: str
    seconds: float
    prompt_tokens: int
    actions: list[str] = field(default_factory=list)
    guard: list[str] = field(default_factory=list)
    note: str = ""


@dataclass
class CheckReport:
    base_url: str
    model: str
    prompt_tokens_per_s: float | None
    generation_tokens_per_s: float | None
    time_to_first_token_s: float | None
    modes: list[ModeResult] = field(default_factory=list)

    @property
    def recommended_mode(self) -> str | None:
        return next((m.mode for m in self.modes if m.valid_plan), None)


POLICY = SafetyPolicy(name="llm-check", tags=[TagRule(target="feed_override", min=60, max=110, max_step=20)])


def sample_context() -> PlanContext:
    """A CNC whose spindle vibration is above its limit; the feed override may be lowered within policy."""
    tags = {"cnc1.vib": Tag(id="cnc1.vib", name="spindle_vibration", unit="mm/s", data_type=DataType.FLOAT,
                            description="Spindle vibration velocity (RMS)", limits=Limits(low=0.5, high=6.0)),
            "cnc1.feed": Tag(id="cnc1.feed", name="feed_override", unit="%", data_type=DataType.FLOAT,
                             writable=True, description="Feed rate override setpoint", limits=Limits(low=0, high=120))}
    event = Event(tag_id="cnc1.vib", role="spindle_vibration", value=4.1, severity=Severity.WARNING,
                  detector="threshold", message="spindle_vibration 4.1 mm/s above 3.2 for 3 samples",
                  samples=[Sample(tag_id="cnc1.vib", value=v) for v in (3.0, 3.4, 3.8, 4.1)])
    return PlanContext(run_id="llm-check", events=[event], tags=tags,
                       roles={"spindle_vibration": "cnc1.vib", "feed_override": "cnc1.feed"},
                       current={"cnc1.vib": Sample(tag_id="cnc1.vib", value=4.1),
                                "cnc1.feed": Sample(tag_id="cnc1.feed", value=100.0)},
                       write_rules={"cnc1.feed": {"min": 60.0, "max": 110.0, "max_step": 20.0}})


def _http(url: str, body: dict[str, Any] | None, timeout: float, key: str | None) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"} | ({"Authorization": f"Bearer {key}"} if key else {})
    req = urllib.request.Request(url, data=json.dumps(body).encode() if body is not None else None, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            data: dict[str, Any] = json.loads(resp.read().decode("utf-8"))
            return data
    except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
        raise ConnectionError_(f"the model server did not answer: {exc}", where=url,
                               hint="start one with: factorypilot llm serve --model PATH.gguf, or check --base-url"
                               ) from exc


async def _speed(base: str, model: str, limit_s: float, key: str | None) -> tuple[float | None, ...]:
    body = {"model": model, "max_tokens": 24, "temperature": 0,
            "messages": [{"role": "system", "content": system_prompt("json")},
                         {"role": "user", "content": "Reply with a JSON object: diagnosis 'test', no actions."}]}
    t0 = time.perf_counter()
    data = await asyncio.to_thread(_http, f"{base}/chat/completions", body, limit_s, key)
    wall = time.perf_counter() - t0
    timings = data.get("timings") or {}
    usage = data.get("usage") or {}
    if timings:
        return (timings.get("prompt_per_second"), timings.get("predicted_per_second"),
                round(float(timings.get("prompt_ms", 0.0)) / 1000, 3))
    done = usage.get("completion_tokens")
    return (None, round(done / wall, 2) if done else None, None)


async def _plan(cfg: ChatModelConfig, mode: str) -> ModeResult:
    from factorypilot.agents.planners.llm import LLMPlanner

    planner = LLMPlanner.from_config(cfg.model_copy(update={"mode": mode}), [], fallback=None)
    ctx = sample_context()
    t0 = time.perf_counter()
    plan = await planner.plan(ctx)
    seconds = round(time.perf_counter() - t0, 2)
    guard = Guard(POLICY, ctx.roles)
    current = {k: s.value for k, s in ctx.current.items()}
    decisions = [(a.target, guard.evaluate(a, current)) for a in plan.actions if a.kind.value == "write"]
    verdicts = [f"{t}: {d.summary_in('en')} / {d.summary_in('ko')}" for t, d in decisions]
    return ModeResult(mode=mode, valid_plan=plan.source in ("llm", "llm-after-retry"), source=plan.source,
                      seconds=seconds, prompt_tokens=plan.prompt_tokens,
                      actions=[f"{a.kind.value} {a.target}={a.value!r}" for a in plan.actions], guard=verdicts,
                      note=plan.note)


async def check_server(base_url: str, *, model: str | None = None, timeout_s: float = 300.0,
                       max_tokens: int = 400, modes: tuple[str, ...] = ("json", "tools"),
                       api_key_env: str | None = None) -> CheckReport:
    """Probe ``base_url`` (…/v1) as described in the module docstring."""
    ensure_model_requests_allowed(what=f"the model server at {base_url}")
    base = base_url.rstrip("/")
    cfg0 = ChatModelConfig(provider="openai", model=model or "x", base_url=base, api_key_env=api_key_env)
    key = cfg0.api_key()
    secret = key.get_secret_value() if key else None
    if model is None:
        listed = await asyncio.to_thread(_http, f"{base}/models", None, 30.0, secret)
        ids = [str(m.get("id")) for m in listed.get("data", []) if m.get("id")]
        if not ids:
            raise ConnectionError_("the server lists no model", where=f"{base}/models", hint="pass --model NAME")
        model = ids[0]
    prompt_tps, gen_tps, ttft = await _speed(base, model, timeout_s, secret)
    report = CheckReport(base_url=base, model=model, prompt_tokens_per_s=prompt_tps,
                         generation_tokens_per_s=gen_tps, time_to_first_token_s=ttft)
    cfg = ChatModelConfig(provider="openai", model=model, base_url=base, api_key_env=api_key_env,
                          timeout_s=timeout_s, max_tokens=max_tokens, max_retries=1)
    for mode in modes:
        report.modes.append(await _plan(cfg, mode))
    return report
