"""The small-firm flow on a project folder: map roles on the live plant, check read-only, run read-only.

``map_project`` browses the firm's plant through the project's connector, proposes bindings, takes answers
(a file, or a ``confirm`` callback the CLI implements with prompts) and saves what is confirmed. Roles below
the accepted confidence with no answer stay unmapped, and the pilot refuses to run until they are mapped.

``readonly_check`` is the live read-only evaluation before any write is enabled: it reads every bound tag a
few times and checks it against its role (type, unit, typical range, quality), runs the pilot's detectors
over what it read, and confirms writes are disabled. It writes ``report.json`` under the project's
``home/reports/<pilot>/readonly-<time>/``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from factorypilot.agents import build_detector
from factorypilot.connectors.base import BaseConnector
from factorypilot.connectors.registry import create
from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading._project import Project, slug
from factorypilot.pilots.spreading._units import compare_units
from factorypilot.pilots.spreading.mapping import (
    ABSENT,
    Confidence,
    MappingProposal,
    PlantFacts,
    RoleMapping,
    propose_mapping,
    resolve_answers,
    sample_plant,
)
from factorypilot.vocabulary import DataType, Scalar, Tag, utcnow

__all__ = ["MapResult", "map_project", "project_connector", "readonly_check", "run_project"]

Confirm = Callable[[RoleMapping, Sequence[Tag]], str | None]
ChooseMachine = Callable[[MappingProposal], str | None]
Acknowledge = Callable[[str, list[str]], bool]
_RANK = {"high": 3, "medium": 2, "low": 1, "none": 0}


@dataclass
class MapResult:
    proposal: MappingProposal
    bindings: dict[str, str]
    missing: list[str]
    asked: list[str] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)
    disabled: dict[str, list[str]] = field(default_factory=dict)  # absent role -> what it fed (now disabled)
    acknowledged: list[str] = field(default_factory=list)


@contextlib.asynccontextmanager
async def project_connector(project: Project, connector: BaseConnector[Any] | None = None,
                            identity: Mapping[str, Any] | None = None) -> AsyncIterator[BaseConnector[Any]]:
    """The given connector, or the one the project's spec names (entered and closed here); ``identity``
    overrides connector settings for this session only (``username``/``password``: never written)."""
    if connector is not None:
        yield connector
        return
    spec = project.spec()
    if spec.connector is None:
        raise ConfigError("the project names no connector", where=str(project.spec_path),
                          hint="re-run: factorypilot template init ... --endpoint opc.tcp://HOST:PORT")
    async with create(spec.connector.type, {**spec.connector.config, **(identity or {})}) as conn:
        yield conn


async def map_project(project: Project, *, answers: Mapping[str, str | None] | None = None,
                      accept: Confidence = "high", confirm: Confirm | None = None,
                      connector: BaseConnector[Any] | None = None, reads: int = 3,
                      interval_s: float = 0.3, equipment: str | None = None, absent: Sequence[str] = (),
                      acknowledge: Sequence[str] = (), choose: ChooseMachine | None = None,
                      ack: Acknowledge | None = None, identity: Mapping[str, Any] | None = None) -> MapResult:
    """Propose, confirm and save bindings for the project's plant (see module docstring).

    ``absent`` roles (and ``null`` answers) are declared absent; an absent role that feeds an interlock must
    be in ``acknowledge`` (or be acknowledged through ``ack``), else ``ConfigError``. ``choose`` is asked
    which machine when several could host the template and ``equipment`` is not given.
    """
    spec = project.spec()
    unknown = [r for r in absent if r not in spec.roles]
    if unknown:
        raise ConfigError(f"--absent names unknown role {unknown[0]!r}", hint=f"roles of {spec.id}: "
                          + ", ".join(spec.roles))
    async with project_connector(project, connector, identity) as conn:
        tags, values = await sample_plant(conn, reads=reads, interval_s=interval_s)
        facts = PlantFacts.of(conn)
    if not tags:
        raise ConfigError("the plant has no tags to map", where=project.endpoint or str(project.spec_path),
                          hint="check the endpoint and the connector's browse_root/namespace")
    proposal = propose_mapping(spec, tags, values, equipment=equipment, facts=facts)
    if proposal.ambiguous and choose is not None and answers is None:
        picked = choose(proposal)
        if picked:
            proposal = propose_mapping(spec, tags, values, equipment=picked, facts=facts)
    given = resolve_answers(spec, tags, answers or {}, where="answers", methods=facts.methods)
    gone = set(absent) | {r for r, v in (answers or {}).items() if v == ABSENT}
    bindings: dict[str, str] = {}
    asked: list[str] = []
    for role, rm in proposal.roles.items():
        if role in gone:
            continue
        if answers is not None and role in answers:
            if role in given:
                bindings[role] = given[role]
            continue
        if rm.tag_id and _RANK[rm.confidence] >= _RANK[accept] and not proposal.ambiguous:
            bindings[role] = rm.tag_id
        elif confirm is not None:
            asked.append(role)
            choice = confirm(rm, tags)
            if choice == ABSENT:
                gone.add(role)
            elif choice:
                bindings[role] = resolve_answers(spec, tags, {role: choice}, where="prompt",
                                                 methods=facts.methods)[role]
    locks = spec.interlock_roles()
    acked = [r for r in gone if r in locks and (r in acknowledge or (ack is not None and ack(r, locks[r])))]
    unacked = sorted(r for r in gone if r in locks and r not in acked)
    if unacked:
        r = unacked[0]
        raise ConfigError(f"role {r!r} feeds interlock {', '.join(locks[r])}: declaring it absent needs an explicit "
                          "acknowledgement", where=str(project.spec_path),
                          hint=f"acknowledge with --ack-interlock {r} (or 'acknowledge: [{r}]' in the answers "
                               "file); every action is then blocked with 'interlock signal not bound'")
    absent_roles = sorted(gone, key=list(spec.roles).index)
    project.save_bindings(bindings, source="answers file" if answers is not None else "template map",
                          absent=absent_roles, acknowledged=sorted(acked), equipment=proposal.equipment)
    return MapResult(proposal, bindings, spec.missing_roles(bindings, absent_roles), asked, tags, absent_roles,
                     {r: spec.feeds(r) for r in absent_roles}, sorted(acked))


def _check_role(role: str, rs: Any, tag: Tag | None, values: list[Scalar],
                writable_by_someone: bool | None) -> tuple[list[str], list[str]]:
    """(problems, warnings) of one bound signal role."""
    problems: list[str] = []
    warnings: list[str] = []
    if tag is None:
        return [f"{role}: bound tag not found on the plant"], []
    if not values:
        return [f"{role}: no good-quality value read from {tag.id}"], []
    if rs.data_type == DataType.BOOLEAN and not all(isinstance(v, bool) for v in values):
        problems.append(f"{role}: expected booleans, read {values[-1]!r}")
    if rs.data_type in (DataType.FLOAT, DataType.INTEGER) and not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        problems.append(f"{role}: expected numbers, read {values[-1]!r}")
    if rs.unit and tag.unit:
        um = compare_units(rs.unit, tag.unit)
        if um.kind == "mismatch":
            problems.append(f"{role}: unit {tag.unit!r} vs role {rs.unit!r} — {um.reason}")
        elif um.kind == "convertible":
            warnings.append(f"{role}: unit {tag.unit!r} vs role {rs.unit!r} (convertible; thresholds assume the "
                            "role's unit)")
        elif um.kind == "unknown":
            warnings.append(f"{role}: unit {tag.unit!r} vs role {rs.unit!r} not known to the unit library")
    if rs.writable and not tag.writable:
        if writable_by_someone:
            warnings.append(f"{role}: setpoint {tag.id} not writable for this user (read-only identity; fine in "
                            "read-only mode, enable-writes needs a check with a write-capable user)")
        else:
            problems.append(f"{role}: the role is a setpoint but {tag.id} is read-only")
    if rs.typical_range and all(isinstance(v, int | float) for v in values):
        lo, hi = rs.typical_range
        out = [v for v in values if isinstance(v, int | float) and not lo <= float(v) <= hi]
        if out:
            warnings.append(f"{role}: {len(out)}/{len(values)} values outside the typical range {lo:g}..{hi:g}")
    return problems, warnings


async def readonly_check(project: Project, *, connector: BaseConnector[Any] | None = None, reads: int = 5,
                         interval_s: float = 0.2, identity: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Live read-only evaluation of the mapped pilot (see module docstring); returns the report."""
    spec = project.spec()
    config = spec.agent_config()  # refuses while required roles are unmapped
    signal_roles = {r: t for r, t in config.roles.items() if spec.roles[r].kind == "signal"}
    async with project_connector(project, connector, identity) as conn:
        tags = {t.id: t for t in await conn.browse()}
        facts = PlantFacts.of(conn)
        ids = sorted(set(signal_roles.values()))
        _, series = await sample_plant_ids(conn, ids, reads=reads, interval_s=interval_s)
    detectors = [build_detector(c, config.roles.get(c.role, c.role)) for c in config.detectors]
    events: list[str] = []
    for det in detectors:
        for sample in series.get(det.tag_id, []):
            if det.update(sample) is not None:
                events.append(det.tag_id)
    methods = {m.id: m for m in facts.methods}
    roles: dict[str, Any] = {}
    write_capable = True
    for role, tag_id in config.roles.items():
        rs = spec.roles[role]
        if rs.kind == "method":
            found = methods.get(tag_id)
            problems = [] if found or (not methods and not facts.object_types) else \
                [f"{role}: bound method {tag_id} not found on the plant"]
            roles[role] = {"tag": tag_id, "method": found.name if found else None, "values": [],
                           "problems": problems, "warnings": []}
            continue
        values = [s.value for s in series.get(tag_id, [])]
        tag = tags.get(tag_id)
        problems, warnings = _check_role(role, rs, tag, values, facts.writable_by_someone.get(tag_id))
        if rs.writable and tag is not None and not tag.writable:
            write_capable = False
        roles[role] = {"tag": tag_id, "values": values[-3:], "problems": problems, "warnings": warnings}
    blocking = [p for r in roles.values() for p in r["problems"]]
    warnings = [w for r in roles.values() for w in r["warnings"]]
    user = (identity or {}).get("username") or (spec.connector.config.get("username") if spec.connector else None)
    who = str(user or "anonymous")
    report = {"kind": "readonly-check", "pilot": spec.id, "company": project.company, "time": utcnow().isoformat(),
              "writes_enabled": spec.policy.writes_enabled, "reads": reads, "roles": roles,
              "absent": list(spec.absent), "disabled": {r: spec.feeds(r) for r in spec.absent},
              "identity": who, "write_capable": write_capable, "bindings": dict(spec.bindings),
              "detector_events": len(events), "checks_passed": not blocking and not spec.policy.writes_enabled,
              "problems": blocking, "warnings": warnings}
    out = project.home / "reports" / spec.id / f"readonly-{utcnow():%Y%m%dT%H%M%S%fZ}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    report["path"] = str(out / "report.json")
    return report


async def sample_plant_ids(conn: BaseConnector[Any], ids: list[str], *, reads: int,
                           interval_s: float) -> tuple[list[str], dict[str, list[Any]]]:
    """Read ``ids`` ``reads`` times; returns the good samples per tag id."""
    series: dict[str, list[Any]] = {i: [] for i in ids}
    for n in range(reads):
        if n:
            await asyncio.sleep(interval_s)
        for s in await conn.read(ids):
            if s.quality.value == "good":
                series.setdefault(s.tag_id, []).append(s)
    return ids, series


async def run_project(project: Project, *, connector: BaseConnector[Any] | None = None, max_runs: int | None = None,
                      period: float = 0.1, knowledge: bool = True, stop_after_s: float | None = None,
                      identity: Mapping[str, Any] | None = None) -> list[Any]:
    """Run the project's pilot on its plant (read-only unless writes were enabled) until ``max_runs`` events
    were handled or ``stop_after_s`` passed; returns the run outcomes."""
    from factorypilot.pilots.runtime import open_pilot

    spec = project.spec()
    async with project_connector(project, connector, identity) as conn, \
            open_pilot(spec, project.spec_path, connector=conn, home=project.home, company=slug(project.company),
                       knowledge=knowledge) as rt:
        if stop_after_s is not None:
            asyncio.get_running_loop().call_later(stop_after_s, rt.stop)
        return await rt.monitor(period=period, max_runs=max_runs)
