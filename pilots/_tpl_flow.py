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

import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from factorypilot.agents import build_detector
from factorypilot.connectors.base import BaseConnector
from factorypilot.connectors.registry import create
from factorypilot.errors import ConfigError
from factorypilot.pilots._tpl_lexicon import normalize_unit, unit_dimension
from factorypilot.pilots._tpl_project import Project, slug
from factorypilot.pilots.mapping import (
    Confidence,
    MappingProposal,
    RoleMapping,
    propose_mapping,
    resolve_answers,
    sample_plant,
)
from factorypilot.vocabulary import DataType, Scalar, Tag, utcnow

__all__ = ["MapResult", "map_project", "project_connector", "readonly_check", "run_project"]

Confirm = Callable[[RoleMapping, Sequence[Tag]], str | None]
_RANK = {"high": 3, "medium": 2, "low": 1, "none": 0}


@dataclass
class MapResult:
    proposal: MappingProposal
    bindings: dict[str, str]
    missing: list[str]
    asked: list[str] = field(default_factory=list)
    tags: list[Tag] = field(default_factory=list)


@contextlib.asynccontextmanager
async def project_connector(project: Project,
                            connector: BaseConnector[Any] | None = None) -> AsyncIterator[BaseConnector[Any]]:
    """The given connector, or the one the project's spec names (entered and closed here)."""
    if connector is not None:
        yield connector
        return
    spec = project.spec()
    if spec.connector is None:
        raise ConfigError("the project names no connector", where=str(project.spec_path),
                          hint="re-run: factorypilot template init ... --endpoint opc.tcp://HOST:PORT")
    async with create(spec.connector.type, spec.connector.config) as conn:
        yield conn


async def map_project(project: Project, *, answers: Mapping[str, str | None] | None = None,
                      accept: Confidence = "high", confirm: Confirm | None = None,
                      connector: BaseConnector[Any] | None = None, reads: int = 3,
                      interval_s: float = 0.3, equipment: str | None = None) -> MapResult:
    """Propose, confirm and save bindings for the project's plant (see module docstring)."""
    spec = project.spec()
    async with project_connector(project, connector) as conn:
        tags, values = await sample_plant(conn, reads=reads, interval_s=interval_s)
    if not tags:
        raise ConfigError("the plant has no tags to map", where=project.endpoint or str(project.spec_path),
                          hint="check the endpoint and the connector's browse_root/namespace")
    proposal = propose_mapping(spec, tags, values, equipment=equipment)
    given = resolve_answers(spec, tags, answers or {}, where="answers")
    bindings: dict[str, str] = {}
    asked: list[str] = []
    for role, rm in proposal.roles.items():
        if answers is not None and role in answers:
            if role in given:
                bindings[role] = given[role]
            continue
        if rm.tag_id and _RANK[rm.confidence] >= _RANK[accept]:
            bindings[role] = rm.tag_id
        elif confirm is not None:
            asked.append(role)
            choice = confirm(rm, tags)
            if choice:
                bindings[role] = resolve_answers(spec, tags, {role: choice}, where="prompt")[role]
    project.save_bindings(bindings, source="answers file" if answers is not None else "template map")
    return MapResult(proposal, bindings, spec.missing_roles(bindings), asked, tags)


def _check_role(role: str, rs: Any, tag: Tag | None, values: list[Scalar]) -> list[str]:
    problems: list[str] = []
    if tag is None:
        return [f"{role}: bound tag not found on the plant"]
    if not values:
        return [f"{role}: no good-quality value read from {tag.id}"]
    if rs.data_type == DataType.BOOLEAN and not all(isinstance(v, bool) for v in values):
        problems.append(f"{role}: expected booleans, read {values[-1]!r}")
    if rs.data_type in (DataType.FLOAT, DataType.INTEGER) and not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        problems.append(f"{role}: expected numbers, read {values[-1]!r}")
    if rs.unit and tag.unit and normalize_unit(rs.unit) != normalize_unit(tag.unit):
        same = unit_dimension(rs.unit) is not None and unit_dimension(rs.unit) == unit_dimension(tag.unit)
        problems.append(f"{role}: unit {tag.unit!r} vs role {rs.unit!r}"
                        + (" (convertible; thresholds assume the role's unit)" if same else ""))
    if rs.writable and not tag.writable:
        problems.append(f"{role}: the role is a setpoint but {tag.id} is read-only")
    if rs.typical_range and all(isinstance(v, int | float) for v in values):
        lo, hi = rs.typical_range
        out = [v for v in values if isinstance(v, int | float) and not lo <= float(v) <= hi]
        if out:
            problems.append(f"{role}: {len(out)}/{len(values)} values outside the typical range {lo:g}..{hi:g}")
    return problems


async def readonly_check(project: Project, *, connector: BaseConnector[Any] | None = None, reads: int = 5,
                         interval_s: float = 0.2) -> dict[str, Any]:
    """Live read-only evaluation of the mapped pilot (see module docstring); returns the report."""
    spec = project.spec()
    config = spec.agent_config()  # refuses while required roles are unmapped
    async with project_connector(project, connector) as conn:
        tags = {t.id: t for t in await conn.browse()}
        ids = sorted(set(config.roles.values()))
        _, series = await sample_plant_ids(conn, ids, reads=reads, interval_s=interval_s)
    detectors = [build_detector(c, config.roles.get(c.role, c.role)) for c in config.detectors]
    events: list[str] = []
    samples_by_tag = series
    for det in detectors:
        for sample in samples_by_tag.get(det.tag_id, []):
            if det.update(sample) is not None:
                events.append(det.tag_id)
    roles: dict[str, Any] = {}
    for role, tag_id in config.roles.items():
        values = [s.value for s in samples_by_tag.get(tag_id, [])]
        problems = _check_role(role, spec.roles[role], tags.get(tag_id), values)
        roles[role] = {"tag": tag_id, "values": values[-3:], "problems": problems}
    blocking = [p for r in roles.values() for p in r["problems"] if "convertible" not in p]
    report = {"kind": "readonly-check", "pilot": spec.id, "company": project.company, "time": utcnow().isoformat(),
              "writes_enabled": spec.policy.writes_enabled, "reads": reads, "roles": roles,
              "detector_events": len(events), "checks_passed": not blocking and not spec.policy.writes_enabled,
              "problems": blocking}
    out = project.home / "reports" / spec.id / f"readonly-{utcnow():%Y%m%dT%H%M%S%fZ}"
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str), encoding="utf-8")
    report["path"] = str(out / "report.json")
    return report


async def sample_plant_ids(conn: BaseConnector[Any], ids: list[str], *, reads: int,
                           interval_s: float) -> tuple[list[str], dict[str, list[Any]]]:
    """Read ``ids`` ``reads`` times; returns the good samples per tag id."""
    import asyncio

    series: dict[str, list[Any]] = {i: [] for i in ids}
    for n in range(reads):
        if n:
            await asyncio.sleep(interval_s)
        for s in await conn.read(ids):
            if s.quality.value == "good":
                series.setdefault(s.tag_id, []).append(s)
    return ids, series


async def run_project(project: Project, *, connector: BaseConnector[Any] | None = None, max_runs: int | None = None,
                      period: float = 0.1, knowledge: bool = True, stop_after_s: float | None = None) -> list[Any]:
    """Run the project's pilot on its plant (read-only unless writes were enabled) until ``max_runs`` events
    were handled or ``stop_after_s`` passed; returns the run outcomes."""
    import asyncio

    from factorypilot.pilots.runtime import open_pilot

    spec = project.spec()
    async with project_connector(project, connector) as conn, \
            open_pilot(spec, project.spec_path, connector=conn, home=project.home, company=slug(project.company),
                       knowledge=knowledge) as rt:
        if stop_after_s is not None:
            asyncio.get_running_loop().call_later(stop_after_s, rt.stop)
        return await rt.monitor(period=period, max_runs=max_runs)
