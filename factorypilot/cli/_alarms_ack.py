"""``factorypilot alarms ack``: propose acknowledging (or confirming) a plant alarm — through the pilot's guard.

The command never acknowledges anything itself. It reads the alarm from the plant (EventId, severity, source),
checks the proposal with the pilot's safety policy (its ``alarms:`` rules), records it on the ledger and
leaves it waiting for a named person: ``factorypilot runs approve RUN --by NAME``. The pilot service (or
``factorypilot pilot resume``) then acknowledges it exactly once and reads ``AckedState`` back.
"""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from factorypilot.cli._alarms import alarms_app
from factorypilot.errors import ConfigError
from factorypilot.settings import get_settings

console = Console()


async def _propose(pilot: str, condition: str, by: str, comment: str, confirm: bool, endpoint: str | None,
                   bindings_file: Path | None, branch: str | None) -> Any:
    from factorypilot.agents import AgentRuntime
    from factorypilot.agents._external import alarm_request, propose
    from factorypilot.cli._pilot import _bindings, _spec
    from factorypilot.connectors.registry import create

    spec, _ = _spec(pilot)
    bindings = _bindings(bindings_file)
    if endpoint:
        cfg = dict(spec.connector.config) if spec.connector and spec.connector.type == "opcua" else {}
        cfg.pop("endpoints", None)
        connector = create("opcua", cfg | {"endpoint": endpoint})
    elif spec.connector is not None:
        connector = create(spec.connector.type, spec.connector.config)
    else:
        raise ConfigError(f"pilot {spec.id!r} names no connector", hint="give --endpoint opc.tcp://HOST:PORT")
    async with contextlib.AsyncExitStack() as stack:
        await stack.enter_async_context(connector)
        rt = await stack.enter_async_context(AgentRuntime(spec.agent_config(bindings), connector,
                                                          home=get_settings().home, lease=False))
        alarm, request = await alarm_request(rt, condition, confirm=confirm, comment=comment,
                                             requested_by=f"cli:{by}", branch_id=branch)
        return alarm, await propose(rt, request, proposer={"client": f"cli:{by}", "by": by, "transport": "cli"})


@alarms_app.command("ack")
def ack(
    pilot: str = typer.Argument(..., help="pilot.yaml path or reference pilot name (its policy decides)"),
    condition: str = typer.Argument(..., help="ConditionId of the alarm (see 'factorypilot connect alarms')"),
    by: str = typer.Option(..., "--by", help="your name (recorded as the proposer)"),
    comment: str = typer.Option(..., "--comment", help="the acknowledgement comment sent to the plant"),
    confirm: bool = typer.Option(False, "--confirm", help="Confirm instead of Acknowledge"),
    branch: str | None = typer.Option(None, "--branch", help="BranchId of a condition branch (see 'connect alarms'); "
                                                              "default: the main branch"),
    endpoint: str | None = typer.Option(None, help="OPC-UA endpoint (overrides the spec's connector)"),
    bindings: Path | None = typer.Option(None, help="YAML file mapping roles to tag ids on this plant"),
) -> None:
    """Propose acknowledging a plant alarm; it waits for a person's approval, then the pilot applies it.

    Example:  factorypilot alarms ack mobility "ns=2;s=mobility.line-01.alarm_active.Condition" --by 김민수
    --comment "공구 교체 예정" --endpoint opc.tcp://127.0.0.1:4840
    """
    alarm, outcome = asyncio.run(_propose(pilot, condition, by, comment, confirm, endpoint, bindings, branch))
    verb = "confirm" if confirm else "acknowledge"
    console.print(f"alarm / 알람: {escape(alarm.message)} (severity {alarm.severity}, "
                  f"{'active' if alarm.active else 'inactive'}, {'acked' if alarm.acked else 'unacked'})")
    if outcome.status != "pending_approval":
        console.print(f"[red]✗[/] {verb} refused by the safety policy / 안전 정책이 거부했습니다:")
        for en, ko in zip(outcome.reasons, outcome.reasons_ko or outcome.reasons, strict=True):
            console.print(f"  - {escape(en)}" + (f" / {escape(ko)}" if ko != en else ""))
        raise typer.Exit(1)
    console.print(f"[green]✓[/] {verb} proposed as run {outcome.request_id} — waiting for approval / 승인 대기\n"
                  f"  approve: factorypilot runs approve {outcome.request_id} --by NAME\n"
                  f"  then the pilot service applies it (or: factorypilot pilot resume {pilot}"
                  + (f" --endpoint {endpoint}" if endpoint else "") + ")")
