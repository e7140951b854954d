"""``PilotSpec``: a pilot as a validated YAML file.

A spec names **tag roles** (``spindle_vibration``) rather than concrete tags, so the same pilot runs on the
simulator, on the lead firm's plant and — once mapped — on a small firm's plant. ``bindings`` maps roles to
the concrete tag ids of one plant; on the simulator the roles bind themselves.

Unknown keys are refused everywhere (``extra="forbid"``); ``factorypilot pilot schema`` prints the JSON
Schema (also in ``docs/pilot-spec.schema.json``).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from factorypilot.agents import AgentConfig, Playbook, SafetyPolicy, VerifyConfig, load_playbooks
from factorypilot.agents.detectors import DetectorConfig
from factorypilot.connectors.registry import config_error
from factorypilot.errors import ConfigError
from factorypilot.pilots.evaluation.scenarios import GateSpec, KpiSpec, Scenario
from factorypilot.pilots.spreading.fit import FitStatement
from factorypilot.vocabulary import DataType, Limits, Scalar, Tag

__all__ = ["ArgumentSpec", "ConnectorSpec", "PilotSpec", "RoleSpec", "SimulatorSpec", "load_spec"]

LocalizedText = str | dict[str, str]
Sector = Annotated[str, Field(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$",
                              description="the sector pilot's sector: mobility, healthcare, robotics, abb, or a new "
                                          "one's name (lower-case, dashes), e.g. moulding")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ArgumentSpec(_Strict):
    """One input argument a method role's call passes (``template map`` compares it with the method's
    ``InputArguments``: how many, data type, and the unit its name or description gives)."""

    name: str
    description: LocalizedText = ""
    data_type: DataType = DataType.FLOAT
    unit: str | None = None


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
    level: Literal["equipment", "line", "site"] = Field(
        default="equipment", description="where the signal lives: on the one machine the pilot watches "
        "(template map binds it inside that machine's subtree), on its line, or anywhere on the site")
    arguments: list[ArgumentSpec] | None = Field(
        default=None, description="method roles: the input arguments a call passes ([] = none); a method that "
        "takes other arguments is never mapped unasked. Not given: arguments are not compared")
    confirm: dict[str, Scalar] = Field(
        default_factory=dict, description="method roles: the read-back (role -> value) that confirms a call "
        "(e.g. {fault_code: 0} after a fault reset); used when a playbook step names no `expect`")
    confirm_args: dict[str, str] = Field(
        default_factory=dict, description="method roles: read-backs that must equal an argument of the call "
        "(role -> argument name), e.g. {speed_override: percent} after a speed-override setter")

    @model_validator(mode="after")
    def _confirm_args_named(self) -> RoleSpec:
        names = [a.name for a in self.arguments or []]
        unknown = [a for a in self.confirm_args.values() if a not in names]
        if unknown:
            raise ValueError(f"confirm_args names argument(s) {', '.join(unknown)} the role does not declare "
                             f"(arguments: {', '.join(names) or 'none'})")
        return self

    def read_back(self, args: Sequence[Scalar] = ()) -> dict[str, Scalar]:
        """The read-back (role -> value) that confirms a call of this method role with ``args``."""
        names = [a.name for a in self.arguments or []]
        out = dict(self.confirm)
        for role, arg in self.confirm_args.items():
            i = names.index(arg)
            if i < len(args):
                out[role] = args[i]
        return out


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
    absent: list[str] = Field(default_factory=list, description="roles this plant has no signal for (declared "
                              "by a person in template map); what they feed is disabled")
    absent_acknowledged: list[str] = Field(
        default_factory=list, description="absent roles that feed an interlock, acknowledged by a person: the "
        "interlock then blocks every action with 'interlock signal not bound'")
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

    @model_validator(mode="after")
    def _method_arguments(self) -> PilotSpec:
        """A call passes the arguments its method role declares; a method rule bounds them by name, in order."""
        for pb in self.playbooks:
            for a in pb.actions:
                rs = self.roles.get(a.call or "")
                if rs is not None and rs.arguments is not None and len(a.args) != len(rs.arguments):
                    names = ", ".join(x.name for x in rs.arguments) or "none"
                    raise ValueError(f"playbook {pb.id}: call {a.call} passes {len(a.args)} argument(s); the role "
                                     f"declares {len(rs.arguments)} ({names})")
        for rule in self.policy.methods:
            rs = self.roles.get(rule.target)
            if rule.args is None or rs is None or rs.arguments is None:
                continue
            want, have = [x.name for x in rs.arguments], [x.name for x in rule.args]
            if have != want:
                raise ValueError(f"method rule {rule.target}: args {', '.join(have) or 'none'} do not match the "
                                 f"role's arguments {', '.join(want) or 'none'} (same names, same order)")
        return self

    @model_validator(mode="after")
    def _absent_roles(self) -> PilotSpec:
        unknown = [r for r in self.absent if r not in self.roles]
        if unknown:
            raise ValueError(f"absent names unknown role(s) {', '.join(unknown)}")
        locks = self.interlock_roles()
        unacked = [r for r in self.absent if r in locks and r not in self.absent_acknowledged]
        if unacked:
            raise ValueError(f"role {unacked[0]!r} feeds interlock {', '.join(locks[unacked[0]])} and is declared "
                             f"absent without acknowledgement; acknowledge it (template map --ack-interlock "
                             f"{unacked[0]}) so every action is blocked with 'interlock signal not bound'")
        return self

    def feeds(self, role: str) -> list[str]:
        """What ``role`` feeds: detectors, playbooks (trigger, steps, read-backs), interlocks, write rules, KPIs."""
        out = [f"detector {d.kind} on {role}" for d in self.detectors if d.role == role]
        for pb in self.playbooks:
            if pb.when.role == role:
                out.append(f"playbook {pb.id} (trigger)")
            for a in pb.actions:
                if role in (a.write, a.call):
                    out.append(f"playbook {pb.id}: step {'write' if a.write else 'call'} {role}")
                elif role in a.expect:
                    out.append(f"playbook {pb.id}: read-back confirming {a.write or a.call}")
        out += [f"interlock {name}" for name in self.interlock_roles().get(role, [])]
        out += [f"write rule {r.target}" for r in self.policy.tags if r.target == role]
        out += [f"method rule {r.target}" for r in self.policy.methods if r.target == role]
        out += [f"method {m} read-back" for m, rs in self.roles.items() if role in rs.confirm]
        if self.kpis.state_role == role:
            out.append("KPIs " + ", ".join(self.kpis.names) + " (machine state)")
        return out

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

    def missing_roles(self, bindings: dict[str, str] | None = None,
                      absent: list[str] | None = None) -> list[str]:
        bound = bindings if bindings is not None else self.bindings
        gone = set(self.absent if absent is None else absent)
        return [r for r, spec in self.roles.items() if spec.required and r not in bound and r not in gone]

    def interlock_roles(self) -> dict[str, list[str]]:
        """Role -> names of the interlocks that test it."""
        out: dict[str, list[str]] = {}
        for lock in self.policy.interlocks:
            for cond in lock.when:
                if cond.tag in self.roles:
                    out.setdefault(cond.tag, []).append(lock.name)
        return out

    def _with_absent(self, bound: dict[str, str]) -> tuple[list[Any], list[Any], SafetyPolicy]:
        """Detectors, playbooks and policy with what the absent roles feed taken out; an interlock on an
        absent (acknowledged) signal becomes one that always blocks, saying the signal is not bound."""
        from factorypilot.agents.safety import Condition, Interlock

        gone = {r for r in self.absent if r not in bound}
        # an optional method role this plant has not bound: its step is left out (never a call to a node id
        # made of the role's name)
        uncallable = gone | {r for r, rs in self.roles.items() if rs.kind == "method" and r not in bound}
        detectors = [d for d in self.detectors if d.role not in gone]
        playbooks = []
        for pb in self.playbooks:
            if pb.when.role in gone:
                continue
            actions = [a for a in pb.actions if a.write not in gone and a.call not in uncallable]
            actions = [a.model_copy(update={"expect": {k: v for k, v in a.expect.items() if k not in gone}})
                       for a in actions]
            playbooks.append(pb.model_copy(update={"actions": actions}))
        locks = []
        for lock in self.policy.interlocks:
            unbound = [c.tag for c in lock.when if c.tag in gone]
            if unbound:
                locks.append(Interlock(name=lock.name, when=[Condition(tag=unbound[0], op="==", value=True)],
                                       message=f"interlock signal not bound: {', '.join(unbound)} (declared absent "
                                               "on this plant; no action is allowed)"))
            else:
                locks.append(lock)
        policy = self.policy.model_copy(update={"interlocks": locks})
        return detectors, playbooks, policy

    def confirmed_playbooks(self) -> list[Any]:
        """The playbooks with each method step's read-back filled from its role (``confirm``/``confirm_args``)
        where the step names no ``expect`` — what the agent runs."""
        return _confirmed(self.playbooks, self.roles)

    def tag_meta(self, bindings: dict[str, str], *, lang: str | None = None) -> dict[str, Tag]:
        """What the spec says about each bound role's tag (unit, type, writable, typical range, description):
        the metadata an LLM planner's prompt shows when the plant's own browse data is not at hand."""
        from factorypilot.agents.planners.base import localized

        out: dict[str, Tag] = {}
        for role, tag_id in bindings.items():
            rs = self.roles.get(role)
            if rs is None or rs.kind != "signal":
                continue
            rng = rs.typical_range
            out[tag_id] = Tag(id=tag_id, name=role, description=localized(rs.description, lang or self.lang),
                              unit=rs.unit, data_type=rs.data_type, writable=rs.writable,
                              limits=Limits(low=rng[0], high=rng[1]) if rng else None)
        return out

    def agent_config(self, bindings: dict[str, str] | None = None, *, lang: str | None = None) -> AgentConfig:
        """Resolve roles against a plant. Refuses to build while a required role is unmapped."""
        bound = dict(self.bindings if bindings is None else bindings)
        missing = self.missing_roles(bound)
        if missing:
            raise ConfigError(f"pilot {self.id!r} has unmapped required roles: {', '.join(missing)}",
                              hint="map them with: factorypilot template map (or add them under 'bindings')")
        signals = [r for r, rs in self.roles.items() if rs.kind == "signal"]
        detectors, playbooks, policy = self._with_absent(bound)
        return AgentConfig(name=self.id, roles=bound, observe=[r for r in (self.observe or signals) if r in bound],
                           detectors=detectors, playbooks=_confirmed(playbooks, self.roles), policy=policy,
                           verify=self.verify, lang=(lang or self.lang))


def _confirmed(playbooks: list[Any], roles: dict[str, RoleSpec]) -> list[Any]:
    """A method step without ``expect`` takes its role's read-back (``confirm``, and ``confirm_args`` filled
    with the step's arguments), so a confirmed call is done."""
    out = []
    for pb in playbooks:
        actions = [a.model_copy(update={"expect": roles[a.call].read_back(a.args)})
                   if a.call in roles and not a.expect and roles[a.call].read_back(a.args) else a
                   for a in pb.actions]
        out.append(pb.model_copy(update={"actions": actions}))
    return out


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
