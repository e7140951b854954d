"""What the console knows about a pilot from its spec: the unit of a target and its limits.

A pilot's spec is the one named when it was assigned (``users assign-pilot --spec``), or the reference pilot
with that id. A tag id maps back to its role through the spec's bindings, or by the simulator's naming
(``…cnc-01.feed_override``). Unknown stays unknown: the page then shows "—", never a guessed unit.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from factorypilot.errors import FactoryPilotError
from factorypilot.pilots.runtime import resolve_spec
from factorypilot.pilots.spec import PilotSpec

__all__ = ["limits_of", "role_of", "spec_for", "unit_of"]


@lru_cache(maxsize=64)
def spec_for(pilot: str, ref: str | None = None) -> PilotSpec | None:
    try:
        spec, _ = resolve_spec(ref or pilot)
    except FactoryPilotError:
        return None
    return spec


def role_of(spec: PilotSpec | None, target: str) -> str:
    if spec is None:
        return target
    if target in spec.roles:
        return target
    inverse = {tag: role for role, tag in spec.bindings.items()}
    if target in inverse:
        return inverse[target]
    tail = target.rsplit(".", 1)[-1]
    return tail if tail in spec.roles else target


def unit_of(spec: PilotSpec | None, target: str) -> str | None:
    if spec is None:
        return None
    role = spec.roles.get(role_of(spec, target))
    return role.unit if role else None


def limits_of(spec: PilotSpec | None, role: str) -> dict[str, Any]:
    """The policy's range for a role (what the agent may write), else the role's typical range."""
    if spec is None:
        return {}
    for rule in spec.policy.tags:
        if rule.target == role:
            return {"min": rule.min, "max": rule.max, "source": "policy"}
    rs = spec.roles.get(role)
    if rs is not None and rs.typical_range:
        return {"min": rs.typical_range[0], "max": rs.typical_range[1], "source": "typical"}
    return {}
