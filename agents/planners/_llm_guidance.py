"""What a small model needs spelled out to act: the next value a write may take, the plant's own procedure for
the event, and why a write of the current value is sent back.

Measured before this (Qwen2.5-Coder 0.5 B and 1.5 B, structured output, mobility scenarios): the plans were
valid JSON but wrote the *current* value (``feed_override = 100`` while it was 100) or escalated — the prompt
gave the policy's allowed range and ``max_step`` but not the window they imply, said nothing about which way a
change helps, and a no-op write passed as an action. Three general fixes, the same for every pilot:

- :func:`write_window`: the values a write may take *now* (allowed range ∩ current ± ``max_step``), shown per
  writable tag next to "must differ from the current value";
- :func:`procedure_lines`: the pilot's playbooks that match the events, as the plant's standard procedure
  (diagnosis, actions with their direction and size) — the knowledge a playbook planner has, which the model
  otherwise lacks when no document is retrieved;
- :func:`no_op_error`: a write equal to the current value is a plan error; the message (fed back for a retry)
  says the window, both directions and the escalate alternative.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from factorypilot.agents.planners._untrusted import quote_untrusted
from factorypilot.agents.planners.base import PlanContext, alarm_events, localized
from factorypilot.agents.planners.playbook import Playbook, PlaybookAction
from factorypilot.vocabulary import Scalar

__all__ = ["MAX_PROCEDURES", "is_number", "no_op_error", "plain_id", "procedure_lines", "window_reminder",
           "write_window"]

MAX_PROCEDURES = 2
_PLAIN_ID = re.compile(r"[A-Za-z0-9_=;:./#\-]{1,160}")


def plain_id(node_id: str) -> str:
    """A node id as the model must copy it; anything that is not a plain id is quoted as data."""
    return node_id if _PLAIN_ID.fullmatch(node_id) else quote_untrusted(node_id, 160)


def is_number(x: object) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _g(x: float) -> str:
    return f"{x:g}"


def write_window(rule: Mapping[str, float | None], current: Scalar) -> tuple[float | None, float | None]:
    """The lowest and highest value a write may take now: the allowed range, narrowed to current ± max_step."""
    lo, hi, step = rule.get("min"), rule.get("max"), rule.get("max_step")
    if step is not None and is_number(current):
        assert isinstance(current, int | float)
        lo = current - step if lo is None else max(lo, current - step)
        hi = current + step if hi is None else min(hi, current + step)
    return lo, hi


def window_text(rule: Mapping[str, float | None], current: Scalar) -> str:
    """``in [80, 110] and not 100 (the current value)`` — the write rule a model can follow."""
    lo, hi = write_window(rule, current)
    bounds = (f"in [{_g(lo)}, {_g(hi)}]" if lo is not None and hi is not None else
              f">= {_g(lo)}" if lo is not None else f"<= {_g(hi)}" if hi is not None else "any number")
    return bounds + (f" and not {_g(float(current))} (the current value)" if is_number(current) else "")  # type: ignore[arg-type]


def no_op_error(target: str, current: float, rule: Mapping[str, float | None]) -> str:
    """The retry message for a write of the value the tag already has (the way out named first)."""
    lo, hi = write_window(rule, current)
    ways = []
    if lo is not None and lo < current:
        ways.append(f"lower it to a value in [{_g(lo)}, {_g(current)})")
    if hi is not None and hi > current:
        ways.append(f"raise it to a value in ({_g(current)}, {_g(hi)}]")
    return (f"{target} is already {_g(current)}: writing {_g(current)} changes nothing. If no change is right, or "
            f"the change your diagnosis needs is not possible, leave the write out and set escalate=true"
            + (f"; otherwise {' or '.join(ways)}" if ways else f" ({target} cannot change now)"))


def _action_text(a: PlaybookAction, ctx: PlanContext) -> str | None:
    if a.write is not None:
        current = ctx.value(a.write)
        if a.value is not None:
            how = f"set to {quote_untrusted(a.value)}"
        elif a.delta is not None:
            how = f"{'lower' if a.delta < 0 else 'raise'} by {_g(abs(a.delta))}"
        else:
            how = f"multiply by {_g(a.scale or 1.0)}"
        clamp = "".join([f", not below {_g(a.floor)}" if a.floor is not None else "",
                         f", not above {_g(a.ceiling)}" if a.ceiling is not None else ""])
        target = None
        if is_number(current) and (a.delta is not None or a.scale is not None):
            assert isinstance(current, int | float)
            target = current + a.delta if a.delta is not None else current * (a.scale or 1.0)
            target = max(target, a.floor) if a.floor is not None else target
            target = min(target, a.ceiling) if a.ceiling is not None else target
        if target is not None and is_number(current) and abs(target - current) < 1e-9:
            return f"no write to {a.write}: it is already at the procedure's limit {_g(target)}"
        if target is not None:  # the absolute value first: small models copy the first number they see
            return f"write {a.write} = {_g(round(target, 6))} ({how} from {_g(float(current))}{clamp})"
        return f"write {a.write}: {how}{clamp}"
    if a.call is not None:
        return f"method {a.call}"
    if a.note is not None:
        return f"note {a.note}: {quote_untrusted(localized(a.text, ctx.lang), 160)}"
    if a.acknowledge is not None:
        alarm = next((e.alarm for e in alarm_events(ctx.events) if e.alarm is not None), None)
        return f"acknowledge the ALARM (condition {plain_id(alarm.condition_id)})" if alarm is not None else None
    return None  # confirm a plant alarm: not something the LLM planner proposes


def procedure_lines(playbooks: Sequence[Playbook], ctx: PlanContext) -> list[str]:
    """The matching playbooks as the plant's standard procedure (at most ``MAX_PROCEDURES``)."""
    out: list[str] = []
    seen: set[str] = set()
    for ev in ctx.events:
        for pb in playbooks:
            if pb.id in seen or not pb.matches(ev):
                continue
            seen.add(pb.id)
            acts = [t for t in (_action_text(a, ctx) for a in pb.actions) if t]
            out.append(f"- {quote_untrusted(pb.id, 60)} for the event on {ev.role or quote_untrusted(ev.tag_id, 80)}:"
                       f" {quote_untrusted(localized(pb.diagnosis, ctx.lang), 240)}"
                       + (f" Actions: {'; '.join(acts)}." if acts else " Actions: none (tell a person).")
                       + (" Escalate to a person." if pb.escalate else ""))
            break
        if len(out) >= MAX_PROCEDURES:
            break
    return out


def window_reminder(ctx: PlanContext) -> str:
    """``feed_override: in [80, 110] and not 100 (the current value)`` for every writable role — appended to a
    guard refusal so the retry knows the values that can pass."""
    role_of = {tid: role for role, tid in ctx.roles.items()}
    parts = []
    for tag_id, rule in ctx.write_rules.items():
        sample = ctx.current.get(tag_id)
        parts.append(f"{role_of.get(tag_id, tag_id)} {window_text(rule, sample.value if sample else None)}")
    return ("A write's value is the new setpoint itself (not a change): " + "; ".join(parts) + ".") if parts else ""
