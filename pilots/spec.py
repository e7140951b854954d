"""``PilotSpec``: a pilot as a validated YAML file.

A spec names **tag roles** (``spindle_vibration``) rather than concrete tags, so the same pilot runs on the
simulator, on the lead firm's plant and — once mapped — on a small firm's plant. ``bindings`` maps roles to
the concrete tag ids of one plant; on the simulator the roles bind themselves.

Unknown keys are refused everywhere (``extra="forbid"``); ``factorypilot pilot schema`` prints the JSON
Schema (also in ``docs/pilot-spec.schema.json``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from factorypilot.agents import AgentConfig, Playbook, SafetyPolicy, VerifyConfig, load_playbooks
from factorypilot.agents.detectors import DetectorConfig
from factorypilot.connectors.registry import config_error
from factorypilot.errors import ConfigError
from factorypilot.pilots._eval_scenarios import GateSpec, KpiSpec, Scenario
from factorypilot.pilots._spec_fit import FitStatement
from factorypilot.vocabulary import DataType

__all__ = ["ConnectorSpec", "PilotSpec", "RoleSpec", "SimulatorSpec", "load_spec"]

LocalizedText = str | dict[str, str]
Sector = Literal["mobility", "healthcare", "robotics", "abb"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(_Strict):
    """What a role means, so a person (or ``template map``) can find the right tag on another plant."""

    description: LocalizedText = ""
    kind: Literal["signal", "method"] = Field(
        default="signal", description="a data point, or an OPC UA method (bound like a tag; never observed)")
    unit: str | None = None
    data_type: DataType = DataType.FLOAT
    required: bool = True
    writable: bool = False
    aliases: list[str] = Field(default_factory=list, description="other names seen in plants (Korean/English)")
    typical_range: tuple[float, float] | None = None


class ConnectorSpec(_Strict):
    type: str = Field(default="opcua", description="connector id (entry point in factorypilot.connectors)")
    config: dict[str, Any] = Field(default_factory=dict)


class SimulatorSpec(_Strict):
    model: str
    seed: int = 0
    tick_seconds: float = Field(default=0.1, gt=0)


class PilotSpec(_Strict):
    id: str = Field(pattern=r"^[a-z][a-z0-9-]*$", description="kebab-case pilot id")
    version: str = "0.1.0"
    sector: Sector
    title: LocalizedText
    description: LocalizedText = ""
    roles: dict[str, RoleSpec]
    bindings: dict[str, str] = Field(default_factory=dict, description="role -> tag id on a concrete plant")
    observe: list[str] = Field(default_factory=list, description="roles read on every run (default: all)")
    connector: ConnectorSpec | None = None
    simulator: SimulatorSpec | None = None
    detectors: list[DetectorConfig] = Field(default_factory=list)
    playbooks: list[Playbook] = Field(default_factory=list)
    policy: SafetyPolicy = Field(default_factory=SafetyPolicy)
    verify: VerifyConfig = Field(default_factory=VerifyConfig)
    planner: dict[str, Any] | None = Field(
        default=None, description="LLM planner ({type: llm, provider: openai|ollama, model, base_url, api_key_env}); "
        "absent = the playbook planner (offline default), which is also the LLM planner's fallback")
    knowledge: list[str] = Field(default_factory=list, description="document paths, relative to the spec")
    kpis: KpiSpec = Field(default_factory=KpiSpec, description="KPI names and where they come from")
    scenarios: list[Scenario] | str = Field(default_factory=list,
                                           description="evaluation scenarios, or a YAML file relative to the spec")
    gate: GateSpec = Field(default_factory=GateSpec, description="evaluation thresholds for --gate")
    lang: Literal["en", "ko"] = "en"
    solves: list[FitStatement] = Field(default_factory=list, description="problems it solves (ko/en), for matching")
    needs: list[FitStatement] = Field(default_factory=list, description="data and equipment it cannot work without")
    not_for: list[FitStatement] = Field(default_factory=list, description="situations it does not fit (ko/en)")

    @field_validator("planner")
    @classmethod
    def _planner(cls, v: dict[str, Any] | None) -> dict[str, Any] | None:
        if v is not None:
            from factorypilot.agents.planners._llm_models import ChatModelConfig

            ChatModelConfig.model_validate(v)  # unknown keys and bad values fail at load time
        return v

    @field_validator("detectors")
    @classmethod
    def _known_roles(cls, v: list[Any], info: Any) -> list[Any]:
        roles = info.data.get("roles", {})
        for d in v:
            if roles and d.role not in roles:
                raise ValueError(f"detector watches unknown role {d.role!r}; declare it under roles")
        return v

    def simulator_bindings(self, roles: dict[str, str], methods: dict[str, str]) -> dict[str, str]:
        """Bindings on the reference simulator: signal roles by name; a method role by the first of its
        aliases that names a simulator method (``aliases: [ResetFault, 알람리셋]``)."""
        out = {r: roles[r] for r, rs in self.roles.items() if rs.kind == "signal" and r in roles}
        for r, rs in self.roles.items():
            if rs.kind == "method":
                name = next((a for a in rs.aliases if a in methods), None)
                if name is not None:
                    out[r] = methods[name]
        return out

    def missing_roles(self, bindings: dict[str, str] | None = None) -> list[str]:
        bound = bindings if bindings is not None else self.bindings
        return [r for r, spec in self.roles.items() if spec.required and r not in bound]

    def agent_config(self, bindings: dict[str, str] | None = None, *, lang: str | None = None) -> AgentConfig:
        """Resolve roles against a plant. Refuses to build while a required role is unmapped."""
        bound = dict(self.bindings if bindings is None else bindings)
        missing = self.missing_roles(bound)
        if missing:
            raise ConfigError(f"pilot {self.id!r} has unmapped required roles: {', '.join(missing)}",
                              hint="map them with: factorypilot template map (or add them under 'bindings')")
        signals = [r for r, rs in self.roles.items() if rs.kind == "signal"]
        return AgentConfig(name=self.id, roles=bound, observe=[r for r in (self.observe or signals) if r in bound],
                           detectors=self.detectors, playbooks=self.playbooks, policy=self.policy,
                           verify=self.verify, lang=(lang or self.lang))


def load_spec(path: Path) -> PilotSpec:
    """Read a pilot spec. ``playbooks: playbooks.yaml`` (a file name) is loaded relative to the spec."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"pilot spec not found: {path}", hint="give the path of a pilot.yaml, or a reference "
                          "pilot name: factorypilot pilot list") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read pilot spec: {exc}", where=str(path),
                          hint="a pilot spec is UTF-8 YAML") from exc
    if not isinstance(data, dict):
        raise ConfigError("a pilot spec must be a YAML mapping", where=str(path))
    if isinstance(data.get("playbooks"), str):
        data["playbooks"] = [p.model_dump() for p in load_playbooks(path.parent / data["playbooks"])]
    try:
        return PilotSpec.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, where=str(path)) from exc
