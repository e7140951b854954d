"""Lenient reading of what small models actually send, strict about what it means.

- :func:`extract_json`: the JSON object of a reply — plain, inside a ```` ```json ```` fence, or the first
  balanced ``{…}`` in prose (small models often answer a tool request with fenced JSON instead of a tool call).
- :func:`as_tool_call`: such an object as a tool call — ``{"name": …, "arguments": {…}}`` as written by chat
  templates, or a bare plan (``{"diagnosis": …}``) as ``propose_plan``.
- :func:`coerce_number`: a value for a numeric target. ``80``, ``80.0`` and the string ``"80.0"`` are the number
  80; ``"80%"``, ``"high"`` or ``DATA‹…›`` are refused with a message the model can act on.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from langchain_core.messages import ToolCall

__all__ = ["NotANumber", "as_tool_call", "coerce_number", "extract_json"]

_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.S)
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")


class NotANumber(ValueError):
    """A value for a numeric target that is not a plain number."""


def _balanced(text: str) -> str | None:
    start = text.find("{")
    while start != -1:
        depth, in_str, esc = 0, False, False
        for i in range(start, len(text)):
            ch = text[i]
            if in_str:
                esc = not esc and ch == "\\"
                if ch == '"' and not esc:
                    in_str = False
                elif ch != "\\":
                    esc = False
                continue
            if ch == '"':
                in_str = True
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
                if depth == 0:
                    return text[start:i + 1]
        start = text.find("{", start + 1)
    return None


def extract_json(text: str) -> dict[str, Any] | None:
    """The JSON object in ``text`` (plain, fenced or embedded), or ``None``."""
    candidates = [text.strip(), *(m.strip() for m in _FENCE.findall(text))]
    found = _balanced(text)
    if found:
        candidates.append(found)
    for cand in candidates:
        if not cand.startswith("{"):
            continue
        try:
            obj = json.loads(cand)
        except ValueError:
            inner = _balanced(cand)
            try:
                obj = json.loads(inner) if inner else None
            except ValueError:
                continue
        if isinstance(obj, dict):
            return obj
    return None


def as_tool_call(obj: dict[str, Any], tool_names: list[str]) -> ToolCall | None:
    """A JSON object as one of ``tool_names``' calls, or ``None`` when it is neither form."""
    name = obj.get("name") or obj.get("tool") or obj.get("function")
    args = obj.get("arguments", obj.get("args", obj.get("parameters")))
    if isinstance(name, str) and name in tool_names:
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                return None
        if isinstance(args, dict):
            return ToolCall(name=name, args=args, id=f"call_{uuid.uuid4().hex[:10]}", type="tool_call")
        return None
    if "diagnosis" in obj and "propose_plan" in tool_names:
        return ToolCall(name="propose_plan", args=obj, id=f"call_{uuid.uuid4().hex[:10]}", type="tool_call")
    return None


def coerce_number(value: Any, *, what: str, hint: str) -> float | int:
    """``value`` as a number for a numeric target, else :class:`NotANumber` saying what to send instead."""
    if isinstance(value, bool):
        raise NotANumber(f"value {value!r} for {what} is a boolean, not a number; {hint}")
    if isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise NotANumber(f"value {value!r} for {what} is not a finite number; {hint}")
        return value
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        number = float(value.strip())
        if math.isfinite(number):
            return int(number) if number.is_integer() and "." not in value and "e" not in value.lower() else number
    raise NotANumber(f"value {str(value)[:40]!r} for {what} is not a plain number (no units, percent signs, "
                     f"words or DATA markers); {hint}")
