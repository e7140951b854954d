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
