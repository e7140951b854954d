"""Browsing an address space into ``Tag``s, in batches (one request per tree level, not per node).

Asset-path rule: the BrowseNames of the *objects and folders* between ``browse_root`` and a variable
fill the ISA-95 levels in order (enterprise, site, area, line, cell, equipment). When there are more than
six, the deepest ones are joined with ``.`` into ``equipment``. Variables directly under the root have
no asset path. Standard namespace-0 nodes (``Server``, ``Aliases`` ...) are not plant tags and are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.attribute_ids import AttributeIds
from asyncua.ua.object_ids import ObjectIds

from factorypilot.connectors.opcua._values import data_type_of
from factorypilot.vocabulary import AssetPath, Limits, Tag

__all__ = ["BrowsedMethod", "BrowsedVariable", "PlantStructure", "browse_variables", "chunks", "read_many",
           "unece_code"]

_HAS_PROPERTY = ua.NodeId(ua.Int32(ObjectIds.HasProperty))
_ATTRS = (AttributeIds.DisplayName, AttributeIds.Description, AttributeIds.DataType,
          AttributeIds.AccessLevel, AttributeIds.UserAccessLevel)
_CURRENT_WRITE = 1 << ua.AccessLevel.CurrentWrite.value


@dataclass
class BrowsedVariable:
    node_id: ua.NodeId
    browse_name: str
    path: list[str]
    data_type: ua.NodeId = field(default_factory=ua.NodeId)
    tag: Tag | None = None


@dataclass
class BrowsedMethod:
    """A method found under an object: where it is, what it is called and what arguments it takes."""

    node_id: str
    object_id: str
    browse_name: str
    path: list[str]
    display_names: dict[str, str] = field(default_factory=dict)
    description: str = ""
    inputs: list[tuple[str, str, str]] = field(default_factory=list)  # (argument name, data type, description)


@dataclass
class PlantStructure:
    """What a browse finds besides variables: object type definitions (by asset path), the type definition of
    each variable, the unit code of each variable (UN/CEFACT common code) and the methods."""

    object_types: dict[str, str] = field(default_factory=dict)     # "Line1/RB01" -> "RobotType"
    variable_types: dict[str, str] = field(default_factory=dict)   # tag id -> "AnalogItemType"
    unit_codes: dict[str, str] = field(default_factory=dict)       # tag id -> "CEL"
    writable_by_someone: dict[str, bool] = field(default_factory=dict)  # AccessLevel (not this user's) allows writes
    methods: list[BrowsedMethod] = field(default_factory=list)


def unece_code(unit_id: int) -> str | None:
    """The UN/CEFACT common code of an OPC UA ``EUInformation.UnitId`` (its ASCII bytes), or ``None``."""
    if unit_id <= 0:
        return None
    raw = unit_id.to_bytes(4, "big").lstrip(b"\0")
    try:
        code = raw.decode("ascii")
    except UnicodeDecodeError:
        return None
    return code if code.isalnum() else None


def chunks(items: Sequence[Any], size: int) -> list[Sequence[Any]]:
    return [items[i:i + size] for i in range(0, len(items), size)]


async def read_many(client: Client, pairs: Sequence[tuple[ua.NodeId, AttributeIds]],
                    chunk: int) -> list[ua.DataValue]:
    """Read (node, attribute) pairs with one Read request per ``chunk`` pairs, order preserved."""
    out: list[ua.DataValue] = []
    for part in chunks(pairs, chunk):
        params = ua.ReadParameters()
        params.TimestampsToReturn = ua.TimestampsToReturn.Neither
        params.NodesToRead = [ua.ReadValueId(NodeId=n, AttributeId=a) for n, a in part]
        out += await client.uaclient.read(params)
    return out


async def _browse(client: Client, nodes: Sequence[ua.NodeId], ref_type: ua.NodeId, mask: int,
                  chunk: int) -> list[list[ua.ReferenceDescription]]:
    results: list[list[ua.ReferenceDescription]] = []
    for part in chunks(nodes, chunk):
        params = ua.BrowseParameters()
        params.View = ua.ViewDescription()
        params.RequestedMaxReferencesPerNode = 0
        params.NodesToBrowse = [
            ua.BrowseDescription(NodeId=n, BrowseDirection=ua.BrowseDirection.Forward, ReferenceTypeId=ref_type,
                                 IncludeSubtypes=True, NodeClassMask=mask, ResultMask=ua.BrowseResultMask.All)
            for n in part
        ]
        for res in await client.uaclient.browse(params):
            refs = list(res.References or [])
            cp = res.ContinuationPoint
            while cp:
                nxt = ua.BrowseNextParameters()
                nxt.ContinuationPoints = [cp]
                more = (await client.uaclient.browse_next(nxt))[0]
                refs += list(more.References or [])
                cp = more.ContinuationPoint
            results.append(refs)
    return results


def _asset(path: list[str]) -> AssetPath | None:
    if not path:
        return None
    levels = path[:5] + ([".".join(path[5:])] if len(path) > 5 else [])
    return AssetPath.parse("/".join(p.replace("/", "_") for p in levels))


async def browse_variables(client: Client, root: ua.NodeId, namespace: int | None, chunk: int,
                           structure: PlantStructure | None = None) -> list[BrowsedVariable]:
    """Every variable under ``root`` as a ``BrowsedVariable`` with its ``Tag`` filled in; ``structure`` (if
    given) receives object type definitions, variable type definitions, unit codes and methods."""
    variables: list[BrowsedVariable] = []
    methods: list[BrowsedMethod] = []
    object_types: dict[str, ua.NodeId] = {}
    var_types: dict[int, ua.NodeId] = {}
    seen: set[ua.NodeId] = {root}
    frontier: list[tuple[ua.NodeId, list[str]]] = [(root, [])]
    mask = int(ua.NodeClass.Object) | int(ua.NodeClass.Variable) | int(ua.NodeClass.Method)
    hierarchical = ua.NodeId(ua.Int32(ObjectIds.HierarchicalReferences))
    while frontier:
        refs_per_node = await _browse(client, [n for n, _ in frontier], hierarchical, mask, chunk)
        nxt: list[tuple[ua.NodeId, list[str]]] = []
        for (parent, path), refs in zip(frontier, refs_per_node, strict=True):
            for ref in refs:
                target = ref.NodeId
                if ref.ReferenceTypeId == _HAS_PROPERTY or target.NamespaceIndex == 0 or target in seen:
                    continue
                seen.add(target)
                name = ref.BrowseName.Name or str(target.Identifier)
                if ref.NodeClass == ua.NodeClass.Object:
                    nxt.append((target, [*path, name]))
                    if ref.TypeDefinition is not None and not ref.TypeDefinition.is_null():
                        object_types["/".join(p.replace("/", "_") for p in [*path, name])] = ref.TypeDefinition
                elif ref.NodeClass == ua.NodeClass.Method:
                    methods.append(BrowsedMethod(target.to_string(), parent.to_string(), name, list(path)))
                elif namespace is None or target.NamespaceIndex == namespace:
                    if ref.TypeDefinition is not None and not ref.TypeDefinition.is_null():
                        var_types[len(variables)] = ref.TypeDefinition
                    variables.append(BrowsedVariable(target, name, path))
        frontier = nxt
    if variables:
        await _describe(client, variables, chunk, structure)
    if structure is not None:
        await _type_names(client, structure, object_types, var_types, variables, chunk)
        if methods:
            await _describe_methods(client, methods, chunk)
        structure.methods += methods
    return variables


async def _type_names(client: Client, structure: PlantStructure, object_types: dict[str, ua.NodeId],
                      var_types: dict[int, ua.NodeId], variables: list[BrowsedVariable], chunk: int) -> None:
    distinct = sorted({*object_types.values(), *var_types.values()}, key=lambda n: n.to_string())
    names = await read_many(client, [(n, AttributeIds.BrowseName) for n in distinct], chunk)
    by_id = {n: (dv.Value.Value.Name if dv.Value is not None and isinstance(dv.Value.Value, ua.QualifiedName)
                 else n.to_string()) for n, dv in zip(distinct, names, strict=True)}
    for path, nid in object_types.items():
        structure.object_types[path] = by_id[nid]
    for i, nid in var_types.items():
        structure.variable_types[variables[i].node_id.to_string()] = by_id[nid]


async def _describe_methods(client: Client, methods: list[BrowsedMethod], chunk: int) -> None:
    nodes = [ua.NodeId.from_string(m.node_id) for m in methods]
    attrs = await read_many(client, [(n, a) for n in nodes for a in (AttributeIds.DisplayName,
                                                                      AttributeIds.Description)], chunk)
    props = await _browse(client, nodes, _HAS_PROPERTY, int(ua.NodeClass.Variable), chunk)
    wanted = [(i, ref.NodeId) for i, refs in enumerate(props) for ref in refs
              if ref.BrowseName.Name == "InputArguments"]
    values = await read_many(client, [(nid, AttributeIds.Value) for _, nid in wanted], chunk)
    for i, m in enumerate(methods):
        display, description = (dv.Value.Value if dv.Value is not None else None for dv in attrs[2 * i:2 * i + 2])
        if isinstance(display, ua.LocalizedText) and display.Text:
            m.display_names[(display.Locale or "")[:2].lower() or "en"] = display.Text
        if isinstance(description, ua.LocalizedText) and description.Text:
            m.description = description.Text
    for (i, _), dv in zip(wanted, values, strict=True):
        args = dv.Value.Value if dv.Value is not None else None
        for arg in args or []:
            dtype = getattr(arg, "DataType", None)  # asyncua has two Argument classes (hand/auto)
            if isinstance(dtype, ua.NodeId):
                text = getattr(arg, "Description", None)
                methods[i].inputs.append((str(getattr(arg, "Name", "") or ""), data_type_of(dtype).value,
                                          str(getattr(text, "Text", "") or "")))


async def _describe(client: Client, variables: list[BrowsedVariable], chunk: int,
                    structure: PlantStructure | None = None) -> None:
    values = await read_many(client, [(v.node_id, a) for v in variables for a in _ATTRS], chunk)
    props = await _browse(client, [v.node_id for v in variables], _HAS_PROPERTY, int(ua.NodeClass.Variable), chunk)
    wanted: list[tuple[int, str, ua.NodeId]] = []
    for i, refs in enumerate(props):
        for ref in refs:
            if ref.BrowseName.Name in ("EngineeringUnits", "EURange"):
                wanted.append((i, ref.BrowseName.Name, ref.NodeId))
    prop_values = await read_many(client, [(nid, AttributeIds.Value) for _, _, nid in wanted], chunk)
    units: dict[int, str] = {}
    ranges: dict[int, Limits] = {}
    for (i, kind, _), dv in zip(wanted, prop_values, strict=True):
        value = dv.Value.Value if dv.Value is not None else None
        if kind == "EngineeringUnits" and isinstance(value, ua.EUInformation):
            text = value.DisplayName.Text if value.DisplayName else None
            code = unece_code(int(value.UnitId or 0))
            if code and structure is not None:
                structure.unit_codes[variables[i].node_id.to_string()] = code
            if text:
                units[i] = text
            elif code:
                units[i] = code  # no display text: the code itself (the mapper reads UN/CEFACT codes)
        elif kind == "EURange" and isinstance(value, ua.Range) and value.High > value.Low:
            ranges[i] = Limits(low=value.Low, high=value.High)
    n = len(_ATTRS)
    for i, var in enumerate(variables):
        display, description, dtype, access, user_access = (
            dv.Value.Value if dv.Value is not None else None for dv in values[i * n:(i + 1) * n])
        names: dict[str, str] = {}
        for text in (description, display):  # the display name wins when both use one locale
            if isinstance(text, ua.LocalizedText) and text.Text:
                names[(text.Locale or "")[:2].lower() or "en"] = text.Text
        var.data_type = dtype if isinstance(dtype, ua.NodeId) else ua.NodeId()
        writable = isinstance(access, int) and bool(access & _CURRENT_WRITE)
        if structure is not None:
            structure.writable_by_someone[var.node_id.to_string()] = writable
        if isinstance(user_access, int):
            writable = writable and bool(user_access & _CURRENT_WRITE)
        var.tag = Tag(
            id=var.node_id.to_string(),
            name=var.browse_name,
            display_names=names,
            description=description.Text or "" if isinstance(description, ua.LocalizedText) else "",
            unit=units.get(i),
            data_type=data_type_of(var.data_type),
            asset=_asset(var.path),
            writable=writable,
            limits=ranges.get(i),
        )
