"""Login, sessions, CSRF, rate limiting, roles, language and error pages — over HTTP against the real app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient

from .conftest import PASSWORD, csrf_of, decision, login


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/approvals", "/runs", "/runs/pilot-a-run-done", "/ledger", "/ledger/export", "/pilots",
                 "/programme", "/evaluation", "/api/pending", "/"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303, path
        assert r.headers["location"].endswith("/login")


def test_login_sets_a_hardened_session_cookie_and_records_no_password(client: TestClient, home: Path) -> None:
    r = login(client, "김민수")
    assert r.status_code == 303
    cookie = r.headers["set-cookie"]
    assert "fp_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie.replace("samesite", "SameSite")
    page = client.get("/approvals")
    assert page.status_code == 200
    assert "김민수" in page.text
    assert PASSWORD not in (home / "console.sqlite").read_bytes().decode("latin-1")
    # security headers on every page
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["x-frame-options"] == "DENY"


def test_wrong_password_then_rate_limit(client: TestClient) -> None:
    for _ in range(5):
        r = login(client, "김민수", "wrong-password")
        assert r.status_code == 401
        assert "비밀번호가 틀렸습니다" in r.text
    r = login(client, "김민수")  # right password, but the 6th attempt within 15 min is refused unchecked
    assert r.status_code == 429
    assert "로그인 실패가 너무 많습니다" in r.text
    assert "fp_session" not in r.headers.get("set-cookie", "")


def test_login_form_needs_its_double_submit_token(client: TestClient) -> None:
    r = client.post("/login", data={"name": "김민수", "password": PASSWORD, "login_token": "forged"},
                    follow_redirects=False)
    assert r.status_code == 403
    assert "보안 토큰" in r.text


def test_logout_needs_csrf_and_ends_the_session(client: TestClient) -> None:
    login(client, "김민수")
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    assert client.get("/approvals", follow_redirects=False).status_code == 200
    token = csrf_of(client.get("/approvals").text)
    assert client.post("/logout", data={"csrf": token}, follow_redirects=False).status_code == 303
    assert client.get("/approvals", follow_redirects=False).status_code == 303


def test_decision_without_csrf_is_refused_and_not_recorded(client: TestClient, home: Path) -> None:
    login(client, "김민수")
    for token in ("", "forged-token"):
        r = client.post("/approvals/pilot-a-run-waiting", data={"decision": "approve", "csrf": token})
        assert r.status_code == 403
        assert "보안 토큰이 맞지 않습니다" in r.text
    assert decision(home, "pilot-a-run-waiting").decision is None


def test_a_viewer_cannot_decide(client: TestClient, home: Path) -> None:
    login(client, "lee")
    page = client.get("/approvals")
    assert "pilot-a-run-waiting" in page.text  # sees it
    assert 'value="approve"' not in page.text  # no buttons
    assert "승인자 역할이 필요합니다" in page.text
    r = client.post("/approvals/pilot-a-run-waiting", data={"decision": "approve", "csrf": csrf_of(page.text)})
    assert r.status_code == 403
    assert "이 작업에는 '승인자' 역할이 필요합니다" in r.text.replace("&#39;", "'")
    assert decision(home, "pilot-a-run-waiting").decision is None


def test_korean_by_default_english_on_switch(client: TestClient) -> None:
    login(client, "김민수")
    assert "승인 대기 중인 조치" in client.get("/approvals").text
    r = client.get("/lang/en?next=/runs", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/runs"
    assert "Run history" in client.get("/runs").text
    assert client.get("/lang/en?next=//evil.example", follow_redirects=False).headers["location"] == "/approvals"


def test_error_pages_are_one_clear_message_without_traceback(client: TestClient, home: Path) -> None:
    login(client, "김민수")
    app: FastAPI = client.app  # type: ignore[assignment]

    def boom() -> None:
        raise RuntimeError("secret internals /srv/db password=hunter2")

    app.add_api_route("/boom", boom)
    cases = {"/no-such-page": (404, "찾을 수 없습니다"), "/runs/nope": (404, "실행 nope 을(를) 찾을 수 없습니다"),
             "/boom": (500, "서버 내부 오류가 발생했습니다"), "/runs?page=0": (400, "요청을 처리할 수 없습니다")}
    for path, (status, text) in cases.items():
        r = client.get(path)
        assert r.status_code == status, path
        assert text in r.text, path
        assert "Traceback" not in r.text
        assert "hunter2" not in r.text
        assert 'File "' not in r.text
        assert r.text.count('role="alert"') == 1
    r = client.put("/approvals")
    assert r.status_code == 405
    assert "이 방식의 요청" in r.text


def test_served_under_a_reverse_proxy_path(home: Path) -> None:
    from factorypilot.console import ConsoleConfig, create_app

    app = create_app(ConsoleConfig(home=home, root_path="/console"))
    with TestClient(app, root_path="/console", raise_server_exceptions=False) as c:
        assert c.get("/approvals", follow_redirects=False).headers["location"] == "/console/login"
        page = c.get("/login").text
        assert 'action="/console/login"' in page
        assert 'href="/console/static/console.css"' in page


def test_the_bundled_hangul_font_is_served_without_its_vtt_tables(client: TestClient) -> None:
    """Pages must read in Korean on a machine without a Korean system font (the browser test's Chromium)."""
    import io

    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    r = client.get("/font/NanumGothic.ttf")
    assert r.status_code == 200
    assert r.headers["content-type"] == "font/ttf"
    font = TTFont(io.BytesIO(r.content))
    assert not [t for t in font.keys() if t.startswith("TSI")]  # noqa: SIM118 (TTFont has no __iter__)
    assert font.getBestCmap()[ord("승")]  # the glyph of 승인 is there
