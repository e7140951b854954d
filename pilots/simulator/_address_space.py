"""Builds the ISA-95 address space of a simulated plant in bulk (one AddNodes batch, not node by node).

Node ids (string ids in the model's namespace, stable and readable)::

    ns=N;s=<model>.<enterprise|site|area key>           ISA-95 folders
    ns=N;s=<model>.line-01                               the line object (line-level signals hang here)
    ns=N;s=<model>.line-01.cnc-01                        an equipment object
    ns=N;s=<model>.line-01.cnc-01.spindle_vibration      a signal (the last part is its role)
    ns=N;s=<model>.line-01.cnc-01.spindle_vibration.EngineeringUnits / .EURange
    ns=N;s=<model>.line-01.cnc-01.RequestMaintenance     a method
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from asyncua import ua
from asyncua.ua.object_ids import ObjectIds

from factorypilot.vocabulary import DataType, Scalar

from ._engine import role_name
from ._model import Asset, MethodSpec, PlantModel, Signal

__all__ = ["UNECE_NAMESPACE", "NodeLayout", "build_items", "unece_unit_id", "variant"]

UNECE_NAMESPACE = "http://www.opcfoundation.org/UA/units/un/cefact"
_VT = {DataType.FLOAT: ua.VariantType.Double, DataType.INTEGER: ua.VariantType.Int32,
       DataType.BOOLEAN: ua.VariantType.Boolean, DataType.STRING: ua.VariantType.String}
_DT = {DataType.FLOAT: ObjectIds.Double, DataType.INTEGER: ObjectIds.Int32,
       DataType.BOOLEAN: ObjectIds.Boolean, DataType.STRING: ObjectIds.String}


def variant(data_type: DataType, value: Scalar) -> ua.Variant:
    """The OPC UA variant of a simulated value (Int32/Double/Boolean/String)."""
    vt = _VT[data_type]
    if vt is ua.VariantType.Double:
        value = float(value or 0.0)
    elif vt is ua.VariantType.Int32:
        value = int(value or 0)
    return ua.Variant(value, vt)


def unece_unit_id(code: str) -> int:
    """OPC UA UnitId of a UN/CEFACT common code (OPC 10000-8 §5.6.3): the code's ASCII bytes, big-endian."""
    uid = 0
    for ch in code.strip().upper()[:3]:
        uid = (uid << 8) | ord(ch)
    return uid


def _std(identifier: int) -> ua.NodeId:
    """A namespace-0 numeric node id (asyncua's stubs want its Int32 wrapper)."""
    return ua.NodeId(cast(ua.Int32, identifier))


def _ko(text: str) -> ua.LocalizedText:
    return ua.LocalizedText(text, "ko-KR")


def _en(text: str) -> ua.LocalizedText:
    return ua.LocalizedText(text, "en-US")


@dataclass
class NodeLayout:
    """Where things are: role → node id and back, plus method node ids per line."""

    ns: int
    variables: dict[str, ua.NodeId] = field(default_factory=dict)
    signals: dict[str, Signal] = field(default_factory=dict)
    unit_of_role: dict[str, int] = field(default_factory=dict)
    local_role: dict[str, str] = field(default_factory=dict)
    methods: dict[ua.NodeId, tuple[int, MethodSpec]] = field(default_factory=dict)

    def node_str(self, role: str) -> str:
        return self.variables[role].to_string()


class _Batch:
    def __init__(self, ns: int) -> None:
        self.ns = ns
        self.items: list[ua.AddNodesItem] = []

    def nid(self, text: str) -> ua.NodeId:
        return ua.NodeId(cast(ua.String, text), cast(ua.Int16, self.ns))

    def obj(self, nid: ua.NodeId, parent: ua.NodeId, asset: Asset, *, folder: bool, organizes: bool) -> None:
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = nid
        item.BrowseName = ua.QualifiedName(asset.browse_name, self.ns)
        item.ParentNodeId = parent
        item.ReferenceTypeId = _std(ObjectIds.Organizes if organizes else ObjectIds.HasComponent)
        item.NodeClass = ua.NodeClass.Object
        item.TypeDefinition = _std(ObjectIds.FolderType if folder else ObjectIds.BaseObjectType)
        attrs = ua.ObjectAttributes()
        attrs.EventNotifier = 0
        attrs.DisplayName = _ko(asset.name_ko)
        attrs.Description = _en(asset.description or asset.browse_name)
        attrs.WriteMask = 0
        attrs.UserWriteMask = 0
        item.NodeAttributes = attrs
        self.items.append(item)

    def prop(self, nid: ua.NodeId, parent: ua.NodeId, name: str, value: ua.Variant, dtype: int,
             *, array: bool = False) -> None:
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = nid
        item.BrowseName = ua.QualifiedName(name, 0)
        item.ParentNodeId = parent
        item.ReferenceTypeId = _std(ObjectIds.HasProperty)
        item.NodeClass = ua.NodeClass.Variable
        item.TypeDefinition = _std(ObjectIds.PropertyType)
        attrs = ua.VariableAttributes()
        attrs.DisplayName = ua.LocalizedText(name)
        attrs.Description = ua.LocalizedText(name)
        attrs.DataType = _std(dtype)
        attrs.Value = value
        attrs.ValueRank = ua.ValueRank.OneDimension if array else ua.ValueRank.Scalar
        if array:
            attrs.ArrayDimensions = [cast(ua.UInt32, 0)]
        attrs.AccessLevel = ua.AccessLevel.CurrentRead.mask
        attrs.UserAccessLevel = ua.AccessLevel.CurrentRead.mask
        attrs.WriteMask = 0
        attrs.UserWriteMask = 0
        item.NodeAttributes = attrs
        self.items.append(item)

    def var(self, nid: ua.NodeId, parent: ua.NodeId, sig: Signal, value: Scalar) -> None:
        analog = sig.eu_range is not None and sig.data_type in (DataType.FLOAT, DataType.INTEGER)
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = nid
        item.BrowseName = ua.QualifiedName(sig.browse_name, self.ns)
        item.ParentNodeId = parent
        item.ReferenceTypeId = _std(ObjectIds.HasComponent)
        item.NodeClass = ua.NodeClass.Variable
        item.TypeDefinition = _std(ObjectIds.AnalogItemType if analog else ObjectIds.BaseDataVariableType)
        access = ua.AccessLevel.CurrentRead.mask
        if sig.writable:
            access |= ua.AccessLevel.CurrentWrite.mask
        if sig.historize:
            access |= ua.AccessLevel.HistoryRead.mask
        attrs = ua.VariableAttributes()
        attrs.DisplayName = _ko(sig.name_ko)
        attrs.Description = _en(sig.description)
        attrs.DataType = _std(_DT[sig.data_type])
        attrs.Value = variant(sig.data_type, value)
        attrs.ValueRank = ua.ValueRank.Scalar
        attrs.AccessLevel = access
        attrs.UserAccessLevel = access
        attrs.Historizing = sig.historize
        attrs.MinimumSamplingInterval = 0.0
        attrs.WriteMask = 0
        attrs.UserWriteMask = 0
        item.NodeAttributes = attrs
        self.items.append(item)
        base = str(nid.Identifier)
        if sig.unit is not None:
            eu = ua.EUInformation(NamespaceUri=UNECE_NAMESPACE,
                                  UnitId=unece_unit_id(sig.unece_code) if sig.unece_code else -1,
                                  DisplayName=ua.LocalizedText(sig.unit), Description=ua.LocalizedText(sig.unit))
            self.prop(self.nid(f"{base}.EngineeringUnits"), nid, "EngineeringUnits", ua.Variant(eu),
                      ObjectIds.EUInformation)
        if analog and sig.eu_range is not None:
            rng = ua.Range(Low=float(sig.eu_range[0]), High=float(sig.eu_range[1]))
            self.prop(self.nid(f"{base}.EURange"), nid, "EURange", ua.Variant(rng), ObjectIds.Range)

    def method(self, nid: ua.NodeId, parent: ua.NodeId, spec: MethodSpec) -> None:
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = nid
        item.BrowseName = ua.QualifiedName(spec.name, self.ns)
        item.ParentNodeId = parent
        item.ReferenceTypeId = _std(ObjectIds.HasComponent)
        item.NodeClass = ua.NodeClass.Method
        attrs = ua.MethodAttributes()
        attrs.DisplayName = _ko(spec.name_ko)
        attrs.Description = _en(spec.description)
        attrs.Executable = True
        attrs.UserExecutable = True
        attrs.WriteMask = 0
        attrs.UserWriteMask = 0
        item.NodeAttributes = attrs
        self.items.append(item)
        for label, args in (("InputArguments", spec.args), ("OutputArguments", (spec.output,) if spec.output else ())):
            if not args:
                continue
            arguments = [ua.Argument(Name=a.name, DataType=_std(_DT[a.data_type]), ValueRank=-1,
                                     ArrayDimensions=[], Description=_en(a.description or a.name)) for a in args]
            self.prop(self.nid(f"{nid.Identifier!s}.{label}"), nid, label,
                      ua.Variant(arguments, ua.VariantType.ExtensionObject), ObjectIds.Argument, array=True)


def build_items(cls: type[PlantModel], lines: int, values: Mapping[str, Scalar],
                ns: int, first_line: int = 0) -> tuple[list[ua.AddNodesItem], NodeLayout]:
    """Every node of the plant (folders, lines, equipment, variables, properties, methods) as one batch.

    ``values`` maps each published role to its current value (so a restarted server keeps the plant state).
    """
    b = _Batch(ns)
    layout = NodeLayout(ns)
    h = cls.hierarchy
    parent = _std(ObjectIds.ObjectsFolder)
    for asset in (h.enterprise, h.site, h.area):
        nid = b.nid(f"{cls.name}.{asset.key}")
        b.obj(nid, parent, asset, folder=True, organizes=True)
        parent = nid
    area = parent
    for unit in range(lines):
        g = first_line + unit
        line_key = f"{h.line.key}-{g + 1:02d}"
        line_asset = Asset(line_key, f"{h.line.browse_name}{g + 1:02d}", f"{h.line.name_ko} {g + 1}",
                           h.line.description)
        line_id = b.nid(f"{cls.name}.{line_key}")
        b.obj(line_id, area, line_asset, folder=False, organizes=True)
        eq_ids: dict[str | None, ua.NodeId] = {None: line_id}
        for eq in cls.equipment:
            eq_id = b.nid(f"{cls.name}.{line_key}.{eq.key}")
            b.obj(eq_id, line_id, eq, folder=False, organizes=False)
            eq_ids[eq.key] = eq_id
        for sig in cls.signals:
            parent_id = eq_ids[sig.equipment]
            nid = b.nid(f"{parent_id.Identifier!s}.{sig.role}")
            full = role_name(g, sig.role)
            b.var(nid, parent_id, sig, values.get(full, sig.default))
            layout.variables[full] = nid
            layout.signals[full] = sig
            layout.unit_of_role[full] = unit
            layout.local_role[full] = sig.role
        for spec in cls.methods:
            parent_id = eq_ids[spec.equipment]
            nid = b.nid(f"{parent_id.Identifier!s}.{spec.name}")
            b.method(nid, parent_id, spec)
            layout.methods[nid] = (unit, spec)
    return b.items, layout
