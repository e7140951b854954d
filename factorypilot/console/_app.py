"""The console's FastAPI application: settings, sessions, CSRF, language, security headers and error pages.

Every error a person can meet — 400, 403, 404, 405, 429, 500 — is one page with one clear message in the
user's language; a traceback goes to the server log (debug level), never to the page.
"""

from __future__ import annotations

import contextlib
import hmac
import logging
import secrets
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.exceptions import HTTPException as StarletteHTTPException

from factorypilot.console._data import Scope
from factorypilot.console._i18n import LANGS, translate
from factorypilot.console._live import LiveHub
from factorypilot.console._matching import MatchingResults
from factorypilot.console._users import Session, UserStore
from factorypilot.errors import FactoryPilotError

__all__ = ["ConsoleConfig", "NeedLogin", "PageError", "create_app", "lang_of", "render"]

log = logging.getLogger("factorypilot.console")

SESSION_COOKIE = "fp_session"
LOGIN_COOKIE = "fp_login"  # double-submit token for the login form (there is no session yet)
LANG_COOKIE = "fp_lang"


@dataclass(frozen=True)
class ConsoleConfig:
    """``home``: FACTORYPILOT_HOME. ``secure_cookies``: ``None`` = Secure when the request came over HTTPS
    (behind a trusted proxy that says so), ``True`` = always. ``projects``: folders of firms' template projects
    for the Programme page; ``reports``: evaluation report folders; ``profiles`` (firm profiles to rank) or
    ``matching`` (``factorypilot match --format json`` output): the Programme page's matching results."""

    home: Path
    root_path: str = ""
    secure_cookies: bool | None = None
    projects: tuple[Path, ...] = ()
    reports: tuple[Path, ...] = field(default_factory=tuple)
    profiles: Path | None = None
    matching: Path | None = None
    deployment_target: int = 20
    productivity_target_pct: float = 10.0


class PageError(Exception):
    """An error page: HTTP ``status`` and a catalogue ``key`` (with values)."""

    def __init__(self, status: int, key: str, **values: Any) -> None:
        super().__init__(key)
        self.status, self.key, self.values = status, key, values


class NeedLogin(Exception):
    pass


_templates = Jinja2Templates(directory=str(files("factorypilot.console") / "templates"))
_QUOTE_MARKS = {"‹": "&#8249;", "›": "&#8250;", "\u2028": "&#8232;", "\u2029": "&#8233;"}


def untrusted(value: Any) -> Markup:
    """Outside text (a document quote) for the page: HTML-escaped, and the prompt's quote marks ``‹ ›`` and the
    Unicode line separators written as character references, so the page's source never carries a raw delimiter
    that could close a quotation if the page text is fed back to a model. A reader sees the same characters."""
    text = str(escape("" if value is None else value))
    for ch, ref in _QUOTE_MARKS.items():
        text = text.replace(ch, ref)
    return Markup(text)  # escaped above; only character references added


_templates.env.filters["untrusted"] = untrusted


def lang_of(request: Request) -> str:
    lang = request.cookies.get(LANG_COOKIE, "ko")
    return lang if lang in LANGS else "ko"


def session_of(request: Request) -> Session | None:
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    users: UserStore = request.app.state.users
    return users.session(token)


def require(request: Request, role: str = "viewer") -> Session:
    """The logged-in session (or a redirect to the login page); 403 when the role is below ``role``."""
    session = session_of(request)
    if session is None:
        raise NeedLogin()
    if not session.user.can(role):
        raise PageError(403, "error_403_role", role=role)
    return session


def scope_of(request: Request, session: Session) -> Scope:
    if session.user.all_companies:
        return Scope(None)
    users: UserStore = request.app.state.users
    return Scope(tuple(users.pilots_of(session.user)))


def check_csrf(session: Session, token: str | None) -> None:
    if not token or not hmac.compare_digest(token, session.csrf):
        raise PageError(403, "error_403_csrf")


def secure(request: Request) -> bool:
    cfg: ConsoleConfig = request.app.state.cfg
    return cfg.secure_cookies if cfg.secure_cookies is not None else request.url.scheme == "https"


def url(request: Request, path: str) -> str:
    return str(request.scope.get("root_path", "")).rstrip("/") + path


def render(request: Request, template: str, http_status: int = 200, **ctx: Any) -> HTMLResponse:
    lang = lang_of(request)
    session = ctx.pop("session", None) or session_of(request)

    def t(key: str, **values: Any) -> str:
        return translate(key, lang, **values)

    context = {"request": request, "t": t, "lang": lang, "session": session, "user": session.user if session else None,
               "csrf": session.csrf if session else "", "u": lambda p: url(request, p), **ctx}
    return _templates.TemplateResponse(request, template, context, status_code=http_status)


def _error(request: Request, status: int, key: str, **values: Any) -> HTMLResponse:
    lang = lang_of(request)
    if "role" in values:
        values["role"] = translate(f"role_{values['role']}", lang)
    message = translate(key, lang, **values)
    return render(request, "error.html", http_status=status, message=message, status_code=status)


def create_app(cfg: ConsoleConfig) -> FastAPI:
    """The console for one ``FACTORYPILOT_HOME``. Users live in ``console.sqlite`` beside the runs."""
    from factorypilot.console import (
        _routes_approvals,
        _routes_audit,
        _routes_auth,
        _routes_live,
        _routes_mapping,
        _routes_overview,
    )

    # the URL prefix (cfg.root_path) is the server's setting (uvicorn --root-path), read from the ASGI scope
    hub = LiveHub()
    matching = MatchingResults(cfg.home, cfg.profiles, cfg.matching)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        matching.start()
        yield
        await hub.close()  # the live-value subscriptions end with the console

    app = FastAPI(title="factorypilot console", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    app.state.cfg = cfg
    app.state.live = hub
    app.state.matching = matching
    app.state.users = UserStore(cfg.home / "console.sqlite")
    app.mount("/static", StaticFiles(directory=str(files("factorypilot.console") / "static")), name="static")
    for module in (_routes_auth, _routes_approvals, _routes_audit, _routes_overview, _routes_mapping, _routes_live):
        app.include_router(module.router)

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response: Response = await call_next(request)
        response.headers["Content-Security-Policy"] = ("default-src 'self'; img-src 'self' data:; "
                                                       "frame-ancestors 'none'; form-action 'self'")
        response.headers["X-Frame-Options"] = "DENY"
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.exception_handler(NeedLogin)
    async def need_login(request: Request, exc: NeedLogin) -> Response:
        return RedirectResponse(url(request, "/login"), status_code=303)

    @app.exception_handler(PageError)
    async def page_error(request: Request, exc: PageError) -> Response:
        return _error(request, exc.status, exc.key, **exc.values)

    @app.exception_handler(FactoryPilotError)
    async def fp_error(request: Request, exc: FactoryPilotError) -> Response:
        log.debug("console request failed", exc_info=exc)
        return _error(request, 400, "error_400", detail=str(exc))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> Response:
        fields = ", ".join(".".join(str(p) for p in e.get("loc", ())[1:]) or "?" for e in exc.errors())
        return _error(request, 400, "error_400", detail=fields)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        key = {403: "error_403", 404: "error_404", 405: "error_405"}.get(exc.status_code)
        if key is None:
            return _error(request, exc.status_code, "error_400", detail=str(exc.detail))
        return _error(request, exc.status_code, key)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.error("console: unexpected error on %s %s: %s", request.method, request.url.path,
                  type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
        return _error(request, 500, "error_500")

    return app


def new_login_token() -> str:
    return secrets.token_urlsafe(24)
