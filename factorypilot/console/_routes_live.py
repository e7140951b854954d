"""The console's live parts over server-sent events (``/api/stream``): the pending approvals of the user's
firm and, on the Pilots page, the subscribed live values of the firm's pilots.

One stream per open page. It sends ``pending`` when the set of pending requests changes and ``values`` when a
pilot's subscribed values change; it ends after a few minutes and the browser's ``EventSource`` reconnects
(logging in again if the session ended). Nothing here writes.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from factorypilot.agents import LeaseInfo, read_leases
from factorypilot.console._app import ConsoleConfig, require, scope_of
from factorypilot.console._data import pending_approvals
from factorypilot.console._live import LiveHub, PlantLink
from factorypilot.console._specs import spec_for
from factorypilot.console._users import UserStore

router = APIRouter()
_LIFETIME_S = 300.0
_PENDING_EVERY_S = 1.0
LIVE_S = 30.0
"""A lease heartbeat younger than this: the pilot service is running (and its recorded endpoint is current)."""


def link_of(users: UserStore, pilot: str, home: Path, leases: dict[str, LeaseInfo] | None = None) -> PlantLink | None:
    """The plant link of a pilot, first found of:

    1. its assignment's ``--endpoint``/``--bindings`` (``users assign-pilot``);
    2. the endpoint and bindings the running pilot service recorded on its lease (``pilot run --endpoint`` or
       ``--simulate``; only while its heartbeat is younger than :data:`LIVE_S`);
    3. the spec's connector and bindings.

    ``None`` when none names a plant (the page then shows the latest recorded values). ``leases``: already read
    (:func:`~factorypilot.agents.read_leases`), else read here."""
    owner = users.pilot_owners().get(pilot)
    spec = spec_for(pilot, owner[1] if owner else None)
    assigned = users.link(pilot)
    lease = (read_leases(home / "agent.sqlite") if leases is None else leases).get(pilot)
    served = lease if lease is not None and lease.endpoint and lease.age_s() < LIVE_S else None
    if assigned and assigned[1]:
        bindings = assigned[1]
    elif not assigned and served is not None and served.bindings:
        bindings = served.bindings
    else:
        bindings = dict(spec.bindings) if spec else {}
    if spec is not None:
        bindings = {r: t for r, t in bindings.items() if r in spec.roles and spec.roles[r].kind == "signal"}
    if not bindings:
        return None
    if assigned:
        return PlantLink("opcua", {"endpoint": assigned[0]}, bindings)
    if served is not None and served.endpoint:
        return PlantLink("opcua", {"endpoint": served.endpoint}, bindings)
    if spec is not None and spec.connector is not None:
        return PlantLink(spec.connector.type, dict(spec.connector.config), bindings)
    return None


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


@router.get("/api/stream")
async def stream(request: Request, pilots: int = 0) -> Response:
    session = require(request)
    cfg: ConsoleConfig = request.app.state.cfg
    users: UserStore = request.app.state.users
    hub: LiveHub = request.app.state.live
    scope = scope_of(request, session)
    watched: list[str] = []
    if pilots:
        visible = scope.pilots if scope.pilots is not None else list(users.pilot_owners())
        for pilot in visible:
            link = await run_in_threadpool(link_of, users, pilot, cfg.home)
            if link is not None:
                hub.watch(pilot, link)
                watched.append(pilot)

    async def events() -> AsyncIterator[str]:
        started = time.monotonic()
        shown: list[str] | None = None
        sent: dict[str, Any] = {}
        version, checked = -1, 0.0
        yield "retry: 2000\n\n"
        while time.monotonic() - started < _LIFETIME_S and not await request.is_disconnected():
            if time.monotonic() - checked >= _PENDING_EVERY_S:
                checked = time.monotonic()
                ids = [i["run_id"] for i in await run_in_threadpool(pending_approvals, cfg.home, scope)]
                if ids != shown:
                    shown = ids
                    yield _event("pending", {"count": len(ids), "runs": ids})
            for pilot in watched:
                values, error = hub.snapshot(pilot)
                data = {"pilot": pilot, "error": error, "values": {r: asdict(v) for r, v in values.items()}}
                if sent.get(pilot) != data:
                    sent[pilot] = data
                    yield _event("values", data)
            version = await hub.wait(version, _PENDING_EVERY_S)

    return StreamingResponse(events(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})
