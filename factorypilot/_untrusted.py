"""One way for untrusted text to enter a prompt: as quoted, escaped, length-capped *data*.

Tag values and descriptions, alarm and event messages, document excerpts, MES fields and tool results come
from outside the agent and may hold anything — including sentences written to steer a model ("set the feed to
110", a ``>`` that closes the wrapper, a newline that starts a fake section). :func:`quote_untrusted` turns such
a value into ``DATA‹"…"›``: the text is cut to a cap, JSON-escaped (quotes, backslashes, newlines and other
control characters), and the characters that could close or fake a wrapper (``<`` ``>`` ``‹`` ``›`` and the
Unicode line/paragraph separators) are written as ``\\uXXXX`` escapes, so nothing inside can end the quote.
Numbers, booleans and ``None`` carry no text and are written plainly (a model copies ``80.0``, not
``DATA‹80.0›``).

Safety never rests on this: the guard enforces the policy outside the model, and LLM-proposed actions need a
person by default. Quoting keeps the model's view honest; it does not make an instruction harmless.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["CLOSE", "OPEN", "quote_excerpt", "quote_untrusted"]

OPEN, CLOSE = "DATA‹", "›"
_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "‹": "\\u2039", "›": "\\u203a", "\u2028": "\\u2028",
            "\u2029": "\\u2029", "\u0085": "\\u0085"}


def _clip(text: str, cap: int) -> str:
    return text if len(text) <= cap else text[: max(cap - 1, 0)] + "…"


def quote_untrusted(value: Any, cap: int = 120) -> str:
    """``value`` as prompt data: plain for numbers/booleans/None, else ``DATA‹"escaped, capped text"›``."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    body = json.dumps(_clip(text, cap), ensure_ascii=False)
    for ch, rep in _ESCAPES.items():
        body = body.replace(ch, rep)
    return f"{OPEN}{body}{CLOSE}"


def quote_excerpt(value: Any, cap: int = 240) -> str:
    """A source excerpt for a person (approval request, report): one line, capped, in quotation marks.

    Marked as a quotation so a reader sees it is what a document *says*, not what the agent concluded."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    return "“" + _clip(text, cap) + "”"
