"""A stdlib OpenAI-compatible stub server on 127.0.0.1 for tests of real HTTP model calls (no model involved)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


class JsonHandler(BaseHTTPRequestHandler):
    """Base handler: quiet, JSON replies; ``seen`` keeps every POST body (reset by :func:`serving`)."""

    seen: ClassVar[list[dict[str, Any]]] = []

    def log_message(self, *args: Any) -> None:
        return

    def send_json(self, body: dict[str, Any], close: bool = False) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        if close:  # the client then closes its pooled keep-alive connection
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(data)

    def read_json(self) -> dict[str, Any]:
        body: dict[str, Any] = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).seen.append(body)
        return body


@contextmanager
def serving(handler: type[JsonHandler]) -> Iterator[str]:
    """Serve ``handler`` on a free port; yields the ``…/v1`` base URL."""
    handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join()


@contextmanager
def allowed_model_server(handler: type[JsonHandler], monkeypatch: Any) -> Iterator[str]:
    """:func:`serving`, with real model requests allowed for the test (``FACTORYPILOT_ALLOW_MODEL_REQUESTS``)."""
    from factorypilot.settings import get_settings

    monkeypatch.setenv("FACTORYPILOT_ALLOW_MODEL_REQUESTS", "true")
    get_settings.cache_clear()
    try:
        with serving(handler) as url:
            yield url
    finally:
        get_settings.cache_clear()
