"""Log in, log out, and the language switch.

The login form carries a double-submit token (a cookie and a hidden field that must match), so even the
login cannot be forged from another site; failed logins are counted per user name and per client address and
a sixth failure within 15 minutes is refused (429) without checking the password.
"""

from __future__ import annotations

import hmac
import importlib.util
import io
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from factorypilot.console._app import (
    LANG_COOKIE,
    LOGIN_COOKIE,
    SESSION_COOKIE,
    PageError,
    check_csrf,
    new_login_token,
    render,
    require,
    secure,
    url,
)
from factorypilot.console._i18n import LANGS
from factorypilot.console._users import UserStore

router = APIRouter()


def _login_page(request: Request, status: int = 200, error: str | None = None) -> Response:
    token = new_login_token()
    response = render(request, "login.html", http_status=status, login_token=token, error=error, session=None)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        path=url(request, "/login"), max_age=3600)
    return response


@router.get("/login")
def login_form(request: Request) -> Response:
    return _login_page(request)


@router.post("/login")
def login(request: Request, name: Annotated[str, Form()], password: Annotated[str, Form()],
                login_token: Annotated[str, Form()] = "") -> Response:
    cookie = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie, login_token):
        raise PageError(403, "error_403_csrf")
    users: UserStore = request.app.state.users
    client = request.client.host if request.client else "?"
    if users.blocked(name, client):
        return _login_page(request, 429, "login_blocked")
    found = users.login(name, password, client)
    if found is None:
        return _login_page(request, 401, "login_failed")
    token, _session = found
    response = RedirectResponse(url(request, "/approvals"), status_code=303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", secure=secure(request),
                        path=url(request, "/") or "/", max_age=int(users.session_s))
    response.delete_cookie(LOGIN_COOKIE, path=url(request, "/login"))
    return response


@router.post("/logout")
def logout(request: Request, csrf: Annotated[str, Form()] = "") -> Response:
    session = require(request)
    check_csrf(session, csrf)
    users: UserStore = request.app.state.users
    users.logout(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse(url(request, "/login"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=url(request, "/") or "/")
    return response


@router.get("/lang/{code}")
def switch_language(request: Request, code: str, next: str = "/approvals") -> Response:
    if code not in LANGS:
        raise PageError(404, "error_404")
    target = next if next.startswith("/") and not next.startswith("//") else "/approvals"
    response = RedirectResponse(url(request, target), status_code=303)
    response.set_cookie(LANG_COOKIE, code, httponly=True, samesite="lax", secure=secure(request),
                        path=url(request, "/") or "/", max_age=365 * 86400)
    return response


@lru_cache(maxsize=1)
def _font_bytes() -> bytes | None:
    """NanumGothic from the koreanize-matplotlib wheel, without its empty VTT hinting tables (TSI0..5), which
    browsers' font sanitizer rejects. fontTools comes with matplotlib."""
    spec = importlib.util.find_spec("koreanize_matplotlib")
    locations = list(spec.submodule_search_locations or []) if spec else []
    path = Path(locations[0]) / "fonts" / "NanumGothic.ttf" if locations else None
    if path is None or not path.is_file():
        return None
    from fontTools.ttLib import TTFont  # type: ignore[import-untyped]

    font = TTFont(str(path))
    for table in [t for t in font.keys() if t.startswith("TSI")]:  # noqa: SIM118 (TTFont has no __iter__)
        del font[table]
    out = io.BytesIO()
    font.save(out)
    return out.getvalue()


@router.get("/font/NanumGothic.ttf")
def korean_font() -> Response:
    """The Hangul font (SIL OFL) shipped in an installed wheel, so pages read on machines without a Korean system
    font too. Nothing is fetched."""
    data = _font_bytes()
    if data is None:
        raise PageError(404, "error_404")
    return Response(data, media_type="font/ttf", headers={"Cache-Control": "public, max-age=86400"})


@router.get("/")
def home(request: Request) -> Response:
    require(request)
    return RedirectResponse(url(request, "/approvals"), status_code=303)
