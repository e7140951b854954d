"""``factorypilot console`` (the operator web console) and ``factorypilot users`` (its users and firms).

The data is the home's (``FACTORYPILOT_HOME``), or with ``--project DIR`` a template project's (``DIR/home``, as
``runs … --project`` and ``template run --project`` use it): its runs, ledger and console users; the project's
pilot is assigned to the project's firm when nobody assigned it, and the project is listed on the Programme and
mapping pages.

The console binds to 127.0.0.1 by default. Binding elsewhere needs ``--allow-remote`` and prints a warning:
put it behind a TLS-terminating reverse proxy (``--root-path``, ``--forwarded-allow-ips``) so session cookies
travel only over HTTPS.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
import yaml
from rich.console import Console

from factorypilot.cli._runs import _home, _project_option
from factorypilot.errors import ConfigError

if TYPE_CHECKING:
    from factorypilot.console import UserStore

console = Console()
err = Console(stderr=True)
users_app = typer.Typer(help="Console users (roles viewer|operator|approver|admin) and which firm owns which pilot.",
                        no_args_is_help=True)
_LOOPBACK = {"127.0.0.1", "::1", "localhost"}


def console_command(
    host: str = typer.Option("127.0.0.1", help="address to bind (loopback by default)"),
    port: int = typer.Option(8765, min=1, max=65535, help="TCP port"),
    allow_remote: bool = typer.Option(False, "--allow-remote", help="required to bind to a non-loopback address"),
    root_path: str = typer.Option("", help="URL prefix when served under a reverse proxy path (e.g. /console)"),
    forwarded_allow_ips: str | None = typer.Option(
        None, help="trusted proxy addresses whose X-Forwarded-For/-Proto headers are believed (comma-separated)"),
    secure_cookies: bool = typer.Option(False, "--secure-cookies",
                                        help="always mark cookies Secure (default: when the request came over HTTPS)"),
    projects: list[Path] = typer.Option([], "--projects", help="firms' template project folders (Programme page)"),
    reports: list[Path] = typer.Option([], "--reports", help="evaluation report folders (default HOME/reports)"),
    profiles: Path | None = typer.Option(None, "--profiles", help="firm profiles folder: the Programme page shows "
                                         "each firm's matching results (ranked in the background at start)"),
    matching: Path | None = typer.Option(None, "--matching", help="or: the JSON of 'factorypilot match DIR "
                                         "--format json' to show as the matching results"),
    project: Path | None = _project_option(),
) -> None:
    """Serve the operator web console: approvals, runs, ledger, pilots, evaluation, programme (Korean/English).

    Example:  factorypilot console --port 8765
              factorypilot console --project robotics-weld-cell-메디텍   (a firm's template project)
    """
    import uvicorn

    from factorypilot.console import ConsoleConfig, UserStore, create_app

    if host not in _LOOPBACK:
        if not allow_remote:
            raise ConfigError(f"refusing to bind the console to {host}: it would be reachable from other machines",
                              hint="add --allow-remote (behind a TLS reverse proxy), or keep --host 127.0.0.1")
        err.print(f"[yellow]warning:[/] the console listens on {host}:{port}, reachable from other machines; "
                  "serve it only behind HTTPS / 외부 접속 허용: HTTPS 프록시 뒤에서만 사용하세요")
    home = _home(project)
    home.mkdir(parents=True, exist_ok=True)
    store = UserStore(home / "console.sqlite")
    try:
        if project is not None:
            _own_project_pilot(store, project)
            if project.resolve() not in {p.resolve() for p in projects}:
                projects = [*projects, project]
        if not store.users():
            err.print("[yellow]![/] no console users yet: add one with  factorypilot users add NAME --role approver "
                      "--company ID" + (f" --project {project}" if project else "") + "  / 사용자를 먼저 추가하세요")
    finally:
        store.close()
    cfg = ConsoleConfig(home=home, root_path=root_path.rstrip("/"), secure_cookies=True if secure_cookies else None,
                        projects=tuple(projects), reports=tuple(reports), profiles=profiles, matching=matching)
    console.print(f"factorypilot console: http://{host}:{port}{cfg.root_path}/  (Ctrl-C to stop) — data {home}")
    uvicorn.run(create_app(cfg), host=host, port=port, root_path=cfg.root_path, log_level="warning",
                proxy_headers=forwarded_allow_ips is not None, forwarded_allow_ips=forwarded_allow_ips or "",
                server_header=False)


def _own_project_pilot(store: UserStore, project: Path) -> None:
    """Assign the project's pilot to the project's firm (with the project's spec) unless someone assigned it."""
    from factorypilot.pilots.spreading.templates import Project

    proj = Project.open(project)
    pilot = proj.spec().id
    if pilot not in store.pilot_owners():
        store.assign_pilot(pilot, proj.company, str(proj.spec_path.resolve()))
        console.print(f"pilot {pilot} belongs to firm {proj.company} (the project's) / 파일럿 {pilot}: "
                      f"{proj.company} 소속 (프로젝트)")


def _users(project: Path | None = None) -> UserStore:
    from factorypilot.console import UserStore

    return UserStore(_home(project) / "console.sqlite")


@users_app.command("add")
def add(name: str = typer.Argument(..., help="login name (Korean allowed)"),
        role: str = typer.Option(..., "--role", help="viewer | operator | approver | admin"),
        company: str = typer.Option(..., "--company", help="the user's firm id ('*' = programme staff, all firms)"),
        password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
        replace: bool = typer.Option(False, "--replace", help="reset an existing user's role, firm, password"),
        project: Path | None = _project_option()) -> None:
    """Add a console user (the password is hashed with argon2id; asked twice unless --password-stdin).

    Example:  factorypilot users add 김민수 --role approver --company acme
    """
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("password / 비밀번호", hide_input=True, confirmation_prompt=True)
    store = _users(project)
    try:
        user = store.add_user(name, role, company, password, replace=replace)
    finally:
        store.close()
    console.print(f"[green]✓[/] user {user.name}: role {user.role}, firm {user.company} / 사용자 추가됨")


@users_app.command("list")
def list_(project: Path | None = _project_option()) -> None:
    """List console users and the firm each pilot belongs to.

    Example:  factorypilot users list
    """
    store = _users(project)
    try:
        for u in store.users():
            typer.echo(f"{u.name}\t{u.role}\t{u.company}")
        for pilot, (company, spec) in store.pilot_owners().items():
            typer.echo(f"pilot {pilot}\tfirm {company}" + (f"\tspec {spec}" if spec else ""))
    finally:
        store.close()


@users_app.command("remove")
def remove(name: str = typer.Argument(...), project: Path | None = _project_option()) -> None:
    """Remove a console user (their sessions end at once).

    Example:  factorypilot users remove 김민수
    """
    store = _users(project)
    try:
        if not store.remove_user(name):
            raise ConfigError(f"no console user {name!r}", hint="see: factorypilot users list")
    finally:
        store.close()
    console.print(f"[green]✓[/] removed {name}")


@users_app.command("assign-pilot")
def assign_pilot(pilot: str = typer.Argument(..., help="pilot id as in its runs (e.g. mobility-cnc)"),
                 company: str = typer.Option(..., "--company", help="the firm that owns it"),
                 spec: str | None = typer.Option(None, "--spec", help="pilot.yaml or reference name"),
                 endpoint: str | None = typer.Option(None, "--endpoint", help="the plant's OPC UA endpoint: the "
                                                     "Pilots page subscribes to it for live values (read-only)"),
                 bindings: Path | None = typer.Option(None, "--bindings", help="YAML role: tag id (as for pilot "
                                                      "run); default: the spec's bindings"),
                 project: Path | None = _project_option()) -> None:
    """Say which firm owns a pilot: its runs, approvals and ledger records are visible to that firm's users only.

    Example:  factorypilot users assign-pilot mobility-cnc --company acme --spec mobility
              --endpoint opc.tcp://127.0.0.1:4840 --bindings bindings.yaml
    """
    roles = _bindings(bindings) if bindings else None
    if roles is not None and endpoint is None:
        raise ConfigError("--bindings needs --endpoint (the plant they are on)", hint="add --endpoint opc.tcp://…")
    store = _users(project)
    try:
        store.assign_pilot(pilot, company, spec)
        if endpoint:
            store.set_link(pilot, endpoint, roles or {})
    finally:
        store.close()
    console.print(f"[green]✓[/] pilot {pilot} belongs to firm {company} / 파일럿 {pilot}: {company} 소속"
                  + (f"; live values from {endpoint} / 실시간 값: {endpoint}" if endpoint else ""))


def _bindings(path: Path) -> dict[str, str]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"cannot read bindings file: {exc}", where=str(path),
                          hint="a UTF-8 YAML mapping of role: tag id") from exc
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ConfigError("the bindings file must be a YAML mapping of role: tag id", where=str(path))
    return dict(data)
