"""``factorypilot pilot list|validate|describe|schema|run|resume``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from factorypilot.cli._render import render_report
from factorypilot.errors import ConfigError
from factorypilot.settings import get_settings

pilot_app = typer.Typer(help="Pilot specs: validate, describe, run as a service.", no_args_is_help=True)
console = Console()


def _spec(name: str) -> tuple[Any, Path]:
    from factorypilot.pilots.runtime import resolve_spec

    return resolve_spec(name)


def _bindings(path: Path | None) -> dict[str, str] | None:
    if path is None:
        return None
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read bindings: {exc}", where=str(path),
                          hint="a YAML mapping of role: tag id") from exc
    if not isinstance(data, dict) or not all(isinstance(v, str) for v in data.values()):
        raise ConfigError("bindings must map role names to tag ids (strings)", where=str(path))
    return {str(k): v for k, v in data.items()}


@pilot_app.command("list")
def list_() -> None:
    """List the installed sector pilots: the reference pilots and any registered by entry point.

    Example:  factorypilot pilot list
    """
    from factorypilot.pilots.runtime import reference_pilots
    from factorypilot.pilots.spec import load_spec

    table = Table(title="sector pilots / 섹터 파일럿")
    for col in ("name", "id", "sector", "title", "roles", "playbooks"):
        table.add_column(col)
    for name, path in reference_pilots().items():
        s = load_spec(path)
        title = s.title if isinstance(s.title, str) else f"{s.title.get('en', '')} / {s.title.get('ko', '')}"
        table.add_row(name, s.id, s.sector, title, str(len(s.roles)), str(len(s.playbooks)))
    console.print(table)


@pilot_app.command("new")
def new(sector: str = typer.Argument(..., help="name of the new sector pilot: lower-case, e.g. moulding"),
        directory: Path = typer.Option(Path("."), "--dir", help="where to create the <sector>-pilot/ folder")) -> None:
    """Create a new sector pilot package: spec, one playbook, scenarios, a tiny plant model and a gate test.

    It passes `factorypilot eval SECTOR --gate` once installed (`pip install -e <folder>`).
    See docs/writing-a-pilot.md.

    Example:  factorypilot pilot new moulding --dir ~/pilots
    """
    from factorypilot.pilots.sectors import sector_pilots
    from factorypilot.pilots.starter import new_pilot

    target = new_pilot(sector, directory, installed=set(sector_pilots()))
    console.print(f"[green]✓[/] {target}: new sector pilot {sector!r} / 새 섹터 파일럿 {sector!r} 생성")
    console.print("next / 다음 단계:", soft_wrap=True)
    for step in (f"pip install -e {target}", "factorypilot pilot list", f"factorypilot eval {sector} --gate"):
        console.print(f"  {step}", soft_wrap=True, markup=False)


@pilot_app.command("validate")
def validate(spec: str = typer.Argument(..., help="pilot.yaml path or reference pilot name")) -> None:
    """Validate a pilot spec (unknown keys, roles, detectors, playbooks, policy).

    Example:  factorypilot pilot validate pilots/mobility/pilot.yaml
    """
    s, path = _spec(spec)
    console.print(f"[green]✓[/] {path}: pilot {s.id!r} ({s.sector}) — {len(s.roles)} roles, "
                  f"{len(s.detectors)} detectors, {len(s.playbooks)} playbooks, {len(s.policy.tags)} write rules")
    missing = s.missing_roles()
    if missing and s.simulator is None:
        console.print(f"[yellow]![/] unmapped required roles: {', '.join(missing)} (map before running)")


@pilot_app.command("describe")
def describe(spec: str = typer.Argument(..., help="pilot.yaml path or reference pilot name"),
             lang: str = typer.Option("en", "--lang", help="en or ko")) -> None:
    """Show a pilot's roles, detectors, playbooks and safety policy.

    Example:  factorypilot pilot describe mobility --lang ko
    """
    from factorypilot.agents.planners.base import localized

    s, _ = _spec(spec)
    console.rule(f"{s.id} — {localized(s.title, lang)}")
    console.print(localized(s.description, lang))
    roles = Table(title="roles")
    for col in ("role", "meaning", "unit", "type", "required", "writable", "bound to"):
        roles.add_column(col)
    for r, rs in s.roles.items():
        roles.add_row(r, localized(rs.description, lang), rs.unit or "", rs.data_type.value, str(rs.required),
                      str(rs.writable), s.bindings.get(r, "(simulator)" if s.simulator else "-"))
    console.print(roles)
    pb = Table(title="playbooks")
    for col in ("id", "when", "actions"):
        pb.add_column(col)
    for p in s.playbooks:
        acts = ", ".join(a.write or a.call or f"note:{a.note}" for a in p.actions)
        pb.add_row(p.id, f"{p.when.role} ≥ {p.when.severity.value}", acts)
    console.print(pb)
    writes = "enabled" if s.policy.writes_enabled else "DISABLED"
    pol = Table(title=f"safety policy {s.policy.name!r} (writes {writes})")
    for col in ("target", "range", "max step", "rate", "approval"):
        pol.add_column(col)
    for t in s.policy.tags:
        pol.add_row(t.target, f"{t.min}..{t.max}", str(t.max_step),
                    f"{t.max_changes}/{t.window_s:g}s" if t.max_changes else "-", t.approval)
    console.print(pol)
    for lock in s.policy.interlocks:
        console.print(f"interlock [bold]{lock.name}[/]: " + " and ".join(
            f"{c.tag} {c.op} {c.value}" for c in lock.when))


@pilot_app.command("schema")
def schema(out: Path | None = typer.Option(None, "--out", help="write to this file instead of stdout")) -> None:
    """Print the JSON Schema of pilot specs (for editors and CI validation).

    Example:  factorypilot pilot schema --out docs/pilot-spec.schema.json
    """
    from factorypilot.pilots.spec import PilotSpec

    text = json.dumps(PilotSpec.model_json_schema(), indent=2, ensure_ascii=False)
    if out:
        out.write_text(text + "\n", encoding="utf-8")
        console.print(f"wrote {out}")
    else:
        typer.echo(text)


async def _serve(spec: str, endpoint: str | None, bindings_file: Path | None, simulate: bool,
                 max_runs: int | None, seconds: float | None, knowledge: bool, resume_only: bool,
                 planner: str = "auto", reissue: tuple[str, str] | None = None) -> list[Any]:
    from factorypilot.connectors.registry import create
    from factorypilot.pilots.runtime import open_pilot

    s, path = _spec(spec)
    bindings = _bindings(bindings_file)
    unknown = sorted(set(bindings or {}) - set(s.roles))
    if unknown:
        raise ConfigError(f"bindings name role(s) the pilot does not have: {', '.join(unknown)}",
                          where=str(bindings_file), hint=f"roles of {s.id}: {', '.join(s.roles)}")
    async with contextlib.AsyncExitStack() as stack:
        if simulate:
            from factorypilot.pilots.simulator import PlantSimulator

            if s.simulator is None:
                raise ConfigError(f"pilot {s.id!r} names no simulator model", hint="drop --simulate")
            sim = await stack.enter_async_context(PlantSimulator(s.simulator.model, seed=s.simulator.seed,
                                                                 tick_seconds=s.simulator.tick_seconds))
            endpoint = sim.endpoint
            bindings = bindings or s.simulator_bindings(sim.roles(), sim.method_ids())
            console.print(f"testbed plant {s.simulator.model!r} at {endpoint}")
        connector = None
        if endpoint:
            cfg = dict(s.connector.config) if s.connector and s.connector.type == "opcua" else {}
            cfg.pop("endpoints", None)
            connector = await stack.enter_async_context(create("opcua", cfg | {"endpoint": endpoint}))
        rt = await stack.enter_async_context(open_pilot(s, path, connector=connector, bindings=bindings,
                                                        home=get_settings().home, knowledge=knowledge,
                                                        planner_kind=planner))
        if reissue is not None:
            return [await rt.reissue(reissue[0], by=reissue[1])]
        if resume_only:
            return await rt.recover()
        if endpoint and rt.lease is not None:  # the console watches the same plant without being told again
            rt.lease.advertise(endpoint, dict(rt.config.roles))
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, rt.stop)
        if seconds:
            loop.call_later(seconds, rt.stop)
        console.print(f"pilot {s.id!r} running — {len(rt.pending())} run(s) waiting for approval; Ctrl-C to stop")
        return await rt.monitor(period=0.1, max_runs=max_runs)
    return []


def _print_outcomes(outcomes: list[Any], lang: str) -> None:
    for o in outcomes:
        if o.report:
            render_report(o.report, console, lang=lang)
        else:
            console.print(f"run {o.run_id}: {o.status}" + (" — approve with: factorypilot runs approve "
                                                           f"{o.run_id} --by NAME" if o.waiting else ""))


@pilot_app.command("run")
def run(
    spec: str = typer.Argument(..., help="pilot.yaml path or reference pilot name"),
    endpoint: str | None = typer.Option(None, help="OPC-UA endpoint (overrides the spec's connector)"),
    bindings: Path | None = typer.Option(None, help="YAML file mapping roles to tag ids on this plant"),
    simulate: bool = typer.Option(False, "--simulate", help="start the spec's simulator model and run against it"),
    max_runs: int | None = typer.Option(None, help="stop after handling this many events"),
    seconds: float | None = typer.Option(None, help="stop after this many seconds"),
    knowledge: bool = typer.Option(True, help="load the pilot's knowledge documents"),
    planner: str = typer.Option("auto", help="playbook, llm (the spec's planner block) or auto"),
    lang: str = typer.Option("en", "--lang", help="report language: en or ko"),
) -> None:
    """Run a pilot as a long-lived service: watch the plant, handle events, wait for approvals.

    Stops on SIGTERM/Ctrl-C (gracefully); a restart resumes interrupted runs and pending approvals.

    Example:  factorypilot pilot run mobility --simulate --max-runs 1
    """
    outcomes = asyncio.run(_serve(spec, endpoint, bindings, simulate, max_runs, seconds, knowledge, False, planner))
    _print_outcomes(outcomes, lang)
    console.print(f"stopped after {len(outcomes)} run(s)")


@pilot_app.command("resume")
def resume(
    spec: str = typer.Argument(..., help="pilot.yaml path or reference pilot name"),
    endpoint: str | None = typer.Option(None, help="OPC-UA endpoint (overrides the spec's connector)"),
    bindings: Path | None = typer.Option(None, help="YAML file mapping roles to tag ids on this plant"),
    knowledge: bool = typer.Option(True, help="load the pilot's knowledge documents"),
    lang: str = typer.Option("en", "--lang", help="report language: en or ko"),
) -> None:
    """Finish runs a crash interrupted and apply decided approvals, then exit.

    Example:  factorypilot pilot resume mobility --endpoint opc.tcp://127.0.0.1:4840 --bindings roles.yaml
    """
    outcomes = asyncio.run(_serve(spec, endpoint, bindings, False, None, None, knowledge, True))
    _print_outcomes(outcomes, lang)
    console.print(f"resumed {len(outcomes)} run(s)")
    parked = [o.run_id for o in outcomes if o.status == "waiting_for_plant"]
    if parked:
        console.print(f"[yellow]![/] {len(parked)} run(s) wait for the plant (unreachable); run resume again when "
                      f"it is back / 설비 연결을 기다리는 실행 {len(parked)}건")
        raise typer.Exit(3)


@pilot_app.command("reissue")
def reissue(
    spec: str = typer.Argument(..., help="pilot.yaml path or reference pilot name"),
    run_id: str = typer.Argument(..., help="the run whose unconfirmed or failed actions to issue again"),
    by: str = typer.Option(..., "--by", help="your name (recorded)"),
    endpoint: str | None = typer.Option(None, help="OPC-UA endpoint (overrides the spec's connector)"),
    bindings: Path | None = typer.Option(None, help="YAML file mapping roles to tag ids on this plant"),
) -> None:
    """Issue a run's unconfirmed or failed actions again — as a NEW run that waits for a person's approval.

    An action issued before a crash is never sent again automatically; after checking the plant, a person
    decides with this command, then approves the new run. The guard checks the actions again on fresh values.

    Example:  factorypilot pilot reissue mobility mobility-cnc-20261125T101500-1a2b3c --by 김민수
    """
    outcomes = asyncio.run(_serve(spec, endpoint, bindings, False, None, None, False, False,
                                  reissue=(run_id, by)))
    for o in outcomes:
        console.print(f"new run {o.run_id}: {o.status} — approve with: factorypilot runs approve {o.run_id} "
                      f"--by NAME / 승인 후 실행됩니다")
