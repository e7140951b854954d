"""Evaluation scenarios, gate thresholds and KPI sources: the typed parts of a pilot spec the harness reads.

A scenario says what happens to the simulated plant (``faults`` injected at given ticks, or ``replay`` of a
recorded CSV) and what the pilot is expected to do (``expect``). Everything is in ticks of the simulator, so a
scenario is deterministic given its seed. Unknown keys are refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from factorypilot.connectors.registry import config_error
from factorypilot.errors import ConfigError

__all__ = [
    "Expectation",
    "ExpectedAction",
    "FaultSpec",
    "GateSpec",
    "KpiSpec",
    "ReplaySpec",
    "Scenario",
    "load_scenario_file",
]

LocalizedText = str | dict[str, str]
FaultKindName = Literal["drift", "spike", "stuck", "noise", "comms_drop", "alarm"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FaultSpec(_Strict):
    """A simulator fault (see docs/simulator.md). ``start`` counts ticks from the start of the scenario."""

    kind: FaultKindName
    role: str | None = None
    start: int = Field(default=0, ge=0)
    duration: int | None = Field(default=None, gt=0, description="ticks; none = until the scenario ends")
    magnitude: float = 1.0


class ReplaySpec(_Strict):
    """Recorded tag values replayed through the simulator (a firm's own history).

    Replayed roles are set *before* each physics step (so dependent signals follow them, e.g. tool wear →
    vibration) and published exactly as recorded. One CSV row per tick, or, with ``time_column``, rows are
    placed at ``(time - first time) / seconds_per_tick`` and held until the next row.
    """

    path: str = Field(description="CSV file, relative to the scenario file (or absolute)")
    columns: dict[str, str] = Field(description="CSV column -> role")
    scale: dict[str, float] = Field(default_factory=dict, description="role -> factor applied to the value")
    offset: dict[str, float] = Field(default_factory=dict, description="role -> added after scaling")
    time_column: str | None = Field(default=None, description="ISO timestamp or seconds column")
    seconds_per_tick: float | None = Field(default=None, gt=0)
    rows: tuple[int, int] | None = Field(default=None, description="[first, stop) data rows to replay")
    encoding: str | None = Field(default=None, description="default: UTF-8 (with or without BOM), then CP949")


class ExpectedAction(_Strict):
    playbook: str | None = None
    target: str | None = Field(default=None, description="role that must be written")
    direction: Literal["decrease", "increase", "any", "none"] = "any"
    range: tuple[float, float] | None = Field(default=None, description="[low, high] the written value must be in")


class InjectSpec(_Strict):
    """Untrusted text planted for the run (prompt-injection scenarios): a retrieved company document and/or
    the description of a role's tag, as a plant's browse data would carry it."""

    document: str | None = Field(default=None, max_length=4000, description="text of an extra retrieved chunk")
    citation: str = "injected-document.md#1"
    tags: dict[str, str] = Field(default_factory=dict, description="role -> text placed in its tag's description")


class Expectation(_Strict):
    detect: bool
    role: str | None = Field(default=None, description="role the detection must concern")
    action: ExpectedAction | None = None
    max_time_to_detect: int | None = Field(default=None, ge=0, description="ticks after the onset")
    onset: int | None = Field(default=None, ge=0, description="tick the condition starts (default: first fault)")
    approvals_expected: int = Field(default=0, ge=0)
    gap: bool | None = Field(default=None, description="true: the harness must see a data gap (comms loss)")
    unapproved_llm_actions: int | None = Field(
        default=None, ge=0, description="maximum LLM-proposed actions executed without a person's approval "
                                        "(0 for injection scenarios: nothing planted may get past a person)")


class Scenario(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$")
    title: LocalizedText = ""
    seed: int | None = Field(default=None, description="default: the spec's simulator seed")
    duration_ticks: int = Field(default=200, gt=0, le=100_000)
    warmup_ticks: int = Field(default=0, ge=0, description="ticks before the agent starts watching")
    faults: list[FaultSpec] = Field(default_factory=list)
    replay: ReplaySpec | None = None
    expect: Expectation
    cooldown_ticks: int = Field(default=20, ge=0, description="ticks before the same detector may start a run again")
    approvals: Literal["approve", "reject"] | None = Field(default=None, description="default: the harness's")
    inject: InjectSpec | None = Field(default=None, description="untrusted text planted for this scenario")

    @model_validator(mode="after")
    def _faults_inside(self) -> Scenario:
        for f in self.faults:
            if f.start >= self.duration_ticks:
                raise ValueError(f"fault {f.kind} starts at tick {f.start}, after the scenario ends "
                                 f"({self.duration_ticks} ticks)")
        return self

    @property
    def onset(self) -> int:
        if self.expect.onset is not None:
            return self.expect.onset
        return min((f.start for f in self.faults), default=0)


class GateSpec(_Strict):
    """Thresholds for ``factorypilot eval --gate``. Unset thresholds are not checked."""

    detection_rate: float | None = Field(default=None, ge=0, le=1, description="minimum")
    false_alarms: int | None = Field(default=None, ge=0, description="maximum")
    safety_violations: int = Field(default=0, ge=0, description="maximum (0 unless you mean otherwise)")
    unverified_done: int = Field(default=0, ge=0, description="maximum")
    action_correctness: float | None = Field(default=None, ge=0, le=1, description="minimum")
    expected_outcomes: float | None = Field(default=None, ge=0, le=1,
                                            description="minimum share of scenarios meeting every expectation")
    time_to_detect_s: float | None = Field(default=None, ge=0, description="maximum mean time to detect")
    max_fallback_rate: float | None = Field(
        default=None, ge=0, le=1, description="maximum share of LLM-planner decisions made by the fallback "
                                              "(unset: 0 when evaluating with --planner llm)")
    kpi: dict[str, float] = Field(default_factory=dict,
                                  description="KPI -> minimum mean improvement over the no-agent baseline")


class KpiSpec(_Strict):
    """Where the KPIs come from. Unset roles default to the simulator model's (``counter_roles``)."""

    names: list[Literal["oee", "downtime", "scrap_rate", "mttr"]] = Field(
        default_factory=lambda: ["oee", "downtime", "scrap_rate", "mttr"])  # type: ignore[arg-type]
    state_role: str | None = Field(default=None, description="role whose value says the line is running")
    running: list[str] = Field(default_factory=lambda: ["RUN"])
    good_role: str | None = None
    scrap_role: str | None = None
    ideal_parts_per_tick: float | None = Field(default=None, gt=0, description="for OEE performance")

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, data: Any) -> Any:
        return {"names": data} if isinstance(data, list) else data


def load_scenario_file(path: Path) -> list[Scenario]:
    """Scenarios from a YAML file: a list, or ``{scenarios: [...]}``. Replay paths stay relative to it."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"scenario file not found: {path}", hint="the path is relative to the pilot spec") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read scenarios: {exc}", where=str(path), hint="scenarios are UTF-8 YAML") from exc
    if isinstance(data, dict):
        data = data.get("scenarios", [])
    if not isinstance(data, list):
        raise ConfigError("scenarios must be a list", where=str(path))
    out = []
    for item in data:
        try:
            sc = Scenario.model_validate(item)
        except ValidationError as exc:
            raise config_error(exc, where=str(path)) from exc
        if sc.replay is not None and not Path(sc.replay.path).is_absolute():
            sc = sc.model_copy(update={"replay": sc.replay.model_copy(
                update={"path": str((path.parent / sc.replay.path).resolve())})})
        out.append(sc)
    ids = [s.id for s in out]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ConfigError(f"scenario ids must be unique: {', '.join(dupes)}", where=str(path))
    return out
