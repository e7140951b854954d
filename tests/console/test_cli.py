"""``factorypilot users …`` and ``factorypilot console`` from the command line, as a user runs them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from factorypilot.console import UserStore

EXE = str(Path(sys.executable).with_name("factorypilot"))


def _run(home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([EXE, *args], input=stdin, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "FACTORYPILOT_HOME": str(home), "PYTHONIOENCODING": "utf-8"})


def test_users_add_assign_and_list(fp_home: Path) -> None:
    r = _run(fp_home, "users", "add", "김민수", "--role", "approver", "--company", "acme", "--password-stdin",
             stdin="a-long-password\n")
    assert r.returncode == 0, r.stderr
    assert "role approver, firm acme" in r.stdout
    r = _run(fp_home, "users", "assign-pilot", "mobility-cnc", "--company", "acme", "--spec", "mobility")
    assert r.returncode == 0, r.stderr
    store = UserStore(fp_home / "console.sqlite")
    try:
        user = store.user("김민수")
        assert user is not None
        assert (user.role, user.company) == ("approver", "acme")
        assert store.login("김민수", "a-long-password", "test") is not None
        assert store.pilot_owners() == {"mobility-cnc": ("acme", "mobility")}
    finally:
        store.close()
    listed = _run(fp_home, "users", "list").stdout
    assert "김민수\tapprover\tacme" in listed
    assert "pilot mobility-cnc\tfirm acme" in listed


def test_bad_user_input_is_one_line(fp_home: Path) -> None:
    for args, stdin, text in ((("--role", "boss", "--company", "acme"), "a-long-password\n", "unknown role 'boss'"),
                              (("--role", "viewer", "--company", "acme"), "short\n", "shorter than 8"),
                              (("--role", "viewer", "--company", "a b"), "a-long-password\n", "company id")):
        r = _run(fp_home, "users", "add", "lee", *args, "--password-stdin", stdin=stdin)
        assert r.returncode == 1
        assert text in r.stderr
        assert "Traceback" not in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def test_console_refuses_a_public_address_without_the_flag(fp_home: Path) -> None:
    r = _run(fp_home, "console", "--host", "0.0.0.0", "--port", "1")
    assert r.returncode == 1
    assert "refusing to bind the console to 0.0.0.0" in r.stderr
    assert "--allow-remote" in r.stderr
    assert "Traceback" not in r.stderr


def test_assign_pilot_plant_link_is_stored_and_bad_links_are_one_line(fp_home: Path, tmp_path: Path) -> None:
    bindings = tmp_path / "b.yaml"
    bindings.write_text("feed_override: ns=2;s=L1.CNC1.FeedOverride\n", encoding="utf-8")
    r = _run(fp_home, "users", "assign-pilot", "mobility-cnc", "--company", "acme", "--endpoint",
             "opc.tcp://127.0.0.1:4840", "--bindings", str(bindings))
    assert r.returncode == 0, r.stderr
    store = UserStore(fp_home / "console.sqlite")
    try:
        tag = "ns=2;s=L1.CNC1.FeedOverride"
        assert store.link("mobility-cnc") == ("opc.tcp://127.0.0.1:4840", {"feed_override": tag})
    finally:
        store.close()
    bad_yaml = tmp_path / "bad.yaml"
    bad_yaml.write_text("- a list\n", encoding="utf-8")
    for args, text in ((("--endpoint", "http://x"), "is not an OPC UA URL"),
                       (("--bindings", str(bindings)), "--bindings needs --endpoint"),
                       (("--endpoint", "opc.tcp://h:1", "--bindings", str(bad_yaml)), "mapping of role: tag id")):
        r = _run(fp_home, "users", "assign-pilot", "p2", "--company", "acme", *args)
        assert r.returncode == 1
        assert text in r.stderr
        assert "Traceback" not in r.stderr


def test_console_project_serves_a_small_firm_s_project(fp_home: Path, tmp_path: Path) -> None:
    """``console --project DIR``: the project's home (DIR/home, where ``template run --project`` keeps the runs)
    holds the runs and the console users; the project's pilot belongs to the project's firm; FACTORYPILOT_HOME
    is not touched."""
    import socket
    import time

    import httpx

    from factorypilot.pilots.spreading.templates import export_template, init_from_template

    from .conftest import login, seed_run

    tpl = export_template("robotics", tmp_path / "templates", home=tmp_path / "export-home",
                          override_reason="console --project test", by="t")
    project = init_from_template(tpl, company="meditech", endpoint=None, dest=tmp_path / "로봇셀-메디텍")
    pilot = project.spec().id
    project.home.mkdir(parents=True, exist_ok=True)
    seed_run(project.home, f"{pilot}-run-1", pilot, waiting=True)
    r = _run(fp_home, "users", "add", "김반장", "--role", "approver", "--company", "meditech", "--project",
             str(project.root), "--password-stdin", stdin="correct-horse-1\n")
    assert r.returncode == 0, r.stderr
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    env = {**os.environ, "FACTORYPILOT_HOME": str(fp_home), "PYTHONIOENCODING": "utf-8"}
    server = subprocess.Popen([EXE, "console", "--project", str(project.root), "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, server.communicate()
            assert time.monotonic() < deadline, "the console never listened"
            time.sleep(0.1)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            assert login(client, "김반장").status_code == 303
            runs = client.get("/runs").text
            assert f"{pilot}-run-1" in runs
            assert f"{pilot}-run-1" in client.get("/approvals").text
            assert client.get(f"/runs/{pilot}-run-1").status_code == 200
            assert "meditech" in client.get("/programme").text  # the project is listed with its firm's KPIs
    finally:
        server.terminate()
        out, _err = server.communicate(timeout=30)
    assert f"pilot {pilot} belongs to firm meditech" in out
    assert f"data {project.home}" in out.replace("\n", "")
    owners = UserStore(project.home / "console.sqlite")
    try:
        assert owners.pilot_owners()[pilot] == ("meditech", str(project.spec_path.resolve()))
    finally:
        owners.close()
    assert not (fp_home / "console.sqlite").exists()  # FACTORYPILOT_HOME is not used
    listed = _run(fp_home, "users", "list", "--project", str(project.root)).stdout
    assert "김반장\tapprover\tmeditech" in listed
    # not a template project: one line, no traceback
    bad = _run(fp_home, "console", "--project", str(tmp_path / "no-project"), "--port", "1")
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1, bad.stderr
