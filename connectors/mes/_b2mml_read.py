"""What each B2MML document type becomes (all generations; element names differ only where noted).

- ``ProductionRequest`` (V0401/V0600 ProductionSchedule) / ``OperationsRequest`` (7.0 OperationsSchedule) ->
  work_order. The order quantity is the produced material of the *final* segment: the last top-level
  ``SegmentRequirement`` with produced material (``MaterialProducedRequirement`` or a ``MaterialRequirement``
  with ``MaterialUse`` Produced), not an intermediate segment's quantity.
- ``ProductionResponse`` / ``OperationsResponse`` -> one production record from the final segment (the last
  ``SegmentResponse`` with produced material): good = its produced quantities, scrap = quantities whose ``Key``
  is a scrap id, material used as Scrap, and ``ProductionData`` / ``SegmentData`` values whose ``ID`` is a scrap id.
  Every other material line (intermediate segments, consumed material) -> segment records.
- ``MaterialLot`` -> lot; ``MaterialSubLot`` -> lot with ``parent_lot``; ``Disposition`` kept.
- ``MaterialDefinition`` -> material. ``Equipment`` and 7.0 ``EquipmentChild`` (nested = parent) -> equipment;
  level from ``EquipmentLevel`` / ``EquipmentElementLevel``, else an ISA-95 level named by the class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from factorypilot.connectors.mes.records import RecordKind

SCRAP_IDS = ("scrap", "scrapquantity", "scrap_quantity", "reject", "rejected", "ng", "nok", "bad", "불량",
             "불량수량", "폐기", "폐기수량")
LEVELS = ("enterprise", "site", "area", "workcenter", "workunit", "processcell", "unit", "productionline",
          "productionunit", "workcell", "storagezone", "storageunit")


class Doc:
    def __init__(self, ns: str, scrap_ids: tuple[str, ...] = ()) -> None:
        self.ns = ns
        self.scrap = {s.lower() for s in (*SCRAP_IDS, *scrap_ids)}

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def text(self, el: Any, *path: str) -> str:
        cur = el
        for part in path:
            if cur is None:
                return ""
            cur = cur.find(self.q(part))
        return "" if cur is None else (cur.text or "").strip()

    def all(self, el: Any, *names: str) -> list[Any]:
        return [e for e in el.iter(*(self.q(n) for n in names))]

    def kids(self, el: Any, *names: str) -> list[Any]:
        return [e for n in names for e in el.findall(self.q(n))]

    def first_text(self, el: Any, *paths: tuple[str, ...]) -> str:
        for p in paths:
            value = self.text(el, *p)
            if value:
                return value
        return ""


def _produced(d: Doc, seg: Any, actual: bool) -> list[Any]:
    """The produced-material elements directly under a segment."""
    if actual:
        plain = d.kids(seg, "MaterialProducedActual")
        generic = [m for m in d.kids(seg, "MaterialActual") if d.text(m, "MaterialUse").lower() in ("produced",
                                                                                                    "scrap")]
    else:
        plain = d.kids(seg, "MaterialProducedRequirement")
        generic = [m for m in d.kids(seg, "MaterialRequirement") if d.text(m, "MaterialUse").lower() == "produced"]
    return plain + generic


def _work_orders(d: Doc, root: Any) -> list[dict[str, str]]:
    out = []
    for req in d.all(root, "ProductionRequest", "OperationsRequest"):
        top = d.kids(req, "SegmentRequirement")
        final = next((s for s in reversed(top) if _produced(d, s, False)), None)
        if final is None:  # no top-level produced material: the last produced anywhere in the request
            final = next((s for s in reversed(d.all(req, "SegmentRequirement")) if _produced(d, s, False)), None)
        mat = _produced(d, final, False)[-1] if final is not None else None
        seg = top[0] if top else None
        eq = next(iter(d.all(req, "EquipmentRequirement")), None)
        out.append({
            "__row__": str(req.sourceline), "order_id": d.text(req, "ID"),
            "product": d.text(req, "ProductProductionRuleID") or d.text(mat, "MaterialDefinitionID")
            or d.text(seg, "ProductSegmentID"),
            "quantity": d.text(mat, "Quantity", "QuantityString"), "unit": d.text(mat, "Quantity", "UnitOfMeasure"),
            "status": d.text(req, "RequestState"), "equipment": d.text(eq, "EquipmentID"),
            "start": d.text(req, "StartTime") or d.text(seg, "EarliestStartTime"),
            "end": d.text(req, "EndTime") or d.text(seg, "LatestEndTime"),
        })
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _segment_rows(d: Doc, order: str, seg: Any, eq: str, time: str) -> list[dict[str, str]]:
    rows = []
    for m in d.kids(seg, "MaterialActual", "MaterialProducedActual", "MaterialConsumedActual"):
        local = m.tag.rsplit("}", 1)[-1]
        use = d.text(m, "MaterialUse") or {"MaterialProducedActual": "Produced",
                                           "MaterialConsumedActual": "Consumed"}.get(local, "")
        rows.append({"__row__": str(m.sourceline), "order_id": order, "segment_id": d.text(seg, "ID"),
                     "material_use": use, "material": d.text(m, "MaterialDefinitionID"),
                     "lot_id": d.text(m, "MaterialLotID"), "quantity": d.text(m, "Quantity", "QuantityString"),
                     "unit": d.text(m, "Quantity", "UnitOfMeasure"), "equipment": eq, "time": time})
    return rows


def _responses(d: Doc, root: Any) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    production, segments = [], []
    for resp in d.all(root, "ProductionResponse", "OperationsResponse"):
        order = d.first_text(resp, ("ProductionRequestID",), ("OperationsRequestID",)) or d.text(resp, "ID")
        rule = d.text(resp, "ProductProductionRuleID")
        segs = d.all(resp, "SegmentResponse", "SegmentResponseChild")
        final = next((s for s in reversed(segs) if _produced(d, s, True)), None)
        for seg in segs:
            eq = d.text(next(iter(d.kids(seg, "EquipmentActual")), None), "EquipmentID")
            time = d.text(seg, "ActualEndTime") or d.text(seg, "ActualStartTime")
            if id(seg) != id(final):  # (not `is`: mypy would narrow seg to final's Optional type)
                segments += _segment_rows(d, order, seg, eq, time)
                continue
            good: float | None = None
            scrap = 0.0
            bad_value = ""
            product, lot = rule, ""
            for m in _produced(d, seg, True):
                product = product or d.text(m, "MaterialDefinitionID")
                lot = lot or d.text(m, "MaterialLotID")
                scrap_use = d.text(m, "MaterialUse").lower() == "scrap"
                for qty in d.kids(m, "Quantity"):
                    raw = d.text(qty, "QuantityString")
                    value = _number(raw)
                    if value is None:
                        bad_value = raw or "(empty)"
                    elif scrap_use or d.text(qty, "Key").lower() in d.scrap:
                        scrap += value
                    else:
                        good = (good or 0) + value
            for data in d.kids(seg, "ProductionData", "SegmentData"):
                if d.text(data, "ID").lower() in d.scrap:
                    value = _number(d.text(data, "Value", "ValueString"))
                    if value is None:
                        bad_value = d.text(data, "Value", "ValueString") or "(empty)"
                    else:
                        scrap += value
            consumed = [m for m in d.kids(seg, "MaterialActual", "MaterialConsumedActual")
                        if m not in _produced(d, seg, True)]
            for m in consumed:
                segments += [r for r in _segment_rows(d, order, seg, eq, time) if r["__row__"] == str(m.sourceline)]
            production.append({
                "__row__": str(seg.sourceline), "equipment": eq, "time": time,
                "good": bad_value or ("" if good is None else _int_text(good)), "scrap": _int_text(scrap),
                "order_id": order, "product": product, "lot_id": lot,
            })
    return production, segments


def _int_text(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _lots(d: Doc, root: Any) -> list[dict[str, str]]:
    out = []
    for el in d.all(root, "MaterialLot", "MaterialSubLot", "MaterialSubLotChild"):
        parent = el.getparent()
        while parent is not None and parent.tag not in (d.q("MaterialLot"), d.q("MaterialSubLot"),
                                                         d.q("MaterialSubLotChild")):
            parent = parent.getparent()
        out.append({"__row__": str(el.sourceline), "lot_id": d.text(el, "ID"),
                    "material": d.text(el, "MaterialDefinitionID"),
                    "quantity": d.text(el, "Quantity", "QuantityString"),
                    "unit": d.text(el, "Quantity", "UnitOfMeasure"),
                    "status": d.text(el, "Status") or d.text(el, "AssetStatus"),
                    "disposition": d.text(el, "Disposition"),
                    "location": d.first_text(el, ("StorageLocation",), ("StorageLocation", "EquipmentID")),
                    "parent_lot": d.text(parent, "ID") if parent is not None else ""})
    return out


def _materials(d: Doc, root: Any) -> list[dict[str, str]]:
    out = []
    for el in d.all(root, "MaterialDefinition"):
        unit = d.text(el, "Value", "UnitOfMeasure")
        for prop in d.kids(el, "MaterialDefinitionProperty"):
            if d.text(prop, "ID").lower() in ("baseunitofmeasure", "unitofmeasure", "uom") and not unit:
                unit = d.text(prop, "Value", "ValueString")
        out.append({"__row__": str(el.sourceline), "material_id": d.text(el, "ID"),
                    "description": d.text(el, "Description"), "unit": unit,
                    "material_class": d.text(el, "MaterialClassID")})
    return out


def _equipment(d: Doc, root: Any) -> list[dict[str, str]]:
    out = []
    tags = (d.q("Equipment"), d.q("EquipmentChild"))
    for el in d.all(root, "Equipment", "EquipmentChild"):
        if not d.text(el, "ID"):
            continue  # an EquipmentID reference elsewhere, not a definition
        parent = el.getparent()
        while parent is not None and parent.tag not in tags:
            parent = parent.getparent()
        cls = d.text(el, "EquipmentClassID")
        level = d.first_text(el, ("EquipmentLevel",), ("EquipmentElementLevel",),
                             ("HierarchyScope", "EquipmentElementLevel"), ("HierarchyScope", "EquipmentLevel"))
        if not level and cls.replace(" ", "").lower() in LEVELS:
            level = cls
        out.append({"__row__": str(el.sourceline), "equipment_id": d.text(el, "ID"),
                    "name": d.text(el, "Description"), "level": level, "equipment_class": cls,
                    "parent": d.text(parent, "ID") if parent is not None else ""})
    return out


def _production(d: Doc, root: Any) -> list[dict[str, str]]:
    return _responses(d, root)[0]


def _segments(d: Doc, root: Any) -> list[dict[str, str]]:
    return _responses(d, root)[1]


EXTRACTORS: dict[RecordKind, Callable[[Doc, Any], list[dict[str, str]]]] = {
    RecordKind.WORK_ORDER: _work_orders,
    RecordKind.PRODUCTION: _production,
    RecordKind.SEGMENT: _segments,
    RecordKind.LOT: _lots,
    RecordKind.MATERIAL: _materials,
    RecordKind.EQUIPMENT: _equipment,
}
