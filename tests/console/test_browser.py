"""The console in a real browser (headless Chromium from the system's packages, driven by Playwright) against
a real pilot service and the simulated plant.

Flow: the approver is logged in before the plant event and the request arrives through the event stream; a
viewer sees it but has no approve button; the dry run shows the guard's verdict on the live value; an edit
outside the policy is refused with the reason (for a rejection and for an approval); the approval (keyboard:
focus the button, Enter) goes through, the plant receives the value exactly once, the run's timeline and the
ledger page show the records, the Pilots page shows the approved value live (on the endpoint the service
recorded: no link is assigned), and a firm-B run opened by URL is "not found". Screenshots of the Approvals and
Programme pages in Korean land in the test's temporary directory (or FACTORYPILOT_TEST_ARTIFACTS), never in the
repository.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from factorypilot.console import UserStore
from factorypilot.pilots.runtime import reference_pilots
from factorypilot.pilots.simulator import Fault, FaultKind, PlantHandle, running_plant

from .conftest import FAST_HASHER, PASSWORD, seed_run

EXE = str(Path(sys.executable).with_name("factorypilot"))
CHROMIUM = os.environ.get("FACTORYPILOT_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(CHROMIUM is None, reason="no chromium on this machine (Debian: apt-get install chromium; "
                                                ".ci/run installs it when run as root)"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(what: str, cond: Callable[[], bool], procs: list[subprocess.Popen[str]], limit: float = 120) -> None:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if cond():
            return
        for p in procs:
            if p.poll() is not None:
                out, err = p.communicate()
                pytest.fail(f"{p.args[1]} exited ({p.returncode}) before {what}: {out}{err}")
        time.sleep(0.1)
    pytest.fail(f"never saw: {what}")


def _env(home: Path) -> dict[str, str]:
    return {**os.environ, "FACTORYPILOT_HOME": str(home), "PYTHONIOENCODING": "utf-8"}


@pytest.fixture
def plant() -> Iterator[PlantHandle]:
    with running_plant(model="mobility", seed=3, realtime=True, tick_seconds=0.1) as handle:
        yield handle


def _spec(root: Path, plant: PlantHandle) -> tuple[Path, Path]:
    spec_dir = root / "pilot"
    shutil.copytree(reference_pilots()["mobility"].parent, spec_dir)
    data = yaml.safe_load((spec_dir / "pilot.yaml").read_text(encoding="utf-8"))
    data["policy"]["tags"][0]["approval"] = "always"  # the feed change needs a person
    data["lang"] = "ko"
    (spec_dir / "pilot.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    bindings = root / "bindings.yaml"
    bindings.write_text(yaml.safe_dump({r: t for r, t in plant.roles().items() if r in data["roles"]}), "utf-8")
    return spec_dir / "pilot.yaml", bindings


def _feed(plant: PlantHandle) -> list[Any]:
    return [v for _, role, v in plant.write_log if role == "feed_override"]


def test_approve_in_a_real_browser(tmp_path: Path, fp_home: Path, plant: PlantHandle) -> None:
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the dev extra")
    home = fp_home
    home.mkdir(parents=True, exist_ok=True)
    # artifacts: the test's temporary directory, or FACTORYPILOT_TEST_ARTIFACTS (e.g. a CI artifacts folder)
    shots = Path(os.environ.get("FACTORYPILOT_TEST_ARTIFACTS") or tmp_path) / "console-screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    users = UserStore(home / "console.sqlite", hasher=FAST_HASHER)
    users.assign_pilot("mobility-cnc", "acme", "mobility")
    users.assign_pilot("pilot-b", "beta")
    for name, role, company in (("김민수", "approver", "acme"), ("lee", "viewer", "acme")):
        users.add_user(name, role, company, PASSWORD)
    users.close()
    seed_run(home, "pilot-b-run-done", "pilot-b", waiting=False)  # firm B's run in the same home

    # no plant link is assigned: the console reads live values (and dry-runs) on the endpoint and bindings the
    # running service records on its lease (pilot run --endpoint ... --bindings ...)
    spec, bindings = _spec(tmp_path, plant)
    port = _free_port()
    service = subprocess.Popen([EXE, "pilot", "run", str(spec), "--endpoint", plant.endpoint, "--bindings",
                                str(bindings), "--no-knowledge", "--seconds", "240"], env=_env(home),
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    console_log = tmp_path / "console.log"
    with open(console_log, "w", encoding="utf-8") as log:  # read back when a step fails
        console = subprocess.Popen([EXE, "--debug", "console", "--port", str(port)], env=_env(home), stdout=log,
                                   stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    procs = [service, console]
    try:
        def up() -> bool:
            with socket.socket() as s:
                return s.connect_ex(("127.0.0.1", port)) == 0

        _wait("the console listening", up, procs)
        plant.inject(Fault(FaultKind.DRIFT, "spindle_vibration", start_tick=plant.tick_index + 5, magnitude=0.06))
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            try:
                _browse(browser, base, home, plant, shots, procs)
            except Exception as exc:
                tail = console_log.read_text(encoding="utf-8")[-4000:]
                raise AssertionError(f"{exc}\n--- console log ---\n{tail}") from exc
            finally:
                browser.close()
        _wait("the run done after the approval", lambda: _status(home) == "done", procs)
        assert _feed(plant) == [85.0]  # exactly once
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
            try:
                p.communicate(timeout=30)  # also closes the pipes
            except subprocess.TimeoutExpired:
                p.kill()
                p.communicate()
    print(f"console screenshots: {shots}")


def _status(home: Path) -> str | None:
    import sqlite3

    db = sqlite3.connect(home / "agent.sqlite")
    try:
        row = db.execute("SELECT status FROM runs WHERE pilot = 'mobility-cnc'").fetchone()
    except sqlite3.Error:
        return None
    finally:
        db.close()
    return str(row[0]) if row else None


def _login(page: Any, base: str, name: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("사용자 이름").fill(name)
    page.get_by_label("비밀번호").fill(PASSWORD)
    page.get_by_role("button", name="로그인").click()
    page.wait_for_url(f"{base}/approvals")


def _browse(browser: Any, base: str, home: Path, plant: PlantHandle, shots: Path,
            procs: list[subprocess.Popen[str]]) -> None:
    # the approver is logged in before the plant event: the request appears through the event stream
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.set_default_timeout(120_000)  # a loaded 2-core CI machine; these are upper bounds, not expectations
    _login(page, base, "김민수")
    page.wait_for_selector("section.approval")  # pushed by /api/stream, the page reloads itself (GET)
    assert _status(home) == "waiting_approval"
    # a viewer sees the request, but cannot approve
    viewer = browser.new_page()
    viewer.set_default_timeout(120_000)  # a loaded 2-core CI machine; these are upper bounds, not expectations
    _login(viewer, base, "lee")
    assert viewer.locator("section.approval").count() == 1
    assert viewer.get_by_role("button", name="승인").count() == 0
    assert "승인자 역할이 필요합니다" in viewer.inner_text("main")
    viewer.close()

    page.goto(f"{base}/approvals")  # rendered with the live value of the plant (the subscription is up now)
    section = page.locator("section.approval")
    assert section.count() == 1
    assert section.locator("td.from").inner_text() == "100"
    assert section.locator("td.to").inner_text() == "85"
    assert section.locator("td.unit").inner_text() == "%"
    # the dry run: the guard's verdict now, on the live value (nothing sent)
    dry = section.locator("ul.dry-run li[data-index='0']")
    assert dry.get_attribute("data-allowed") == "yes"
    assert dry.locator("span.before").inner_text() == "100"
    assert dry.locator("span.after").inner_text() == "85"
    assert "실시간 구독" in dry.inner_text()
    assert _feed(plant) == []
    # the bundled Hangul font loaded (Debian's chromium has no Korean font of its own): a legible picture
    assert page.evaluate("document.fonts.ready.then(() => [...document.fonts].some("
                         "f => f.family.includes('NanumGothic') && f.status === 'loaded'))")
    page.screenshot(path=str(shots / "approvals-ko.png"), full_page=True)

    # an edit outside the policy is refused with the reason; nothing reaches the plant
    # reject with an edit out of range: refused with the reason (a rejection carries no values)
    page.get_by_label("조치 0", exact=False).fill("200")
    page.get_by_role("button", name="거부", exact=True).click()
    problem = page.locator("#problem")
    assert "결정이 거부되었습니다" in problem.inner_text()
    assert "only an approval can edit values" in problem.inner_text()
    # approve with that edit: refused, the value is outside the policy
    page.get_by_label("조치 0", exact=False).fill("200")
    page.get_by_role("button", name="승인", exact=True).click()
    assert "outside the policy" in page.locator("#problem").inner_text()
    assert _status(home) == "waiting_approval"  # nothing decided
    assert _feed(plant) == []

    # approve with the keyboard: focus the button, press Enter
    page.get_by_role("button", name="승인", exact=True).focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("#notice")
    assert "승인됨 (김민수)" in page.inner_text("#notice")
    _wait("the value on the plant", lambda: _feed(plant) == [85.0], procs)

    # the run's timeline and the ledger page show the records
    _wait("the run done", lambda: _status(home) == "done", procs)
    page.goto(f"{base}/runs")
    page.locator("table.runs a", has_text="mobility-cnc").first.click()
    timeline = page.inner_text("#timeline")
    for kind in ("observation", "detection", "approval-requested", "approval", "action", "read-back", "report"):
        assert kind in timeline, kind
    page.goto(f"{base}/ledger")
    kinds = page.locator("#ledger-table td.kind").all_inner_texts()
    assert "approval" in kinds
    assert "read-back" in kinds
    page.goto(f"{base}/ledger/verify")
    assert "원장 무결성 확인" in page.inner_text("#verify-result")

    # the pilot's card: running (the service holds its lease), latest values with units
    page.goto(f"{base}/pilots")
    # the approved value, from the console's own subscription, pushed over the event stream
    page.wait_for_function("""() => { const c = document.querySelector('[data-live="mobility-cnc|feed_override"]');
                                      return c && c.dataset.source === 'live' && parseFloat(c.textContent) === 85; }""")
    card = page.locator("section.pilot", has_text="mobility-cnc").inner_text()
    assert "실행 중" in card
    assert "mm/s" in card
    assert "60.0 ~ 110.0 (policy)" in card

    # firm B's run by URL: not found, one message
    resp = page.goto(f"{base}/runs/pilot-b-run-done")
    assert resp is not None
    assert resp.status == 404
    assert "찾을 수 없습니다" in page.inner_text("#error-message")
    page.goto(f"{base}/programme")
    page.evaluate("document.fonts.ready.then(() => true)")
    page.screenshot(path=str(shots / "programme-ko.png"), full_page=True)
    assert (shots / "approvals-ko.png").stat().st_size > 0
