"""``factorypilot template export|init|map|check|run|enable-writes|disable-writes`` — spreading a pilot."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from factorypilot.errors import ConfigError
from factorypilot.settings import get_settings

template_app = typer.Typer(help="Templates: export a proven pilot, deploy it at a small firm (init → map → run).",
                           no_args_is_help=True)
console = Console()
_STYLE = {"high": "green", "medium": "yellow", "low": "red", "none": "red"}
_PASSWORD_ENV = "FACTORYPILOT_OPCUA_PASSWORD"


def resolve_template(name: str, catalog: Path | None = None) -> Path:
    """A template directory/zip path, or a template id from the catalog."""
    path = Path(name)
    if path.exists():
        return path
    from factorypilot.pilots.spreading.catalog import Catalog

    folders = [get_settings().home / "templates"] + ([catalog] if catalog and catalog.is_dir() else [])
    index = catalog if catalog and catalog.is_file() else None
    return Catalog.discover(folders=folders, index=index).get(name).path


@template_app.command("export")
def export(
    pilot: str = typer.Argument(..., help="pilot.yaml path or reference pilot name"),
    out: Path | None = typer.Option(None, "--out", help="folder to write into (default: FACTORYPILOT_HOME/templates)"),
    generic: list[str] = typer.Option([], "--generic", help="knowledge file (relative to the spec) that is generic "
                                      "and may travel; repeatable. Everything else stays behind"),
    override_gate: bool = typer.Option(False, "--override-gate", help="export although the gate was not passed"),
    reason: str | None = typer.Option(None, "--reason", help="why the gate is overridden (recorded in the ledger)"),
    by: str | None = typer.Option(None, "--by", help="who overrides (recorded in the ledger)"),
    marker: list[str] = typer.Option([], "--marker", help="text that must not appear in the package, e.g. the "
                                     "lead firm's name; repeatable"),
    as_zip: bool = typer.Option(False, "--zip", help="write a .zip instead of a folder"),
) -> None:
    """Package a pilot that passed its evaluation gate as a versioned template, without company data.

    Example:  factorypilot template export mobility --generic knowledge/cnc-sop-m07.md --marker 대구모빌리티
    """
    from factorypilot.pilots.spreading.templates import export_template

    if override_gate and not (reason and reason.strip()):
        raise ConfigError("--override-gate needs --reason \"...\"", hint="the reason is recorded in the ledger")
    home = get_settings().home
    path = export_template(pilot, out or home / "templates", home=home, generic=generic,
                           override_reason=reason if override_gate else None, by=by, as_zip=as_zip, markers=marker)
    console.print(f"[green]✓[/] template written: {path} (scanned: no endpoints, bindings, credentials, "
                  "recorded data or company knowledge)")
    if override_gate:
        console.print(f"[yellow]![/] gate overridden by {by or 'unknown'}: {reason} (recorded in the ledger)")


@template_app.command("init")
def init(
    template: str = typer.Argument(..., help="template id from the catalog, or a template folder/zip"),
    company: str = typer.Option(..., "--company", help="the firm's name (Korean is fine)"),
    endpoint: str | None = typer.Option(None, "--endpoint", help="the firm's OPC-UA endpoint, opc.tcp://HOST:PORT"),
    dest: Path | None = typer.Option(None, "--dir", help="project folder (default: ./<template>-<company>)"),
    catalog: Path | None = typer.Option(None, "--catalog", help="extra catalog folder or index.yaml"),
    force: bool = typer.Option(False, "--force", help="write into a non-empty folder"),
    lang: str = typer.Option("ko", "--lang", help="language of the pilot's reports and notes: ko or en"),
    security: str = typer.Option("None", "--security", help="None, Basic256Sha256 (= SignAndEncrypt) or "
                                 "Basic256Sha256/Sign; uses the client certificate of 'connect cert create'"),
    user: str | None = typer.Option(None, "--user", help="OPC UA user name (the password is never written: it "
                                    "comes from --password-env, default FACTORYPILOT_OPCUA_PASSWORD)"),
    password_env: str | None = typer.Option(None, "--password-env", help="environment variable with the password"),
    trust: list[Path] = typer.Option([], "--trust", help="trusted server certificate file, repeatable"),
) -> None:
    """Create a firm's pilot project from a template — read-only (writes disabled) until enabled explicitly.

    Example:  factorypilot template init mobility-cnc --company 성서정밀 --endpoint opc.tcp://10.0.0.5:4840
              --security Basic256Sha256 --user viewer --trust server.der
    """
    from factorypilot.pilots.spreading.templates import init_from_template

    connector = _connector_config(endpoint, security, user, password_env, trust) if endpoint else None
    project = init_from_template(resolve_template(template, catalog), company=company, endpoint=endpoint,
                                 dest=dest, force=force, lang=lang, connector=connector)
    console.print(f"[green]✓[/] project created: {project.root} (writes [bold]disabled[/])")
    console.print(f"next: factorypilot template map --project {project.root}")


def _connector_config(endpoint: str, security: str, user: str | None, password_env: str | None,
                      trust: list[Path]) -> dict[str, Any]:
    """The project's connector section: security and identity, never a password (only the variable name)."""
    policy, _, mode = security.partition("/")
    if policy not in ("None", "Basic256Sha256") or mode not in ("", "Sign", "SignAndEncrypt"):
        raise ConfigError(f"--security {security!r}: use None, Basic256Sha256 or Basic256Sha256/Sign")
    config: dict[str, Any] = {"endpoint": endpoint}
    if policy != "None":
        from factorypilot.connectors.opcua._security import own_certificate

        cert, key = own_certificate()
        if not cert.is_file():
            raise ConfigError("no client certificate yet", where=str(cert),
                              hint="create it once with: factorypilot connect cert create")
        config |= {"security_policy": policy, "security_mode": mode or "SignAndEncrypt",
                   "client_certificate": str(cert), "client_private_key": str(key)}
    if trust or policy != "None":  # kept with policy None too: a later --security session uses them
        config["trusted_server_certificates"] = [str(p.resolve()) for p in trust]
    if user:
        config |= {"username": user, "password_env": password_env or _PASSWORD_ENV}
    elif password_env:
        raise ConfigError("--password-env needs --user")
    return config


def _identity(user: str | None, security: str | None = None) -> dict[str, Any] | None:
    """This session's identity and security (never written to the project): --user with the password from
    FACTORYPILOT_OPCUA_PASSWORD or a hidden prompt; --security overrides the project's policy (the trusted
    server certificates stay the project's)."""
    out: dict[str, Any] = {}
    if security:
        config = _connector_config("-", security, None, None, [])
        config.pop("endpoint")
        config.pop("trusted_server_certificates", None)
        out |= config or {"security_policy": "None", "security_mode": "None"}
    if user:
        password = os.environ.get(_PASSWORD_ENV)
        if password is None:
            password = str(typer.prompt(f"password for {user}", hide_input=True))
        out |= {"username": user, "password": password, "password_env": None}
    return out or None


def _show(result: Any) -> None:
    p = result.proposal
    table = Table(title=f"role → tag mapping (machine: {p.machine_label(p.equipment)})")
    for col in ("role", "req", "proposed tag", "on", "confidence", "bound"):
        table.add_column(col)
    for role, rm in p.roles.items():
        style = _STYLE[rm.confidence]
        bound = ("[yellow]absent[/]" if role in result.absent else
                 result.bindings.get(role, "[red]unmapped[/]"))
        table.add_row(role, "yes" if rm.required else "", rm.label or "(absent?)", rm.equipment or "-",
                      f"[{style}]{rm.confidence}[/]", bound)
    console.print(table)
    for role, rm in p.roles.items():
        if rm.conflicts and role not in result.bindings:
            console.print(f"  [dim]{role}: {'; '.join(rm.conflicts)}[/]")
    for role, feeds in result.disabled.items():
        console.print(f"[yellow]![/] {role} absent → disabled: {'; '.join(feeds) or 'nothing'}")
    for role in result.acknowledged:
        console.print(f"[red]![/] {role} absent (acknowledged): every action is blocked — interlock signal not bound")


def _prompt(rm: Any, tags: Sequence[Any]) -> str | None:
    console.print(f"\n[bold]{rm.role}[/] — proposal [{_STYLE[rm.confidence]}]{rm.confidence}[/] confidence"
                  + (f" ({'; '.join(rm.conflicts)})" if rm.conflicts else ""))
    for i, c in enumerate(rm.candidates, 1):
        console.print(f"  {i}. {c.label} on {c.equipment}  [dim]{c.tag_id}  score {c.score:.2f}[/]")
    console.print(f"  absent = this plant has no such signal (disables: {'; '.join(rm.feeds) or 'nothing'})")
    default = "1" if rm.tag_id else "absent"
    names = {n for t in tags for n in (t.id, t.name, *t.display_names.values())}
    while True:
        answer = str(typer.prompt("number, tag name/id, 'absent' or 'skip'", default=default)).strip()
        if answer.lower() in ("skip", "s", ""):
            return None
        if answer.lower() in ("absent", "없음", "a"):
            return "absent"
        if answer.isdigit() and 1 <= int(answer) <= len(rm.candidates):
            return str(rm.candidates[int(answer) - 1].tag_id)
        if answer in names or rm.kind == "method":
            return answer
        console.print(f"[red]no candidate {answer!r} and no tag of that name / 해당 태그가 없습니다[/]")


def _choose(proposal: Any) -> str | None:
    machines = [proposal.equipment, *proposal.alternatives]
    console.print("several machines could host this template — which one is it? / 어느 설비입니까?")
    for i, m in enumerate(machines, 1):
        console.print(f"  {i}. {proposal.machine_label(m)}  [dim]{m}, fit {proposal.machines.get(m, 0):.2f}[/]")
    _left_out(proposal)
    answer = str(typer.prompt("number", default="1")).strip()
    return machines[int(answer) - 1] if answer.isdigit() and 1 <= int(answer) <= len(machines) else answer


def _left_out(proposal: Any) -> None:
    for m, why in proposal.left_out.items():
        console.print(f"  [dim]not offered / 제외: {proposal.machine_label(m)} — {why}[/]")


def _ack(role: str, locks: list[str]) -> bool:
    return bool(typer.confirm(f"{role} feeds interlock {', '.join(locks)}. Without it every action is blocked "
                              "('interlock signal not bound'). Acknowledge that this plant has no such signal?",
                              default=False))


@template_app.command("map")
def map_(
    project: Path = typer.Option(Path("."), "--project", help="project folder (template init)"),
    answers: Path | None = typer.Option(None, "--answers", help="non-interactive: YAML role: tag (id or name); "
                                        "null = the plant has no such signal"),
    write_answers: Path | None = typer.Option(None, "--write-answers", help="write the proposal as an answers file "
                                              "(guesses below high marked with '?') to edit and pass back"),
    accept: str = typer.Option("high", "--accept", help="accept proposals at or above: high | medium | low"),
    interactive: bool = typer.Option(True, "--interactive/--no-interactive",
                                     help="ask about roles below --accept (default when no --answers)"),
    check: bool = typer.Option(True, "--check/--no-check", help="run the read-only check once every role is mapped"),
    equipment: str | None = typer.Option(None, "--equipment", help="which machine the pilot is for (its browse "
                                         "name or part of its asset path), when several could host it"),
    absent: list[str] = typer.Option([], "--absent", help="role this plant has no signal for; repeatable"),
    ack_interlock: list[str] = typer.Option([], "--ack-interlock", help="acknowledge an absent role that feeds an "
                                            "interlock (every action is then blocked); repeatable"),
    user: str | None = typer.Option(None, "--user", help="log in as this user for this session (password from "
                                    "FACTORYPILOT_OPCUA_PASSWORD or a hidden prompt)"),
    security: str | None = typer.Option(None, "--security", help="this session's security: None, Basic256Sha256 "
                                        "(= SignAndEncrypt) or Basic256Sha256/Sign (default: the project's)"),
) -> None:
    """Browse the firm's plant, propose role → tag bindings with confidence, confirm, save; then check read-only.

    Refuses (exit 1) while required roles are neither mapped nor declared absent.

    Example:  factorypilot template map --project mobility-cnc-성서정밀 --answers answers.yaml
              factorypilot template map --project robot-firm --equipment RB01 --absent cell_door_open
              --ack-interlock cell_door_open
    """
    from factorypilot.pilots.spreading.mapping import answers_meta, load_answers
    from factorypilot.pilots.spreading.templates import Project, map_project, readonly_check

    if accept not in ("high", "medium", "low"):
        raise ConfigError(f"--accept must be high, medium or low, not {accept!r}")
    proj = Project.open(project)
    given = load_answers(answers) if answers else None
    acks, eq_answer = answers_meta(answers) if answers else ([], None)
    ask = interactive and given is None and write_answers is None
    identity = _identity(user, security)
    started = time.perf_counter()
    result = asyncio.run(map_project(proj, answers=given, accept=accept,  # type: ignore[arg-type]
                                     confirm=_prompt if ask else None, equipment=equipment or eq_answer,
                                     absent=absent, acknowledge=[*ack_interlock, *acks],
                                     choose=_choose if ask else None, ack=_ack if ask else None, identity=identity))
    _show(result)
    if result.proposal.ambiguous and not equipment:
        fit = " / ".join(result.proposal.machine_label(m)
                         for m in [result.proposal.equipment, *result.proposal.alternatives])
        console.print(f"[yellow]![/] several machines fit: {fit} — nothing is taken unasked; choose one with "
                      "--equipment / 여러 설비가 맞습니다: --equipment 로 하나를 고르세요")
        _left_out(result.proposal)
    elif result.proposal.left_out and not equipment:
        console.print(f"machine / 설비: {result.proposal.machine_label(result.proposal.equipment)}")
        _left_out(result.proposal)
    if write_answers:
        write_answers.write_text(result.proposal.answers_text(), encoding="utf-8")
        console.print(f"wrote {write_answers} — confirm or fix each line ('?' = unconfirmed guess, null = absent) and "
                      f"run: factorypilot template map --answers {write_answers}")
    if result.missing:
        raise ConfigError(f"required roles still unmapped: {', '.join(result.missing)}", where=str(proj.spec_path),
                          hint="map them, or declare the plant has none: --absent ROLE (answers file: ROLE: null)")
    console.print(f"[green]✓[/] all required roles mapped or declared absent in {time.perf_counter() - started:.1f} s")
    if check:
        _print_check(asyncio.run(readonly_check(proj, identity=identity)))


def _print_check(report: dict[str, Any]) -> None:
    for role, r in report["roles"].items():
        mark = "[red]✗[/]" if r["problems"] else "[yellow]![/]" if r.get("warnings") else "[green]✓[/]"
        notes = "; ".join(r["problems"] + r.get("warnings", []))
        console.print(f"{mark} {role}: {r.get('method') or r['values']} {notes}")
    for role, feeds in report.get("disabled", {}).items():
        console.print(f"[yellow]-[/] {role}: absent → disabled: {'; '.join(feeds) or 'nothing'}")
    if not report.get("write_capable", True):
        console.print(f"[yellow]![/] identity {report.get('identity')} cannot write the setpoints: fine read-only; "
                      "enable-writes needs a check with a write-capable user")
    verdict = "[green]passed[/]" if report["checks_passed"] else "[red]failed[/]"
    console.print(f"read-only check {verdict}; writes {'ENABLED' if report['writes_enabled'] else 'disabled'}; "
                  f"report: {report['path']}")
    if not report["checks_passed"]:
        raise ConfigError("read-only check failed: " + "; ".join(report["problems"] or ["writes are enabled"]),
                          where=report["path"], hint="fix the mapping (template map) before running")


@template_app.command("check")
def check_(project: Path = typer.Option(Path("."), "--project", help="project folder"),
           reads: int = typer.Option(5, "--reads", min=1, help="reads per tag"),
           user: str | None = typer.Option(None, "--user", help="check as this user (password from "
                                           "FACTORYPILOT_OPCUA_PASSWORD or a prompt)"),
           security: str | None = typer.Option(None, "--security", help="this session's security (default: the "
                                               "project's)")) -> None:
    """Live read-only evaluation: read every bound tag, check it against its role, run the detectors.

    Example:  factorypilot template check --project mobility-cnc-성서정밀 --user operator
    """
    from factorypilot.pilots.spreading.templates import Project, readonly_check

    _print_check(asyncio.run(readonly_check(Project.open(project), reads=reads,
                                                identity=_identity(user, security))))


@template_app.command("run")
def run(
    project: Path = typer.Option(Path("."), "--project", help="project folder"),
    max_runs: int | None = typer.Option(None, "--max-runs", help="stop after handling this many events"),
    seconds: float | None = typer.Option(None, "--seconds", help="stop after this many seconds"),
    knowledge: bool = typer.Option(True, help="load the project's knowledge documents"),
    lang: str = typer.Option("ko", "--lang", help="report language: ko or en"),
    user: str | None = typer.Option(None, "--user", help="log in as this user (password from "
                                    "FACTORYPILOT_OPCUA_PASSWORD or a prompt)"),
    security: str | None = typer.Option(None, "--security", help="this session's security: None, Basic256Sha256 "
                                        "(= SignAndEncrypt) or Basic256Sha256/Sign (default: the project's)"),
) -> None:
    """Run the firm's pilot on its plant (read-only until writes are enabled); Ctrl-C stops.

    Example:  factorypilot template run --project mobility-cnc-성서정밀 --seconds 600
    """
    from factorypilot.cli._render import render_report
    from factorypilot.pilots.spreading.templates import Project, run_project

    proj = Project.open(project)
    console.print(f"pilot running for {proj.company} — writes "
                  f"{'ENABLED' if proj.writes_enabled() else 'disabled (read-only)'}")
    outcomes = asyncio.run(run_project(proj, max_runs=max_runs, stop_after_s=seconds, knowledge=knowledge,
                                       identity=_identity(user, security)))
    for o in outcomes:
        if o.report:
            render_report(o.report, console, lang=lang)
    console.print(f"stopped after {len(outcomes)} run(s)")


@template_app.command("enable-writes")
def enable_writes(project: Path = typer.Option(Path("."), "--project", help="project folder"),
                  by: str = typer.Option(..., "--by", help="who enables writes"),
                  reason: str = typer.Option(..., "--reason", help="why (e.g. read-only check passed)")) -> None:
    """Allow the pilot to write to the plant (within its safety policy); recorded in the ledger.

    Example:  factorypilot template enable-writes --project firm --by 김반장 --reason "2주 읽기전용 검증 완료"
    """
    from factorypilot.pilots.spreading.templates import Project

    seq = Project.open(project).set_writes(True, by=by, reason=reason)
    console.print(f"[yellow]writes enabled[/] by {by} (ledger record {seq})")


@template_app.command("disable-writes")
def disable_writes(project: Path = typer.Option(Path("."), "--project", help="project folder"),
                   by: str = typer.Option(..., "--by", help="who disables writes"),
                   reason: str = typer.Option(..., "--reason", help="why")) -> None:
    """Put the pilot back into read-only mode; recorded in the ledger.

    Example:  factorypilot template disable-writes --project mobility-cnc-성서정밀 --by 김반장 --reason "설비 개조"
    """
    from factorypilot.pilots.spreading.templates import Project

    seq = Project.open(project).set_writes(False, by=by, reason=reason)
    console.print(f"writes disabled by {by} (ledger record {seq})")
