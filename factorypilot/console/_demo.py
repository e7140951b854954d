"""``factorypilot demo --approval``: the demo plant and pilot, with the console, waiting for a person.

The mobility pilot runs against the simulated line with its feed-override rule set to *always ask*; the
spindle vibration drifts, the pilot proposes lowering the feed and waits. The console serves on 127.0.0.1;
the person logs in, sees the request in Korean and approves (or edits within policy, or rejects). The pilot
applies the decision through the same single path as ``runs approve``, reads the value back, and the demo
ends, printing what the plant received.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from factorypilot.console._app import ConsoleConfig, create_app
from factorypilot.console._users import UserStore

__all__ = ["DEMO_COMPANY", "ApprovalDemo", "run_approval_demo"]

DEMO_COMPANY = "demo"


@dataclass
class ApprovalDemo:
    url: str
    run_status: str
    writes: list[tuple[int, str, Any]]
    decided_by: str | None


def prepare_users(home: Path, pilot: str, user: str) -> str | None:
    """Assign the demo pilot to the demo firm; create the demo approver once. Returns a new password or None."""
    users = UserStore(home / "console.sqlite")
    try:
        users.assign_pilot(pilot, DEMO_COMPANY, "mobility")
        if users.user(user) is None:
            password = secrets.token_urlsafe(9)
            users.add_user(user, "approver", DEMO_COMPANY, password)
            return password
        return None
    finally:
        users.close()


async def run_approval_demo(*, home: Path, host: str = "127.0.0.1", port: int = 8765, seed: int = 7,
                            ready: Callable[[str], None] = lambda _: None,
                            say: Callable[[str], None] = lambda _: None) -> ApprovalDemo:
    import uvicorn

    from factorypilot.connectors.registry import create
    from factorypilot.pilots.runtime import open_pilot, resolve_spec
    from factorypilot.pilots.simulator import Fault, FaultKind, PlantSimulator

    spec, spec_path = resolve_spec("mobility")
    assert spec.simulator is not None
    rules = [r.model_copy(update={"approval": "always"}) if r.target == "feed_override" else r
             for r in spec.policy.tags]
    spec = spec.model_copy(update={"lang": "ko", "policy": spec.policy.model_copy(update={"tags": rules})})
    sim_spec = spec.simulator
    assert sim_spec is not None
    server = uvicorn.Server(uvicorn.Config(create_app(ConsoleConfig(home=home)), host=host, port=port,
                                           log_level="warning", lifespan="off"))
    async with PlantSimulator(sim_spec.model, seed=seed, tick_seconds=sim_spec.tick_seconds,
                              realtime=True) as sim:
        bindings = spec.simulator_bindings(sim.roles(), sim.method_ids())
        users = UserStore(home / "console.sqlite")
        try:  # the Pilots page subscribes to the simulator for live values (read-only)
            users.set_link(spec.id, sim.endpoint, {r: t for r, t in bindings.items() if r in spec.roles})
        finally:
            users.close()
        async with create("opcua", {"endpoint": sim.endpoint}) as connector, \
                open_pilot(spec, spec_path, connector=connector, bindings=bindings, home=home) as rt:
            serving = asyncio.create_task(server.serve())
            try:
                while not server.started:
                    if serving.done():
                        serving.result()
                        raise RuntimeError("the console did not start")
                    await asyncio.sleep(0.05)
                url = f"http://{host}:{port}/"
                ready(url)
                sim.inject(Fault(FaultKind.DRIFT, "spindle_vibration", start_tick=sim.tick_index + 5, magnitude=0.06))
                say("spindle vibration drifting; the pilot will ask for approval / 진동 상승 중, 곧 승인 요청")
                outcomes = await rt.monitor(period=0.1, max_runs=2)  # the request, then the applied decision
                sim.clear_faults()
            finally:
                server.should_exit = True
                await serving
            last = outcomes[-1]
            row = rt.store.approval(last.run_id)
            return ApprovalDemo(url=url, run_status=last.status, writes=list(sim.write_log),
                                decided_by=row.decided_by if row else None)
