"""``factorypilot demo --approval``: the terminal side of the console demo (see factorypilot.console._demo)."""

from __future__ import annotations

import asyncio

from rich.console import Console

from factorypilot.errors import FactoryPilotError
from factorypilot.settings import get_settings

console = Console()
DEMO_USER = "demo"


def approval_demo(*, seed: int, port: int) -> None:
    from factorypilot.console._demo import prepare_users, run_approval_demo

    home = get_settings().home
    home.mkdir(parents=True, exist_ok=True)
    password = prepare_users(home, "mobility-cnc", DEMO_USER)

    def ready(url: str) -> None:
        console.rule("[bold]factorypilot demo --approval[/]")
        console.print(f"1. open / 브라우저에서 여세요: [bold]{url}[/]")
        if password:
            console.print(f"2. log in / 로그인: user [bold]{DEMO_USER}[/], password [bold]{password}[/] "
                          "(shown once / 한 번만 표시)")
        else:
            console.print(f"2. log in as / 로그인: [bold]{DEMO_USER}[/] (password set earlier / 이전에 받은 비밀번호)")
        console.print("3. 승인 대기 → 승인 (Approvals → Approve). Ctrl-C stops the demo.")

    result = asyncio.run(run_approval_demo(home=home, port=port, seed=seed, ready=ready,
                                           say=lambda m: console.print(m)))
    feed = [v for _, role, v in result.writes if role == "feed_override"]
    console.print(f"run {result.run_status}; decided by {result.decided_by}; feed_override writes on the plant: "
                  f"{feed} / 설비에 쓴 값")
    if result.run_status not in ("done", "attention"):
        raise FactoryPilotError(f"the demo run ended with status {result.run_status!r}",
                                hint="run with --debug for the agent's log")
