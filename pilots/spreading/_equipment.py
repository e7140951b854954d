"""Machines, lines and the site, as ``template map`` sees a browsed plant.

A template's roles bind inside **one machine** (the subtree of one machine object), unless a role is declared
``level: line`` (anywhere on that machine's line or cell) or ``level: site``. Machines are found from the
browse: the object that holds a tag, lifted over *component* sub-objects (axes, joints, motors, status
folders — by OPC UA type definition such as ``AxisType`` or by name such as ``J2``/``2축``). An object that
holds tags and also contains other tag-holding objects is a line (or cell) container: the tags it holds
itself are line-level signals.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from factorypilot.vocabulary import Tag

__all__ = ["Layout", "layout_of"]

# component sub-objects by type definition, incl. OPC 40010 (AxisType, PowerTrainType, MotorType, GearType) and
# OPC 40001 (MachineIdentificationType, MachineryItemState_StateMachineType, ...)
_COMPONENT_TYPE = re.compile(r"axis|joint|component|motor|drive|sensor|gear|spindle|powertrain|identification|"
                             r"statemachine|operationmode|monitoring|taskcontrol", re.I)
_COMPONENT_NAME = re.compile(
    r"^(axes|axis[ _-]?\d*|joints?[ _-]?\d*|j\d{1,2}|a\d{1,2}|motors?[ _-]?\d*|drives?|sensors?|status|params?|"
    r"parameters|parameterset|methodset|identification|powertrains?[ _-]?\d*|gears?[ _-]?\d*|"
    r"machineryitemstate|machineryoperationmode|monitoring|additionalcomponents|taskcontrols|"
    r"data|alarms?|io|signals?|values|measurements?|\d{1,2}축|축|관절\d*|상태|알람|파라미터)$", re.I)


def _is_component(name: str, type_name: str | None) -> bool:
    if type_name and _COMPONENT_TYPE.search(type_name):
        return True
    return bool(_COMPONENT_NAME.match(name.strip()))


@dataclass
class Layout:
    """Where every tag (and method) sits: its machine, its line container and the component path between."""

    machine_of: dict[str, str | None] = field(default_factory=dict)   # tag id -> machine path (None: line tag)
    line_of: dict[str, str] = field(default_factory=dict)             # tag id -> line/cell container path
    parts: dict[str, list[str]] = field(default_factory=dict)         # tag id -> component names (J2, Axes)
    machines: list[str] = field(default_factory=list)                 # machine paths, in browse order
    line_of_machine: dict[str, str] = field(default_factory=dict)
    types: dict[str, str] = field(default_factory=dict)               # object path -> type definition name

    def _system(self, machine: str) -> str | None:
        return next((p for p in _ancestors(machine) if "motiondevicesystem" in self.types.get(p, "").lower()), None)

    def is_controller(self, machine: str) -> bool:
        """A controller of an OPC 40010 motion device system: it serves a robot, it hosts no template itself."""
        return self._system(machine) is not None and "controller" in self.types.get(machine, "").lower()

    def controllers(self, machine: str) -> list[str]:
        """The controllers of a robot in an OPC 40010 motion device system (MotionDeviceSystemType holding
        MotionDevices/<robot> and Controllers/<controller>): where the robot's vendor methods often sit."""
        system = self._system(machine)
        if system is None:
            return []
        return [m for m in self.machines if m != machine and m.startswith(system + "/") and self.is_controller(m)]

    def controller_of(self, machine: str) -> tuple[str | None, str]:
        """The one controller that drives ``machine`` in its motion device system, and why; ``None`` when the
        structure does not say (two controllers and no one-to-one naming): then every controller's methods
        are proposed and asked. Associated: the only controller of the only motion device, or a controller
        whose distinguishing name part (``RC2`` / ``Controller_2`` for ``R2``) matches this device's and no
        other device's."""
        ctrls = self.controllers(machine)
        system = self._system(machine)
        if not ctrls or system is None:
            return None, ""
        devices = [m for m in self.machines if m.startswith(system + "/") and not self.is_controller(m)]
        if len(ctrls) == 1 and devices == [machine]:
            return ctrls[0], (f"the only controller of the motion device system {self.name(system)} (OPC 40010), "
                              f"which has one motion device")
        key = _device_key(self.name(machine))
        if not key or [d for d in devices if _device_key(self.name(d)) == key] != [machine]:
            return None, ""
        same = [c for c in ctrls if _device_key(self.name(c)) == key]
        if len(same) != 1:
            return None, ""
        return same[0], (f"controller {self.name(same[0])} and motion device {self.name(machine)} share the name "
                         f"part {key!r} in {self.name(system)} (OPC 40010), and no other pair does")

    def name(self, path: str | None) -> str:
        return path.rsplit("/", 1)[-1] if path else "-"

    def find(self, wanted: str) -> list[str]:
        """Machines named ``wanted`` (exact last part first, then any part of the path containing it)."""
        exact = [m for m in self.machines if self.name(m) == wanted]
        return exact or [m for m in self.machines if wanted in m]

    def in_scope(self, tag_id: str, machine: str, level: str) -> bool:
        if level == "site":
            return True
        if level == "equipment":
            return self.machine_of.get(tag_id) == machine
        line = self.line_of_machine.get(machine, "")
        here = self.machine_of.get(tag_id) or self.line_of.get(tag_id, "")
        return here == line or here.startswith(line + "/") if line else True


# what names a robot or its controller in general, leaving the part that tells one pair from another
_GENERIC = re.compile(r"robot|controller|ctrl|cntl|motion|device|manipulator|arm|cabinet|rc|rb|r|c|로봇|제어기|"
                      r"컨트롤러|제어반|호기", re.I)


def _device_key(name: str) -> str:
    """The part of a robot's or controller's name that tells one pair from another: ``R2``, ``RC2``,
    ``Robot_2``, ``Controller-2`` → ``2``; ``RobotA``, ``CtrlA`` → ``a``; ``Main`` → ``main``."""
    tokens = re.findall(r"[A-Z]?[a-z]+|[A-Z]+(?![a-z])|\d+|[가-힣]+", name)
    return "".join(t.lower() for t in tokens if not _GENERIC.fullmatch(t)).lstrip("0") or ""


def _ancestors(path: str) -> list[str]:
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(len(parts) - 1, 0, -1)]


def _holder(path: list[str], types: Mapping[str, str]) -> tuple[str, list[str]]:
    parts: list[str] = []
    path = list(path)
    while len(path) > 1 and _is_component(path[-1], types.get("/".join(path))):
        parts.insert(0, path.pop())
    return "/".join(path), parts


def _levels(tag: Tag) -> list[str]:
    """The object path of a tag; the browse joins levels below the sixth with '.' (deep OPC 40010 trees:
    Robot/PowerTrains/PowerTrain2/Motor2/ParameterSet), split again so components can be recognised."""
    levels = tag.asset.levels() if tag.asset else []
    return [*levels[:5], *levels[5].split(".")] if len(levels) == 6 else levels


def layout_of(tags: Sequence[Tag], object_types: Mapping[str, str] | None = None,
              method_paths: Mapping[str, Sequence[str]] | None = None) -> Layout:
    """The machines and lines of a browsed plant (``object_types``: asset path -> type definition name;
    ``method_paths``: method id -> path of the object that holds it)."""
    types = dict(object_types or {})
    out = Layout(types=types)
    holder: dict[str, str] = {}
    items: list[tuple[str, list[str]]] = [(t.id, _levels(t)) for t in tags]
    items += [(mid, list(p)) for mid, p in (method_paths or {}).items()]
    for tid, path in items:
        h, parts = _holder(path, types)
        holder[tid] = h
        out.parts[tid] = parts
    holders = list(dict.fromkeys(h for h in holder.values()))
    containers = {h for h in holders if any(o != h and o.startswith(h + "/") for o in holders)}
    if "" in holders and len(holders) > 1:
        containers.add("")
    for h in holders:
        if h in containers or h in out.machines:
            continue
        out.machines.append(h)
        ancestors = [c for c in containers if c == "" or h.startswith(c + "/")]
        out.line_of_machine[h] = max(ancestors, key=len) if ancestors else h.rsplit("/", 1)[0] if "/" in h else ""
    for tid, h in holder.items():
        if h in containers:
            out.machine_of[tid] = None
            out.line_of[tid] = h
        else:
            out.machine_of[tid] = h
            out.line_of[tid] = out.line_of_machine[h]
    return out
