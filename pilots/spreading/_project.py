"""A firm's pilot project, created from a template by ``template init``.

Layout (one folder per firm and pilot)::

    project.yaml   company, template id/version, endpoint, created; which template files it came from
    pilot.yaml     the spec: connector -> the firm's endpoint, bindings from ``template map``,
                   ``policy.writes_enabled: false`` until ``template enable-writes``
    knowledge/     generic documents from the template; the firm adds its own here
    kpis.yaml      baseline and current KPIs (``programme record``)
    home/          the firm's data: ledger, runs, checkpoints, knowledge store, evaluation reports

Read-only first: a new project cannot write to the plant. Enabling writes is one explicit command that
names who and why, and is recorded in the project's audit ledger.
"""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from factorypilot.agents import Ledger
from factorypilot.errors import ConfigError
from factorypilot.pilots.spec import PilotSpec, load_spec
from factorypilot.vocabulary import utcnow

__all__ = ["Project", "init_project", "slug"]

PROJECT = "project.yaml"


def slug(text: str) -> str:
    """A folder-safe name that keeps Korean (``성서정밀 (주)`` → ``성서정밀-주``)."""
    s = re.sub(r"[^\w]+", "-", text.strip(), flags=re.UNICODE).strip("-").lower()
    return s or "firm"


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise ConfigError(f"not a pilot project: {path.name} missing", where=str(path.parent),
                          hint="create one with: factorypilot template init TEMPLATE --company NAME") from None
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read {path.name}: {exc}", where=str(path)) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path.name} must be a YAML mapping", where=str(path))
    return data


def _write_yaml(path: Path, data: Any) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(path)


@dataclass
class Project:
    """An initialised firm project (see module docstring)."""

    root: Path

    @classmethod
    def open(cls, root: Path) -> Project:
        root = Path(root)
        _read_yaml(root / PROJECT)
        return cls(root)

    @property
    def info(self) -> dict[str, Any]:
        return _read_yaml(self.root / PROJECT)

    @property
    def spec_path(self) -> Path:
        return self.root / "pilot.yaml"

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def company(self) -> str:
        return str(self.info.get("company", self.root.name))

    @property
    def endpoint(self) -> str | None:
        ep = self.info.get("endpoint")
        return str(ep) if ep else None

    def spec(self) -> PilotSpec:
        return load_spec(self.spec_path)

    def ledger(self) -> Ledger:
        return Ledger(self.home / "ledger.sqlite")

    def _spec_doc(self) -> dict[str, Any]:
        return _read_yaml(self.spec_path)

    def save_bindings(self, bindings: dict[str, str], *, source: str = "template map", absent: list[str] | None = None,
                      acknowledged: list[str] | None = None, equipment: str | None = None) -> None:
        """Write the confirmed bindings (and the roles declared absent) into pilot.yaml (validated) and record
        them in the ledger — who declared what absent is part of the audit trail."""
        doc = self._spec_doc()
        doc["bindings"] = dict(bindings)
        if absent is not None:
            doc["absent"] = list(absent)
            doc["absent_acknowledged"] = list(acknowledged or [])
        try:
            PilotSpec.model_validate(doc)
        except ValueError as exc:
            raise ConfigError(f"the mapping does not make a valid pilot: {exc}", where=str(self.spec_path)) from exc
        _write_yaml(self.spec_path, doc)
        with self.ledger() as ledger:
            ledger.append("template.mapping", {"company": self.company, "bindings": bindings, "source": source,
                                               "absent": list(absent or []),
                                               "absent_acknowledged": list(acknowledged or []),
                                               "equipment": equipment})

    def last_check(self) -> dict[str, Any] | None:
        """The newest read-only check report of this project (``template check``/``map``), if any."""
        spec = self.spec()
        reports = sorted((self.home / "reports" / spec.id).glob("readonly-*/report.json"))
        if not reports:
            return None
        try:
            data = json.loads(reports[-1].read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def writes_enabled(self) -> bool:
        return bool(self._spec_doc().get("policy", {}).get("writes_enabled", True))

    def set_writes(self, enabled: bool, *, by: str, reason: str) -> int:
        """Enable (or disable) writes to the plant; recorded in the ledger. Returns the ledger sequence number."""
        if not by.strip() or not reason.strip():
            raise ConfigError("enabling or disabling writes needs a person (--by) and a reason (--reason)",
                              where=str(self.spec_path))
        spec = self.spec()
        if enabled and spec.missing_roles():
            raise ConfigError(f"cannot enable writes: unmapped required roles {', '.join(spec.missing_roles())}",
                              where=str(self.spec_path), hint="map them first: factorypilot template map")
        if enabled:
            check = self.last_check()
            if check is None or not check.get("checks_passed"):
                raise ConfigError("cannot enable writes: no passed read-only check of the current mapping",
                                  where=str(self.spec_path), hint="run: factorypilot template check --project "
                                  f"{self.root} (it must pass first)")
            if not check.get("write_capable") or check.get("bindings") not in (None, spec.bindings):
                raise ConfigError("cannot enable writes: the last passed check ran with an identity that cannot "
                                  f"write the setpoints ({check.get('identity', 'anonymous')})"
                                  if not check.get("write_capable") else
                                  "cannot enable writes: the mapping changed since the last passed check",
                                  where=str(self.spec_path), hint="run template check with a write-capable user "
                                  "(--user NAME, password from FACTORYPILOT_OPCUA_PASSWORD) until it passes")
        doc = self._spec_doc()
        doc.setdefault("policy", {})["writes_enabled"] = enabled
        PilotSpec.model_validate(doc)
        _write_yaml(self.spec_path, doc)
        with self.ledger() as ledger:
            rec = ledger.append("template.writes_enabled" if enabled else "template.writes_disabled",
                                {"company": self.company, "pilot": spec.id, "by": by, "reason": reason})
        return rec.seq


def init_project(template_dir: Path, spec_doc: dict[str, Any], manifest: dict[str, Any], *, company: str,
                 endpoint: str | None, dest: Path, connector: dict[str, Any] | None = None,
                 force: bool = False, lang: str | None = None) -> Project:
    """Create the firm's project folder from an (already verified) template directory."""
    root = Path(dest)
    if root.exists() and any(root.iterdir()) and not force:
        raise ConfigError(f"project folder is not empty: {root}", hint="choose another --dir or pass --force")
    root.mkdir(parents=True, exist_ok=True)
    (root / "home").mkdir(exist_ok=True)
    kdir = root / "knowledge"
    kdir.mkdir(exist_ok=True)
    src = Path(template_dir) / "knowledge"
    if src.is_dir():
        for f in sorted(src.iterdir()):
            if f.is_file():
                shutil.copy2(f, kdir / f.name)
    doc = dict(spec_doc)
    doc["bindings"] = {}
    doc["knowledge"] = ["knowledge"]
    doc["policy"] = dict(doc.get("policy") or {}) | {"writes_enabled": False}
    if lang is not None:
        doc["lang"] = lang
    if connector is not None:
        doc["connector"] = connector
    elif endpoint:
        doc["connector"] = {"type": "opcua", "config": {"endpoint": endpoint}}
    PilotSpec.model_validate(doc)
    _write_yaml(root / "pilot.yaml", doc)
    _write_yaml(root / PROJECT, {"company": company, "template": manifest.get("id"),
                                 "template_version": manifest.get("version"), "sector": manifest.get("sector"),
                                 "endpoint": endpoint, "created": utcnow().isoformat(timespec="seconds")})
    if not (root / "kpis.yaml").exists():
        _write_yaml(root / "kpis.yaml", {"baseline": {}, "current": {}})
    project = Project(root)
    with project.ledger() as ledger:
        ledger.append("template.init", {"company": company, "template": manifest.get("id"),
                                        "version": manifest.get("version"), "writes_enabled": False})
    return project
