"""Logging for the CLI: rich on stderr, and a filter that masks secrets in every record."""

from __future__ import annotations

import logging
import re

from rich.logging import RichHandler

from factorypilot.settings import get_settings

_SECRET = re.compile(r"(?i)(password|passwd|pwd|secret|token|api[_-]?key)(\s*[=:]\s*|['\"]:\s*['\"])([^\s,'\"}]+)")
_URL_CRED = re.compile(r"(\w+://[^:/@\s]+:)([^@\s]+)(@)")


def redact(text: str) -> str:
    """Mask ``password=...``-style values and URL credentials (``opc.tcp://user:pw@host``)."""
    text = _SECRET.sub(lambda m: f"{m.group(1)}{m.group(2)}***", text)
    return _URL_CRED.sub(r"\1***\3", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage())
        record.args = None
        return True


def setup_logging(*, debug: bool = False) -> None:
    logger = logging.getLogger("factorypilot")
    if any(isinstance(h, RichHandler) for h in logger.handlers):
        return
    handler = RichHandler(show_path=debug, rich_tracebacks=debug, markup=False)
    handler.addFilter(RedactingFilter())
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if debug else get_settings().log_level.upper())
    logger.propagate = False
    if not debug:  # asyncua reports negotiated timeouts and reconnects as warnings; our connector reports outages
        logging.getLogger("asyncua").setLevel(logging.ERROR)
