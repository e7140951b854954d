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

__all__ = ["BrowsedVariable", "browse_variables", "chunks", "read_many"]

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


async def browse_variables(client: Client, root: ua.NodeId, namespace: int | None,
                           chunk: int) -> list[BrowsedVariable]:
    """Every variable under ``root`` as a ``BrowsedVariable`` with its ``Tag`` filled in."""
    variables: list[BrowsedVariable] = []
    seen: set[ua.NodeId] = {root}
    frontier: list[tuple[ua.NodeId, list[str]]] = [(root, [])]
    mask = int(ua.NodeClass.Object) | int(ua.NodeClass.Variable)
    hierarchical = ua.NodeId(ua.Int32(ObjectIds.HierarchicalReferences))
    while frontier:
        refs_per_node = await _browse(client, [n for n, _ in frontier], hierarchical, mask, chunk)
        nxt: list[tuple[ua.NodeId, list[str]]] = []
        for (_, path), refs in zip(frontier, refs_per_node, strict=True):
            for ref in refs:
                target = ref.NodeId
                if ref.ReferenceTypeId == _HAS_PROPERTY or target.NamespaceIndex == 0 or target in seen:
                    continue
                seen.add(target)
                name = ref.BrowseName.Name or str(target.Identifier)
                if ref.NodeClass == ua.NodeClass.Object:
                    nxt.append((target, [*path, name]))
                elif namespace is None or target.NamespaceIndex == namespace:
                    variables.append(BrowsedVariable(target, name, path))
        frontier = nxt
    if variables:
        await _describe(client, variables, chunk)
    return variables


async def _describe(client: Client, variables: list[BrowsedVariable], chunk: int) -> None:
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
            if text:
                units[i] = text
        elif kind == "EURange" and isinstance(value, ua.Range):
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
