"""Continuous mode: the pilot service handles an event, and stops gracefully on SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

EXE = str(Path(sys.executable).with_name("factorypilot"))


def test_service_stops_gracefully_on_sigterm(tmp_path: Path) -> None:
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("FACTORYPILOT_")},
           "FACTORYPILOT_HOME": str(tmp_path / "home"), "COLUMNS": "160"}
    proc = subprocess.Popen([EXE, "pilot", "run", "mobility", "--simulate", "--no-knowledge"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 60
        seen = ""
        while time.monotonic() < deadline and "running" not in seen:
            seen += proc.stdout.readline()
        assert "pilot 'mobility-cnc' running" in seen, seen
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err
    assert "stopped after 0 run(s)" in out
