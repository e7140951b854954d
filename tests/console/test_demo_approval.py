"""``factorypilot demo --approval`` as a new user meets it: the command prints the console address and a
one-time password, the request appears, the person approves in the console (here over HTTP, in Korean), the
pilot applies it once and the command ends with what the plant received."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

EXE = str(Path(sys.executable).with_name("factorypilot"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_demo_approval_end_to_end(fp_home: Path) -> None:
    port = _free_port()
    proc = subprocess.Popen([EXE, "demo", "--approval", "--port", str(port)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, encoding="utf-8",
                            env={**os.environ, "FACTORYPILOT_HOME": str(fp_home), "COLUMNS": "200"})
    try:
        assert proc.stdout is not None
        password = None
        deadline = time.monotonic() + 120
        while password is None and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"demo exited early: {proc.communicate()[1]}")
            m = re.search(r"user demo, password (\S+)", line)
            password = m.group(1) if m else None
        assert password, "no password printed"
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=30) as web:
            token = re.search(r'name="login_token" value="([^"]+)"', web.get("/login").text)
            assert token
            r = web.post("/login", data={"name": "demo", "password": password, "login_token": token.group(1)})
            assert r.status_code == 303
            deadline = time.monotonic() + 120
            while web.get("/api/pending").json()["count"] == 0:
                assert time.monotonic() < deadline, "no approval request appeared"
                assert proc.poll() is None, proc.communicate()[1]
                time.sleep(0.2)
            page = web.get("/approvals").text
            assert "승인 대기 중인 조치" in page
            assert '<td class="to">85</td>' in page
            assert 'data-index="0" data-allowed="yes"' in page  # the dry run: the guard would allow it (approved)
            run_id = web.get("/api/pending").json()["runs"][0]
            csrf = re.search(r'name="csrf" value="([^"]+)"', page)
            assert csrf
            done = web.post(f"/approvals/{run_id}", data={"decision": "approve", "csrf": csrf.group(1)})
            assert done.status_code == 200
            assert "승인됨 (demo)" in done.text
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, out + err
    assert "run done; decided by demo; feed_override writes on the plant: [85.0]" in out
