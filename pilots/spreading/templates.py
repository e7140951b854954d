"""Pilot templates: export a proven pilot without company data; load and verify a template.

A template is a directory ``<id>-<version>/`` (optionally zipped) with::

    template.yaml      manifest: id, version, sector, titles, roles, KPIs, gate result, sha256 of every file
    pilot.yaml         the spec: roles, detectors, playbooks (inline), policy, scenarios, simulator model;
                       bindings, connector (endpoints, credentials) and company knowledge stripped
    knowledge/         only documents explicitly declared generic (``--generic``)

Only a pilot that passed its evaluation gate is exported (:func:`gate_status` reads the newest evaluation
report under ``FACTORYPILOT_HOME/reports/<pilot-id>/``). ``override_reason`` exports anyway and records
who and why in the audit ledger. Every export is scanned (:mod:`._tpl_scan`) and refused if company data
slipped through.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from factorypilot._version import __version__
from factorypilot.agents import Ledger
from factorypilot.errors import ConfigError, DataError
from factorypilot.pilots.evaluation.scenarios import Scenario, load_scenario_file
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spec import PilotSpec, load_spec
from factorypilot.pilots.spreading._flow import MapResult, map_project, project_connector, readonly_check, run_project
from factorypilot.pilots.spreading._project import Project, init_project, slug
from factorypilot.pilots.spreading._scan import scan_tree
from factorypilot.pilots.spreading.fit import FitStatement
from factorypilot.vocabulary import utcnow

__all__ = ["MANIFEST", "GateRecord", "GateStatus", "MapResult", "Project", "TemplateManifest", "export_template",
           "gate_status", "init_from_template", "load_template", "map_project", "project_connector", "readonly_check",
           "run_project",
           "scan_tree", "slug", "spec_document"]

MANIFEST = "template.yaml"


class GateRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    passed: bool
    report: str | None = Field(default=None, description="file name of the evaluation report")
    overridden: bool = False
    reason: str | None = None
    by: str | None = None
    ledger_seq: int | None = None
    metrics: dict[str, float] = Field(default_factory=dict)


class TemplateManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    version: str
    sector: str
    title: str | dict[str, str]
    description: str | dict[str, str] = ""
    roles: dict[str, str | dict[str, str]] = Field(default_factory=dict, description="role -> description")
    required_roles: list[str] = Field(default_factory=list)
    kpis: list[str] = Field(default_factory=list)
    scenarios: int = Field(default=0, description="evaluation scenarios carried (replays of recorded data are not)")
    data_sources: list[str] = Field(default_factory=lambda: ["opcua"])
    keywords: list[str] = Field(default_factory=list)
    simulator_model: str | None = None
    created: str
    factorypilot_version: str
    gate: GateRecord
    files: dict[str, str] = Field(default_factory=dict, description="relative path -> sha256")
    solves: list[FitStatement] = Field(default_factory=list, description="what it solves (ko/en), for matching")
    needs: list[FitStatement] = Field(default_factory=list, description="data and equipment it cannot work without")
    not_for: list[FitStatement] = Field(default_factory=list, description="situations it does not fit")

    @classmethod
    def of(cls, spec: PilotSpec, scenarios: Sequence[Scenario], *, created: str, gate: GateRecord,
           files: dict[str, str] | None = None) -> TemplateManifest:
        """The manifest of ``spec`` (an exported template's, or a reference pilot's in the catalogue): its roles,
        KPIs, scenario count (replays of recorded data not counted), keywords and fit statements."""
        return cls(
            id=spec.id, version=spec.version, sector=spec.sector, title=spec.title, description=spec.description,
            roles={r: rs.description for r, rs in spec.roles.items()},
            required_roles=[r for r, rs in spec.roles.items() if rs.required], kpis=list(spec.kpis.names),
            scenarios=len([s for s in scenarios if s.replay is None]),
            keywords=sorted({a for rs in spec.roles.values() for a in rs.aliases}),
            simulator_model=spec.simulator.model if spec.simulator else None, created=created,
            factorypilot_version=__version__, gate=gate, files=dict(files or {}), solves=spec.solves,
            needs=spec.needs, not_for=spec.not_for)


@dataclass
class GateStatus:
    """What the newest evaluation report of a pilot says about its gate."""

    passed: bool
    report: Path | None
    why: str
    metrics: dict[str, float] = field(default_factory=dict)


def _gate_of(data: Any) -> tuple[bool | None, dict[str, float]]:
    """Read the gate verdict of an evaluation report (``gate.passed``, ``gate_passed`` or ``passed``)."""
    if not isinstance(data, dict):
        return None, {}
    gate = data.get("gate")
    metrics = {k: float(v) for k, v in (data.get("metrics") or {}).items()
               if isinstance(v, int | float) and not isinstance(v, bool)} if isinstance(data.get("metrics"),
                                                                                         dict) else {}
    if isinstance(gate, dict) and isinstance(gate.get("passed"), bool):
        return gate["passed"], metrics
    for key in ("gate_passed", "passed"):
        if isinstance(data.get(key), bool):
            return bool(data[key]), metrics
    return None, metrics


def gate_status(pilot_id: str, home: Path, *, scenarios: Sequence[str] = ()) -> GateStatus:
    """The gate verdict of the newest evaluation report of ``pilot_id`` under ``home/reports/<pilot_id>/``.

    ``scenarios``: ids the evaluation must have covered; a gate passed on a subset does not count.
    """
    root = Path(home) / "reports" / pilot_id
    reports = sorted(root.rglob("*.json"), key=lambda p: (p.stat().st_mtime, str(p))) if root.exists() else []
    for path in reversed(reports):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue
        verdict, metrics = _gate_of(data)
        if verdict is None:
            continue
        ran = {s.get("id") for s in data.get("scenarios") or [] if isinstance(s, dict)}
        missing = [s for s in scenarios if s not in ran]
        if verdict and missing and isinstance(data.get("scenarios"), list):
            return GateStatus(False, path, f"gate passed on a subset: scenarios not evaluated: {', '.join(missing)}",
                              metrics)
        return GateStatus(verdict, path, "gate passed" if verdict else "gate failed", metrics)
    return GateStatus(False, None, f"no evaluation report with a gate verdict under {root}")


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def spec_document(spec: PilotSpec, scenarios: Sequence[Scenario] = (), *,
                  knowledge: Sequence[str] = ()) -> dict[str, Any]:
    """The spec as a template carries it: no bindings, no connector, only the given knowledge paths, and
    only scenarios that need no recorded (company) data — replays are dropped."""
    doc = spec.model_dump(mode="json", exclude_none=True)
    doc["bindings"] = {}
    doc.pop("connector", None)
    doc["knowledge"] = list(knowledge)
    doc["scenarios"] = [s.model_dump(mode="json", exclude_none=True) for s in scenarios if s.replay is None]
    return doc


def _scenarios(spec: PilotSpec, spec_path: Path) -> list[Scenario]:
    """The spec's scenarios, loaded from their file when the spec names one."""
    if isinstance(spec.scenarios, str):
        return load_scenario_file(spec_path.parent / spec.scenarios)
    return list(spec.scenarios)


def _dump_yaml(data: Any, path: Path) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def export_template(pilot: str | Path, out_dir: Path, *, home: Path, generic: Sequence[str] = (),
                    override_reason: str | None = None, by: str | None = None, as_zip: bool = False,
                    markers: Sequence[str] = ()) -> Path:
    """Export ``pilot`` (path or reference name) as a template under ``out_dir``; returns its path.

    ``generic`` lists knowledge files (relative to the spec) that are generic and may travel; all other
    knowledge is company knowledge and stays behind. ``markers`` are strings (e.g. the lead firm's name)
    that must not appear anywhere in the package.
    """
    spec, spec_path = resolve_spec(pilot)
    scenarios = _scenarios(spec, spec_path)
    status = gate_status(spec.id, home, scenarios=[s.id for s in scenarios])
    gate = GateRecord(passed=status.passed, report=status.report.name if status.report else None,
                      metrics=status.metrics)
    if not status.passed:
        if not override_reason or not override_reason.strip():
            raise ConfigError(f"pilot {spec.id!r} has not passed its evaluation gate: {status.why}",
                              where=str(status.report or Path(home) / "reports" / spec.id),
                              hint=f"run: factorypilot eval {spec.id} --gate; or export with --override-gate "
                                   "--reason \"...\" (recorded in the ledger)")
        with Ledger(Path(home) / "ledger.sqlite") as ledger:
            rec = ledger.append("template.gate_override", {"pilot": spec.id, "version": spec.version,
                                                           "reason": override_reason, "by": by or "unknown",
                                                           "gate": status.why})
        gate = gate.model_copy(update={"overridden": True, "reason": override_reason, "by": by or "unknown",
                                       "ledger_seq": rec.seq})
    target = Path(out_dir) / f"{spec.id}-{spec.version}"
    if target.exists():
        shutil.rmtree(target)
    (target / "knowledge").mkdir(parents=True)
    copied: list[str] = []
    for rel in generic:
        src = (spec_path.parent / rel).resolve()
        if not src.is_file():
            raise ConfigError(f"generic knowledge file not found: {rel}", where=str(spec_path.parent),
                              hint="give paths relative to the pilot spec, e.g. knowledge/sop.md")
        shutil.copy2(src, target / "knowledge" / src.name)
        copied.append(f"knowledge/{src.name}")
    _dump_yaml(spec_document(spec, scenarios, knowledge=["knowledge"] if copied else []), target / "pilot.yaml")
    files = {p.relative_to(target).as_posix(): _sha(p) for p in sorted(target.rglob("*")) if p.is_file()}
    manifest = TemplateManifest.of(spec, scenarios, created=utcnow().isoformat(timespec="seconds"), gate=gate,
                                   files=files)
    _dump_yaml(manifest.model_dump(mode="json"), target / MANIFEST)
    findings = scan_tree(target, markers=markers)
    if findings:
        shutil.rmtree(target)
        raise DataError(f"export refused: company data in the template: {findings[0]}"
                        + (f" (+{len(findings) - 1} more)" if len(findings) > 1 else ""), file=str(spec_path),
                        hint="remove it from the spec or do not declare that knowledge file generic")
    if as_zip:
        archive = target.parent / f"{target.name}.zip"
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in sorted(target.rglob("*")):
                if p.is_file():
                    zf.write(p, p.relative_to(target).as_posix())
        shutil.rmtree(target)
        return archive
    return target


def _unpack(path: Path, into: Path) -> Path:
    with zipfile.ZipFile(path) as zf:
        for name in zf.namelist():
            if name.startswith("/") or ".." in Path(name).parts:
                raise DataError(f"unsafe path in template archive: {name!r}", file=str(path))
        zf.extractall(into)
    return into


def load_template(path: Path, *, unpack_to: Path | None = None) -> tuple[TemplateManifest, PilotSpec, Path]:
    """Read and verify a template directory (or zip): manifest, file hashes, spec. Returns the directory."""
    path = Path(path)
    if path.is_file() and zipfile.is_zipfile(path):
        if unpack_to is None:
            raise ConfigError("a zipped template needs a directory to unpack into", where=str(path))
        path = _unpack(path, unpack_to)
    mpath = path / MANIFEST
    if not mpath.is_file():
        raise ConfigError(f"not a template: {MANIFEST} missing", where=str(path),
                          hint="export one with: factorypilot template export PILOT")
    try:
        manifest = TemplateManifest.model_validate(yaml.safe_load(mpath.read_text(encoding="utf-8")))
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(f"invalid template manifest: {exc}", where=str(mpath)) from exc
    for rel, digest in manifest.files.items():
        f = path / rel
        if not f.is_file() or _sha(f) != digest:
            raise DataError(f"template file {rel!r} is missing or was modified after export", file=str(mpath),
                            hint="re-export the template or get an intact copy from the catalog")
    return manifest, load_spec(path / "pilot.yaml"), path


def init_from_template(template: Path, *, company: str, endpoint: str | None, dest: Path | None = None,
                       force: bool = False, lang: str | None = None,
                       connector: dict[str, Any] | None = None) -> Project:
    """``template init``: verify the template and create the firm's read-only project folder.

    ``template`` is a template directory or zip; ``dest`` defaults to ``./<template-id>-<company slug>``.
    """
    with tempfile.TemporaryDirectory(prefix="fp-template-") as tmp:
        manifest, _, tdir = load_template(Path(template), unpack_to=Path(tmp))
        root = Path(dest) if dest is not None else Path.cwd() / f"{manifest.id}-{slug(company)}"
        doc = yaml.safe_load((tdir / "pilot.yaml").read_text(encoding="utf-8"))
        return init_project(tdir, doc, manifest.model_dump(mode="json"), company=company, endpoint=endpoint,
                            dest=root, force=force, lang=lang,
                            connector={"type": "opcua", "config": connector} if connector else None)
