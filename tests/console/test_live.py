"""The live parts over server-sent events, against a real console server (uvicorn on a free port) and the
simulated plant: the stream sends the pending approvals of the user's own firm and the pilot's values from a
real OPC UA subscription; a decision made elsewhere reaches the stream; the Pilots page then shows the live
values (not the recorded ones); and the plant is never written."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
import yaml
from typer.testing import CliRunner

from factorypilot.agents import RunStore
from factorypilot.cli._app import app as cli_app
from factorypilot.cli._commands import register
from factorypilot.console import ConsoleConfig, create_app
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import PlantHandle, running_plant
from tests.console.conftest import login

register(cli_app)
EXE = str(Path(sys.executable).with_name("factorypilot"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


@pytest.fixture
def server(home: Path) -> Iterator[str]:
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(create_app(ConsoleConfig(home=home)), host="127.0.0.1", port=port,
                                        log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:  # wait for the event, bounded
        assert time.monotonic() < deadline, "console did not start"
        assert thread.is_alive(), "console thread died"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=30)


def _events(response: httpx.Response) -> Iterator[tuple[str, dict[str, Any]]]:
    name = ""
    for line in response.iter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])


def test_stream_sends_scoped_pending_and_live_subscribed_values(home: Path, tmp_path: Path, plant: PlantHandle,
                                                                server: str) -> None:
    roles = yaml.safe_load(reference_pilots()["mobility"].read_text(encoding="utf-8"))["roles"]
    bindings = tmp_path / "bindings.yaml"
    bindings.write_text(yaml.safe_dump({r: t for r, t in plant.roles().items() if r in roles}), encoding="utf-8")
    out = CliRunner().invoke(cli_app, ["users", "assign-pilot", "mobility-cnc", "--company", "acme", "--spec",
                                       "mobility", "--endpoint", plant.endpoint, "--bindings", str(bindings)])
    assert out.exit_code == 0, out.output
    with httpx.Client(base_url=server, timeout=30) as client:
        assert login(client, "김민수").status_code == 303
        with client.stream("GET", "/api/stream?pilots=1") as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            events = _events(response)
            seen_pending: list[list[str]] = []
            values: dict[str, Any] = {}
            for name, data in events:
                if name == "pending":
                    seen_pending.append(data["runs"])
                elif name == "values" and data["values"].get("feed_override"):
                    values = data
                if seen_pending and values:
                    break
            assert seen_pending[0] == ["pilot-a-run-waiting"]  # firm beta's request is not in acme's stream
            assert values["pilot"] == "mobility-cnc"
            assert values["error"] is None
            feed = values["values"]["feed_override"]
            assert isinstance(feed["value"], float)
            assert feed["quality"] == "good"
            assert set(values["values"]) <= set(yaml.safe_load(bindings.read_text(encoding="utf-8")))
            # a decision taken elsewhere (the CLI's path) reaches the open stream
            store = RunStore(home / "agent.sqlite")
            store.decide("pilot-a-run-waiting", "reject", "cli-user")
            store.close()
            for name, data in events:
                if name == "pending":
                    assert data["runs"] == []
                    break
        page = client.get("/pilots").text
    assert 'data-live="mobility-cnc|feed_override" data-source="live"' in page
    assert plant.write_log == []  # watching never writes


def test_a_running_service_s_endpoint_gives_live_values_without_an_assigned_link(home: Path, server: str) -> None:
    """``pilot run --simulate``: the service records its endpoint and bindings on its lease; the console, told
    only the pilot's owner (no ``--endpoint``), subscribes to that plant. When the service stops, its endpoint
    goes with the lease and the console no longer names a plant for the pilot."""
    from factorypilot.agents import read_leases
    from factorypilot.console import UserStore
    from factorypilot.console._routes_live import link_of

    from .conftest import FAST_HASHER

    users = UserStore(home / "console.sqlite", hasher=FAST_HASHER)
    users.assign_pilot("mobility-cnc", "acme", "mobility")  # no --endpoint, no --bindings
    assert users.link("mobility-cnc") is None
    assert link_of(users, "mobility-cnc", home) is None  # the reference spec names no plant of its own
    env = {**os.environ, "FACTORYPILOT_HOME": str(home), "PYTHONIOENCODING": "utf-8"}
    service = subprocess.Popen([EXE, "pilot", "run", "mobility", "--simulate", "--no-knowledge", "--seconds", "180"],
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (lease := read_leases(home / "agent.sqlite").get("mobility-cnc")) or lease.endpoint is None:
            assert service.poll() is None, service.communicate()
            assert time.monotonic() < deadline, "the service never recorded its endpoint"
            time.sleep(0.1)
        assert lease.endpoint.startswith("opc.tcp://127.0.0.1:")
        assert lease.bindings["feed_override"].endswith("feed_override")
        link = link_of(users, "mobility-cnc", home)
        assert link is not None
        assert link.config == {"endpoint": lease.endpoint}
        assert "feed_override" in link.roles
        assert "spindle_vibration" in link.roles
        with httpx.Client(base_url=server, timeout=30) as client:
            assert login(client, "김민수").status_code == 303
            with client.stream("GET", "/api/stream?pilots=1") as response:
                values: dict[str, Any] = {}
                for name, data in _events(response):
                    if name == "values" and data["pilot"] == "mobility-cnc" and data["values"].get("feed_override"):
                        values = data
                        break
            assert values["error"] is None
            assert values["values"]["feed_override"]["quality"] == "good"
            assert isinstance(values["values"]["feed_override"]["value"], float)
            page = client.get("/pilots").text
        assert 'data-live="mobility-cnc|feed_override" data-source="live"' in page
    finally:
        service.terminate()
        out, err = service.communicate(timeout=60)
    assert service.returncode == 0, err
    assert f"testbed plant 'mobility' at {lease.endpoint}" in out  # the endpoint it printed is the one recorded
    assert "mobility-cnc" not in read_leases(home / "agent.sqlite")  # the endpoint went with the lease
    assert link_of(users, "mobility-cnc", home) is None
    users.close()
