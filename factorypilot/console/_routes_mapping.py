"""Template mapping review: the mapper's proposed role → tag bindings of a firm's project, with confidence,
reasons, candidate tags and their live values; confirm, choose another tag or mark a role absent.

The projects are the ``--projects`` folders (``template init``); a user sees only the projects of their own
company (programme staff see all). Deciding needs the ``operator`` role. The page proposes with the same
mapper as ``template map``; a decision is saved by :func:`~factorypilot.pilots.spreading.templates.map_project` with the
answers the person gave — the same path as ``template map --answers`` — so the same rules hold: a role left
undecided stays unmapped (a required one keeps the pilot from running), a tag must exist on the plant, and an
absent role that feeds an interlock needs an explicit acknowledgement. Nothing below ``high`` is preselected.
Once every required role is mapped or absent, the read-only check runs, as ``template map`` does by default.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from factorypilot.console._app import ConsoleConfig, PageError, check_csrf, lang_of, render, require
from factorypilot.console._i18n import translate
from factorypilot.console._users import Session
from factorypilot.errors import ConfigError
from factorypilot.pilots.spreading.mapping import ABSENT, PlantFacts, propose_mapping, sample_plant
from factorypilot.pilots.spreading.templates import Project, map_project, project_connector, readonly_check

router = APIRouter()
_SKIP, _ABSENT = "skip", "absent"


def projects_of(cfg: ConsoleConfig, session: Session) -> dict[str, Project]:
    """Folder name → project, for the projects of the user's company (all of them for programme staff)."""
    out: dict[str, Project] = {}
    for root in cfg.projects:
        folders = [root] if (root / "project.yaml").is_file() else sorted(p.parent for p in root.glob("*/project.yaml"))
        for folder in folders:
            project = Project.open(folder)
            if session.user.all_companies or project.company == session.user.company:
                out.setdefault(folder.name, project)
    return out


def _project(request: Request, session: Session, name: str) -> Project:
    project = projects_of(request.app.state.cfg, session).get(name)
    if project is None:  # another firm's project looks exactly like one that does not exist
        raise PageError(404, "error_404")
    return project


def _status(project: Project) -> dict[str, Any]:
    spec = project.spec()
    missing = spec.missing_roles(dict(spec.bindings), list(spec.absent))
    return {"company": project.company, "pilot": spec.id, "roles": len(spec.roles), "bound": len(spec.bindings),
            "absent": list(spec.absent), "missing": missing}


@router.get("/mapping")
def mapping_list(request: Request) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    rows = [{"name": name, **_status(p)} for name, p in sorted(projects_of(cfg, session).items())]
    return render(request, "mapping_list.html", session=session, rows=rows)


def _show(value: Any) -> str:
    return "—" if value is None else str(value)


async def _proposal(project: Project, equipment: str | None) -> dict[str, Any]:
    spec = project.spec()
    async with project_connector(project) as conn:
        tags, values = await sample_plant(conn, reads=2, interval_s=0.2)
        facts = PlantFacts.of(conn)
    if not tags:
        raise ConfigError("the plant has no tags to map", where=project.endpoint or str(project.spec_path),
                          hint="check the endpoint and the connector's browse_root/namespace")
    proposal = await run_in_threadpool(propose_mapping, spec, tags, values, equipment=equipment, facts=facts)
    units = {t.id: t.unit for t in tags}
    locks = spec.interlock_roles()
    roles = []
    for role, rm in proposal.roles.items():
        uncertain = rm.confidence != "high" or proposal.ambiguous
        cands = [{"tag_id": c.tag_id, "label": c.label, "score": c.score, "equipment": c.equipment,
                  "reasons": c.reasons, "unit": units.get(c.tag_id),
                  "value": _show(values.get(c.tag_id, [None])[-1] if values.get(c.tag_id) else None)}
                 for c in rm.candidates]
        if rm.tag_id and rm.tag_id not in {c["tag_id"] for c in cands}:
            cands.insert(0, {"tag_id": rm.tag_id, "label": rm.label, "score": rm.score, "equipment": rm.equipment,
                             "reasons": rm.reasons, "unit": units.get(rm.tag_id),
                             "value": _show(values.get(rm.tag_id, [None])[-1] if values.get(rm.tag_id) else None)})
        current = "absent" if role in spec.absent else spec.bindings.get(role)
        roles.append({"role": role, "required": rm.required, "kind": rm.kind, "confidence": rm.confidence,
                      "tag_id": rm.tag_id, "label": rm.label, "reasons": rm.reasons, "conflicts": rm.conflicts,
                      "candidates": cands, "feeds": rm.feeds, "interlocks": locks.get(role, []),
                      "uncertain": uncertain, "current": current,
                      "preselect": None if uncertain else rm.tag_id})
    order = list(spec.roles)
    roles.sort(key=lambda r: (not r["uncertain"], order.index(str(r["role"]))))
    return {"equipment": proposal.equipment, "alternatives": proposal.alternatives, "ambiguous": proposal.ambiguous,
            "machines": [proposal.equipment, *proposal.alternatives] if proposal.equipment else [], "roles": roles,
            "uncertain": sum(r["uncertain"] for r in roles)}


@router.get("/mapping/{name}")
async def mapping_review(request: Request, name: str, equipment: str | None = None) -> Response:
    session = require(request)
    project = _project(request, session, name)
    view = await _proposal(project, equipment or None)
    return render(request, "mapping.html", session=session, name=name, status=_status(project), view=view,
                  chosen_equipment=equipment or "")


def answers_from_form(roles: list[str], form: dict[str, str]) -> tuple[dict[str, str | None], list[str]]:
    """What the person decided, in ``template map --answers`` terms: role → tag | ``absent`` | ``None`` (decide
    later: the role stays unmapped). A role with no choice is *not* taken from the proposal. Also the roles
    whose interlock absence was acknowledged."""
    answers: dict[str, str | None] = {}
    for role in roles:
        other = (form.get(f"other:{role}") or "").strip()
        choice = (form.get(f"role:{role}") or "").strip()
        if other:
            answers[role] = other
        elif choice == _ABSENT:
            answers[role] = ABSENT
        elif choice and choice != _SKIP:
            answers[role] = choice
        else:
            answers[role] = None
    acks = [r for r in roles if form.get(f"ack:{r}") == "yes"]
    return answers, acks


@router.post("/mapping/{name}")
async def mapping_decide(request: Request, name: str) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    session = require(request, "operator")
    check_csrf(session, form.get("csrf"))
    project = _project(request, session, name)
    spec = project.spec()
    answers, acks = answers_from_form(list(spec.roles), form)
    lang = lang_of(request)
    try:
        result = await map_project(project, answers=answers, equipment=form.get("equipment") or None,
                                   acknowledge=acks, source=f"console: {session.user.name}", reads=2,
                                   interval_s=0.2)
    except ConfigError as exc:
        problem = translate("mapping_refused", lang, reason=str(exc))
        return render(request, "mapping_done.html", http_status=400, session=session, name=name, problem=problem,
                      status=_status(project), saved=None)
    saved = {"bindings": result.bindings, "absent": result.absent, "disabled": result.disabled,
             "acknowledged": result.acknowledged, "missing": result.missing, "check": None}
    if not result.missing:  # as template map does by default: the read-only check once every role is mapped
        report = await readonly_check(project, reads=3)
        saved["check"] = {"passed": report["checks_passed"], "problems": report["problems"],
                          "warnings": report["warnings"], "path": Path(report["path"]).name}
    return render(request, "mapping_done.html", session=session, name=name, problem=None, status=_status(project),
                  saved=saved)
