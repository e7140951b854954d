"""``template map``: propose role → tag bindings for a firm's plant, with a calibrated confidence per role.

1. **Which machine.** The browse is split into machines and lines (:mod:`._tpl_equipment`). Every machine is
   scored as a host of the template (how well its own tags fit the template's equipment-level roles); when
   several fit about equally (two robots of one kind), the proposal is *ambiguous* and the firm says which
   (``--equipment`` or the prompt) — until then nothing is ``high``. A machine whose OPC 40001
   Identification or type says it is another class of machine (a machining center for the robotics
   template) is not offered while one that does not contradict fits as well (:mod:`._machines`).
   Equipment-level roles bind only inside the chosen machine, line-level roles on its line, site-level roles
   anywhere.
2. **Which tag.** Each role is scored against the tags in its scope (:mod:`._tpl_score`) and tags are assigned
   one-to-one, best pairs first. Method roles are matched against the machine's methods.
3. **How sure.** ``high`` only when the name is a strong match, *no* evidence conflicts (unit class, data type,
   access, counter vs analog, ranges), nothing could not be checked, the runner-up is clearly worse and the
   machine is not in doubt. Everything else is put to a person. A role with no plausible tag on the machine
   is proposed as *absent* (``none``) — the firm confirms that the plant has no such signal.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from factorypilot.connectors.base import BaseConnector
from factorypilot.errors import ConfigError
from factorypilot.pilots.spec import PilotSpec
from factorypilot.pilots.spreading._equipment import Layout, layout_of
from factorypilot.pilots.spreading._lexicon import concepts
from factorypilot.pilots.spreading._machines import MachineIds, choose_host, identify, template_class
from factorypilot.pilots.spreading._proposal import Candidate, Confidence, MappingProposal, RoleMapping
from factorypilot.pilots.spreading._score import RoleProfile, Score, TagFacts, role_profile, score_method, score_pair
from factorypilot.vocabulary import Scalar, Tag

__all__ = ["ABSENT", "Candidate", "Confidence", "MappingProposal", "MethodInfo", "PlantFacts", "RoleMapping",
           "answers_meta",
           "load_answers", "propose_mapping", "resolve_answers", "sample_plant"]

ABSENT = "absent"
_ABSENT_WORDS = {"absent", "없음", "none", "null", "n/a", "na"}
_MIN_NAME = 0.3        # below this a tag is not a candidate at all
_HIGH_NAME = 0.6
_HIGH_MARGIN = 0.3
_AMBIGUOUS = 0.85      # a second machine this close to the best one could host the template too


@dataclass(frozen=True)
class MethodInfo:
    id: str
    name: str
    path: tuple[str, ...]
    display: tuple[str, ...] = ()
    description: str = ""
    inputs: tuple[tuple[str, str, str], ...] = ()   # (name, data type, description) of each input argument


@dataclass
class PlantFacts:
    """What a browse found besides tags (OPC UA: type definitions, unit codes, access levels, methods)."""

    object_types: dict[str, str] = field(default_factory=dict)
    unit_codes: dict[str, str] = field(default_factory=dict)
    writable_by_someone: dict[str, bool] = field(default_factory=dict)
    methods: list[MethodInfo] = field(default_factory=list)
    variable_types: dict[str, str] = field(default_factory=dict)   # tag id -> "AnalogItemType" ...

    @classmethod
    def of(cls, connector: Any) -> PlantFacts:
        """Read the connector's ``structure`` (OPC UA) if it has one."""
        st = getattr(connector, "structure", None)
        if st is None:
            return cls()
        methods = [MethodInfo(m.node_id, m.browse_name, tuple(m.path), tuple(m.display_names.values()),
                              m.description, tuple(m.inputs)) for m in st.methods]
        return cls(dict(st.object_types), dict(st.unit_codes), dict(st.writable_by_someone), methods,
                   dict(getattr(st, "variable_types", {})))


def _label(tag: Tag) -> str:
    ko = tag.display_names.get("ko")
    return f"{tag.name} ({ko})" if ko and ko != tag.name else tag.name


def _confidence(best: Score, margin: float, ambiguous: bool) -> Confidence:
    if best.conflicts:
        return "low"
    if best.name >= _HIGH_NAME and margin >= _HIGH_MARGIN and not best.missing and not ambiguous:
        return "high"
    if best.name >= 0.4 and margin >= 0.1:
        return "medium"
    return "low"


def _assign(scores: dict[str, list[Score]]) -> dict[str, Score]:
    """Greedy one-to-one assignment, best pairs first (a tag serves at most one role)."""
    pairs = sorted(((s.total, role, s) for role, ss in scores.items() for s in ss if s.name >= _MIN_NAME),
                   key=lambda p: -p[0])
    taken: set[str] = set()
    chosen: dict[str, Score] = {}
    for _, role, s in pairs:
        if role in chosen or s.tag.id in taken:
            continue
        chosen[role] = s
        taken.add(s.tag.id)
    return chosen


@dataclass
class _Scored:
    profiles: dict[str, RoleProfile]
    all_scores: dict[str, list[Score]]   # role -> one score per candidate (tags or methods)
    layout: Layout


def _score_all(spec: PilotSpec, tags: Sequence[Tag], samples: Mapping[str, Sequence[Scalar]],
               facts: PlantFacts) -> _Scored:
    layout = layout_of(tags, facts.object_types, {m.id: m.path for m in facts.methods})
    profiles = {r: role_profile(r, rs) for r, rs in spec.roles.items()}
    out: dict[str, list[Score]] = {}
    for role, prof in profiles.items():
        if prof.spec.kind == "method":
            out[role] = []
            for m in facts.methods:
                s = score_method(prof, m.name, m.display, m.description, layout.parts.get(m.id, []), m.inputs)
                s.tag = Tag(id=m.id, name=m.name, display_names={"ko": m.display[0]} if m.display else {},
                            description=m.description)
                out[role].append(s)
            continue
        out[role] = [score_pair(prof, t, samples.get(t.id, ()), TagFacts(
            tuple(layout.parts.get(t.id, [])), facts.unit_codes.get(t.id), facts.writable_by_someone.get(t.id),
            facts.variable_types.get(t.id)))
            for t in tags]
    return _Scored(profiles, out, layout)


def _fit(sc: _Scored, spec: PilotSpec, host: str, *, required_only: bool = False) -> float:
    """How well ``host`` (a machine path) hosts the template: its equipment-level roles' best picks
    (``required_only``: only the roles the template cannot run without — an optional vendor method more on
    one of two robots says nothing about which robot the firm means)."""
    eq = [r for r, rs in spec.roles.items() if rs.level == "equipment"] or list(spec.roles)
    if required_only:
        eq = [r for r in eq if spec.roles[r].required] or eq
    level = "equipment" if any(rs.level == "equipment" for rs in spec.roles.values()) else "line"
    scoped = {r: [s for s in sc.all_scores[r] if sc.layout.in_scope(s.tag.id, host, level)] for r in eq}
    picks = _assign(scoped)
    return sum(max(0.0, min(s.name, 1.0)) * (0.5 if s.conflicts else 1.0) for s in picks.values())


def propose_mapping(spec: PilotSpec, tags: Sequence[Tag], samples: Mapping[str, Sequence[Scalar]] | None = None,
                    *, equipment: str | None = None, facts: PlantFacts | None = None) -> MappingProposal:
    """Choose the machine, then score every role in its scope and propose one tag per role (CPU only).

    ``equipment`` names the machine (its browse name, or part of its asset path) when several could host
    the template; without it the best-fitting machine is taken and, if another fits about as well, the
    proposal is ``ambiguous`` and nothing in it is ``high``.
    """
    facts = facts or PlantFacts()
    sc = _score_all(spec, tags, samples or {}, facts)
    layout = sc.layout
    hosts = [m for m in layout.machines if not layout.is_controller(m)] or layout.machines
    if not any(rs.level == "equipment" for rs in spec.roles.values()):  # a line template: one host per line
        hosts = list({layout.line_of_machine[m]: m for m in reversed(layout.machines)}.values())[::-1]
    fits = {m: round(_fit(sc, spec, m), 3) for m in hosts}
    ids = identify(layout, tags, samples or {})
    wanted = template_class(spec.sector, spec.title)
    ambiguous, left_out = False, dict[str, str]()
    if equipment is not None:
        chosen_list = layout.find(equipment)
        if not chosen_list:
            raise ConfigError(f"no machine matching {equipment!r} on this plant",
                              hint="machines found: " + ", ".join("/".join(m.split("/")[-2:]) for m in layout.machines))
        host: str | None = max(chosen_list, key=lambda m: fits.get(m, 0.0))
        alternatives: list[str] = []
    else:
        core = {m: _fit(sc, spec, m, required_only=True) for m in hosts}
        host, alternatives, left_out = choose_host(fits, core, ids, wanted, _AMBIGUOUS)
        ambiguous = bool(alternatives)
    unlike = ids.contradicts(host, wanted) if host and equipment is None else None
    out: dict[str, RoleMapping] = {}
    scoped: dict[str, list[Score]] = {}
    driver, driven_by = layout.controller_of(host) if host else (None, "")
    controllers = [driver] if driver else layout.controllers(host) if host else []
    for role, prof in sc.profiles.items():
        level = prof.spec.level
        scoped[role] = [s for s in sc.all_scores[role]
                        if host is not None and (layout.in_scope(s.tag.id, host, level) or (
                            prof.spec.kind == "method" and layout.machine_of.get(s.tag.id) in controllers))]
    chosen = _assign(scoped)
    for role, prof in sc.profiles.items():
        rs = prof.spec
        ranked_scores = sorted(scoped[role], key=lambda s: -s.total)
        cands = [Candidate(tag_id=s.tag.id, label=_label(s.tag), score=round(s.total, 3),
                           equipment=_where(layout, s.tag.id), reasons=s.reasons)
                 for s in ranked_scores[:5] if s.name >= _MIN_NAME * 0.5]
        base = dict(role=role, required=rs.required, kind=rs.kind, level=rs.level, candidates=cands,
                    feeds=spec.feeds(role))
        best = chosen.get(role)
        if best is None:
            why = [f"no tag on {layout.name(host)} looks like this role — is it absent on this plant?"] if host \
                else ["no machine on this plant fits the template"]
            out[role] = RoleMapping(tag_id=None, reasons=why, **base)
            continue
        runner = max((s.total for s in scoped[role] if s.tag.id != best.tag.id), default=0.0)
        margin = best.total - runner
        reasons = list(best.reasons)
        if ambiguous:
            reasons.append("several machines fit: " + ", ".join(_ident(layout, ids, m) for m in [host, *alternatives])
                           + " — say which (--equipment)")
        conf = _confidence(best, margin, ambiguous)
        if unlike is not None and conf == "high":
            conf = "medium"
            reasons.append(f"{layout.name(host)}: {unlike} — is it the right machine?")
        on_driver = driver is not None and layout.machine_of.get(best.tag.id) == driver
        elsewhere = None if on_driver else _foreign_machine(layout, best.tag.id, host, prof)
        if elsewhere and conf == "high":
            conf = "medium"
            reasons.append(f"on another machine ({elsewhere}) whose name says nothing of this role: is it "
                           f"this {layout.name(host)}'s signal?")
        if rs.kind == "method" and layout.machine_of.get(best.tag.id) in controllers:
            if driver:
                reasons.append(f"on the controller of {layout.name(host)}: {driven_by}")
            else:
                reasons.append(f"on the controller {layout.name(layout.machine_of.get(best.tag.id))} of this motion "
                               "device system (OPC 40010), which has several: does it act on this robot?")
                conf = "medium" if conf == "high" else conf
        if conf == "high" and rs.kind == "method" and not best.exact and best.name < 0.8:
            conf = "medium"  # a method moves the machine: its name must be unmistakable to be taken unasked
        out[role] = RoleMapping(tag_id=best.tag.id, label=_label(best.tag), equipment=_where(layout, best.tag.id),
                                score=round(best.total, 3), margin=round(margin, 3), confidence=conf,
                                reasons=reasons, conflicts=best.conflicts, **base)
    return MappingProposal(pilot=spec.id, roles=out, equipment=host, alternatives=alternatives,
                           ambiguous=ambiguous, machines=fits,
                           identification={m: s for m in layout.machines if (s := ids.summary(m))},
                           left_out=left_out)


def _foreign_machine(layout: Layout, tag_id: str, host: str | None, prof: RoleProfile) -> str | None:
    """The other machine a line-level pick sits on, unless that machine's name matches the role (an AHU for
    a fan setpoint, a sealer for a sealing temperature)."""
    machine = layout.machine_of.get(tag_id)
    if machine is None or machine == host or host is None:
        return None
    if concepts(layout.name(machine)) & set(prof.weights):
        return None
    return layout.name(machine)


def _ident(layout: Layout, ids: MachineIds, machine: str | None) -> str:
    summary = ids.summary(machine) if machine else ""
    return f"{layout.name(machine)} ({summary})" if summary else layout.name(machine)


def _where(layout: Layout, tag_id: str) -> str:
    m = layout.machine_of.get(tag_id)
    return layout.name(m) if m else layout.name(layout.line_of.get(tag_id)) + " (line)"


async def sample_plant(connector: BaseConnector[Any], *, reads: int = 3,
                       interval_s: float = 0.3) -> tuple[list[Tag], dict[str, list[Scalar]]]:
    """Browse the plant and read every tag ``reads`` times over a short window (value behaviour)."""
    tags = await connector.browse()
    values: dict[str, list[Scalar]] = {t.id: [] for t in tags}
    ids = [t.id for t in tags]
    for i in range(reads):
        if i:
            await asyncio.sleep(interval_s)
        for sample in await connector.read(ids):
            if sample.quality.value == "good":
                values.setdefault(sample.tag_id, []).append(sample.value)
    return tags, values


def load_answers(path: Path) -> dict[str, str | None]:
    """An answers file: YAML ``role: tag`` (tag id, browse name or display name).

    ``null`` / ``absent`` / ``없음`` = the plant has no such signal (the role is declared absent); ``skip`` =
    decide later (the role stays unmapped). A value
    starting with ``?`` is a guess written by ``--write-answers`` that nobody confirmed: refused.
    ``acknowledge: [role, ...]`` acknowledges absent roles that feed an interlock.
    """
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"answers file not found: {path}",
                          hint="write one with: factorypilot template map --write-answers FILE") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read answers file: {exc}", where=str(path),
                          hint="a UTF-8 YAML mapping of role: tag") from exc
    if not isinstance(data, dict):
        raise ConfigError("the answers file must be a YAML mapping of role: tag", where=str(path))
    out: dict[str, str | None] = {}
    for k, v in data.items():
        if k in ("acknowledge", "equipment"):
            continue
        if v is not None and not isinstance(v, str):
            raise ConfigError(f"answer for role {k!r} must be a tag (string) or null", where=str(path))
        if isinstance(v, str) and v.startswith("?"):
            raise ConfigError(f"role {k!r}: {v[1:]!r} is an unconfirmed guess", where=str(path),
                              hint="remove the '?' to confirm it, give the right tag, or write null if the plant "
                                   "has no such signal")
        if isinstance(v, str) and v.strip().lower() == "skip":
            out[str(k)] = None  # decide later: the role stays unmapped (a required one blocks the pilot)
        else:
            out[str(k)] = ABSENT if v is None or v.strip().lower() in _ABSENT_WORDS else v
    return out


def answers_meta(path: Path) -> tuple[list[str], str | None]:
    """``acknowledge:`` (absent interlock roles) and ``equipment:`` of an answers file."""
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    ack = data.get("acknowledge") or []
    if not isinstance(ack, list) or not all(isinstance(a, str) for a in ack):
        raise ConfigError("acknowledge: must be a list of role names", where=str(path))
    eq = data.get("equipment")
    return list(ack), str(eq) if eq else None


def resolve_answers(spec: PilotSpec, tags: Sequence[Tag], answers: Mapping[str, str | None],
                    *, where: str = "answers", methods: Sequence[MethodInfo] = ()) -> dict[str, str]:
    """Turn answers (tag ids or names) into role → tag id; absent roles are left out. Unknown roles or
    tags raise ``ConfigError``."""
    by_name: dict[str, list[str]] = {}
    for t in tags:
        for name in dict.fromkeys((t.id, t.name, *t.display_names.values())):
            by_name.setdefault(name, []).append(t.id)
    for m in methods:
        for name in dict.fromkeys((m.id, m.name, *m.display)):
            by_name.setdefault(name, []).append(m.id)
    out: dict[str, str] = {}
    for role, tag in answers.items():
        if role not in spec.roles:
            raise ConfigError(f"answers name unknown role {role!r}", where=where,
                              hint=f"roles of {spec.id}: {', '.join(spec.roles)}")
        if tag is None or tag == ABSENT:
            continue
        if tag not in by_name:
            raise ConfigError(f"role {role!r}: no tag {tag!r} on this plant", where=where,
                              hint="use a node id, browse name or display name from: factorypilot connect browse")
        ids = list(dict.fromkeys(by_name[tag]))
        if len(ids) > 1 and tag not in ids:  # two robots both have an OVR_CMD: never pick one silently
            raise ConfigError(f"role {role!r}: {tag!r} names {len(ids)} nodes: {', '.join(ids[:5])}", where=where,
                              hint="give the node id of the one you mean")
        out[role] = tag if tag in ids else ids[0]
    return out
