"""MCP tests: a real simulator plant (OPC UA on 127.0.0.1 in a thread), real SQLite, the SDK's own client."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import PlantHandle, running_plant

EXE = str(Path(sys.executable).with_name("factorypilot"))


@pytest.fixture(scope="module")
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


def bindings_file(tmp_path: Path, plant: PlantHandle, pilot: str = "mobility") -> Path:
    spec = yaml.safe_load((reference_pilots()[pilot]).read_text(encoding="utf-8"))
    path = tmp_path / f"{pilot}-bindings.yaml"
    roles = {r: t for r, t in plant.roles().items() if r in spec["roles"]}
    path.write_text(yaml.safe_dump(roles, allow_unicode=True), encoding="utf-8")
    return path


def env_for(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")}
    env.update({"FACTORYPILOT_HOME": str(home), "FACTORYPILOT_ALLOW_MODEL_REQUESTS": "false", "COLUMNS": "160"})
    return env


def cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], env=env_for(home), capture_output=True, text=True, timeout=120, check=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
