"""What a machine *is*, from the plant's own description: OPC 40001 Identification and type definitions.

``template map`` chooses the machine that hosts a template by how well its tags fit (:mod:`.mapping`). Two
machines exported by one PLC gateway often carry the same tag names (``ALM``, ``ERR_NO``, ``OVR``, ``CT``), so
the fit cannot tell a welding robot from a machining center. Where the server offers it, the machine's OPC 40001
``Identification`` (DeviceClass, ComponentName, Model, ProductCode ...) or its type definition
(``MotionDeviceType``, ``MachineToolType``) says which class of machine it is:

* a machine whose class *contradicts* the template's (a machining center for the robotics template) is not
  offered as a host while one that does not contradict fits as well;
* agreement alone never ends a question: a robot with an Identification and a robot without one are both
  robots, so the firm is still asked which one;
* the question shows each machine's Identification ("EQ1 (Hyundai Robotics HH7, serial HR7-23-0417,
  Industrial robot)").
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from factorypilot.pilots.spreading._equipment import Layout
from factorypilot.vocabulary import Scalar, Tag

__all__ = ["MachineIds", "choose_host", "identify", "machine_class", "template_class"]

# OPC 40001-1 MachineIdentificationType / DI IVendorNameplateType fields worth showing, in display order
_SHOWN = ("Manufacturer", "Model", "ProductCode", "SerialNumber", "DeviceClass", "ComponentName")
# where a machine's class is stated, most explicit first
_CLASS_FIELDS = ("DeviceClass", "ComponentName", "Model", "ProductCode")
_CLASSES: dict[str, re.Pattern[str]] = {
    "robot": re.compile(r"robot|manipulator|motion ?device|로봇|매니퓰레이터|다관절", re.I),
    "machine tool": re.compile(r"machin(e|ing) ?(cent(er|re)|tool)|\bcnc\b|\blathe\b|milling|turning cent|"
                               r"\bmct\b|머시닝|공작기계|선반|밀링|가공기", re.I),
    "press": re.compile(r"\bpress(es)?\b|프레스", re.I),
    "cleanroom": re.compile(r"clean ?room|air handling|\bahu\b|\bhvac\b|클린룸|공조", re.I),
}


def _class_of(text: str) -> str | None:
    hits = [c for c, rx in _CLASSES.items() if rx.search(text)]
    return hits[0] if len(hits) == 1 else None   # two classes in one text say nothing for sure


@dataclass
class MachineIds:
    """Per machine path: its Identification fields and its class (``robot``, ``machine tool`` ...)."""

    fields: dict[str, dict[str, str]] = field(default_factory=dict)
    classes: dict[str, tuple[str, str]] = field(default_factory=dict)   # path -> (class, where it is stated)

    def summary(self, machine: str) -> str:
        """``Hyundai Robotics HH7, serial HR7-23-0417, Industrial robot`` (empty without Identification)."""
        f = self.fields.get(machine, {})
        maker = " ".join(v for v in (f.get("Manufacturer"), f.get("Model")) if v)
        parts = [maker] if maker else []
        if f.get("SerialNumber"):
            parts.append(f"serial {f['SerialNumber']}")
        parts += [f[k] for k in ("DeviceClass", "ComponentName") if f.get(k) and f[k] not in parts]
        return ", ".join(parts)

    def contradicts(self, machine: str, wanted: str | None) -> str | None:
        """Why ``machine`` is not a ``wanted``-class machine, or ``None`` when nothing says so."""
        got = self.classes.get(machine)
        if wanted is None or got is None or got[0] == wanted:
            return None
        return f"{got[1]} says {got[0]}, the template is for a {wanted}"


def identify(layout: Layout, tags: Sequence[Tag], samples: Mapping[str, Sequence[Scalar]]) -> MachineIds:
    """Read each machine's Identification (tags under an ``Identification`` component) and class."""
    out = MachineIds()
    for t in tags:
        machine = layout.machine_of.get(t.id)
        parts = [p.lower() for p in layout.parts.get(t.id, [])]
        if machine is None or "identification" not in parts or t.name not in _SHOWN:
            continue
        values = [v for v in samples.get(t.id, ()) if v not in (None, "")]
        if values:
            out.fields.setdefault(machine, {})[t.name] = str(values[-1]).strip()
    for machine in layout.machines:
        f = out.fields.get(machine, {})
        stated = [(f"Identification {k} {f[k]!r}", f[k]) for k in _CLASS_FIELDS if f.get(k)]
        type_name = layout.types.get(machine)
        if type_name:  # the type definition ranks after DeviceClass, before names and model codes
            at = 1 if f.get("DeviceClass") else 0
            stated.insert(at, (f"type {type_name}", re.sub(r"(?<=[a-z])(?=[A-Z])", " ", type_name)))
        for where, text in stated:
            cls = _class_of(text)
            if cls is not None:
                out.classes[machine] = (cls, where)
                break
    return out


def machine_class(text: str) -> str | None:
    """The machine class a text names (``robot``, ``machine tool``, ``press``, ``cleanroom``), if exactly one."""
    return _class_of(text)


def template_class(sector: str, title: Mapping[str, str] | str) -> str | None:
    """The class of machine a template is for, from its title (and sector), e.g. ``robot`` for robotics."""
    texts = [title] if isinstance(title, str) else list(title.values())
    found = {c for c in (_class_of(t) for t in [*texts, sector]) if c is not None}
    return found.pop() if len(found) == 1 else None


def choose_host(fits: Mapping[str, float], core: Mapping[str, float], ids: MachineIds, wanted: str | None,
                ambiguous: float) -> tuple[str | None, list[str], dict[str, str]]:
    """The host, the other machines that could host the template as well (ask which), and the machines left
    out because their Identification or type says they are another class of machine (path -> why).

    ``fits`` ranks machines (every equipment-level role), ``core`` decides ambiguity (required roles only). A
    contradicting machine ranks behind every machine that does not contradict and fits at least half as well
    as the best; it is never an alternative to a host that does not contradict."""
    why = {m: ids.contradicts(m, wanted) for m in fits}
    best = max(fits.values(), default=0.0)
    fine = [m for m in fits if why[m] is None and fits[m] >= 0.5 * best]
    ranked = sorted(fits, key=lambda m: (bool(fine) and m not in fine, -fits[m]))
    host = ranked[0] if ranked and fits[ranked[0]] > 0 else None
    if host is None:
        return None, [], {}
    close = [m for m in ranked[1:] if core[m] >= ambiguous * core[host]]
    left_out = {m: str(why[m]) for m in close if why[m] is not None and why[host] is None}
    return host, [m for m in close if m not in left_out], left_out
