"""ISA-95 B2MML XML (MESA) -> canonical records, with a hardened parser.

Namespaces: ``http://www.mesa.org/xml/B2MML-V0401`` (V0401) and ``http://www.mesa.org/xml/B2MML`` (V0600
and later). Elements are found by local name inside the detected namespace, so verb wrappers
(``SyncProductionPerformance/DataArea``), BOMs, optional elements and vendor extensions in other namespaces
are accepted. Any DTD is refused: external entities (XXE) and entity expansion (billion laughs) never get
as far as the parser, and the parser itself resolves no entities and touches no network.

Mapping (both versions):
- ``ProductionRequest`` (ProductionSchedule) -> work_order
- ``SegmentResponse`` (ProductionPerformance/ProductionResponse) -> production: good/scrap are the
  quantities of produced material (V0401 ``MaterialProducedActual``; V0600 ``MaterialActual`` with
  ``MaterialUse`` Produced); a ``Quantity`` whose ``Key`` is Scrap/Reject/NG/불량 counts as scrap.
- ``MaterialLot`` -> lot, ``MaterialDefinition`` -> material, ``Equipment`` (nested = parent) -> equipment
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pyarrow as pa

from factorypilot.connectors.mes._tabular import FileInfo, RawBatch
from factorypilot.connectors.mes.records import RecordKind
from factorypilot.errors import ConfigError, DataError

NS_V0401 = "http://www.mesa.org/xml/B2MML-V0401"
NS_V0600 = "http://www.mesa.org/xml/B2MML"
VERSIONS = {NS_V0401: "V0401", NS_V0600: "V0600+"}
_SCRAP_KEYS = {"scrap", "reject", "rejected", "ng", "nok", "bad", "불량", "폐기"}
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


def _parse(path: Path) -> Any:
    from lxml import etree

    data = path.read_bytes()
    file = str(path)
    probe = data[:4096]
    if probe.startswith((b"\xff\xfe", b"\xfe\xff")):
        probe = probe.decode("utf-16", errors="replace").encode()
    if _DTD.search(probe) or _DTD.search(data):
        raise DataError("XML with a DTD / entity declarations is refused (XXE and entity-expansion protection)",
                        file=file, hint="B2MML needs no DTD; export without <!DOCTYPE>")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False,
                             dtd_validation=False, remove_pis=True, collect_ids=False)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        line = exc.position[0] if exc.position else None
        raise DataError(f"malformed XML: {exc.msg}", file=file, row=line,
                        hint="is the file truncated or not XML?") from exc
    tree = root.getroottree()
    if tree.docinfo.internalDTD is not None or tree.docinfo.externalDTD is not None or tree.docinfo.doctype:
        raise DataError("XML with a DTD is refused", file=file, hint="export without <!DOCTYPE>")
    return root


def _ns(root: Any, file: str) -> str:
    from lxml import etree

    for el in root.iter():
        if isinstance(el.tag, str):
            ns = etree.QName(el).namespace
            if ns in VERSIONS:
                return str(ns)
    raise DataError("no B2MML namespace found", file=file,
                    hint=f"expected {NS_V0401!r} (V0401) or {NS_V0600!r} (V0600+)")


class _Doc:
    def __init__(self, ns: str) -> None:
        self.ns = ns

    def q(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def text(self, el: Any, *path: str) -> str:
        cur = el
        for part in path:
            cur = cur.find(self.q(part))
            if cur is None:
                return ""
        return (cur.text or "").strip()

    def all(self, el: Any, name: str) -> list[Any]:
        return list(el.iter(self.q(name)))


def _work_orders(d: _Doc, root: Any) -> list[dict[str, str]]:
    out = []
    for req in d.all(root, "ProductionRequest"):
        seg = req.find(d.q("SegmentRequirement"))
        mat = next(iter(d.all(req, "MaterialProducedRequirement")), None)
        if mat is None:
            mat = next((m for m in d.all(req, "MaterialRequirement")
                        if d.text(m, "MaterialUse").lower() == "produced"), None)
        eq = next(iter(d.all(req, "EquipmentRequirement")), None)
        out.append({
            "__row__": str(req.sourceline),
            "order_id": d.text(req, "ID"),
            "product": d.text(req, "ProductProductionRuleID") or (d.text(mat, "MaterialDefinitionID") if mat is not
                                                                  None else "")
                       or (d.text(seg, "ProductSegmentID") if seg is not None else ""),
            "quantity": d.text(mat, "Quantity", "QuantityString") if mat is not None else "",
            "unit": d.text(mat, "Quantity", "UnitOfMeasure") if mat is not None else "",
            "status": d.text(req, "RequestState"),
            "equipment": d.text(eq, "EquipmentID") if eq is not None else "",
            "start": d.text(req, "StartTime") or (d.text(seg, "EarliestStartTime") if seg is not None else ""),
            "end": d.text(req, "EndTime") or (d.text(seg, "LatestEndTime") if seg is not None else ""),
        })
    return out


def _production(d: _Doc, root: Any) -> list[dict[str, str]]:
    out = []
    for resp in d.all(root, "ProductionResponse"):
        order = d.text(resp, "ProductionRequestID")
        rule = d.text(resp, "ProductProductionRuleID")
        for seg in d.all(resp, "SegmentResponse"):
            produced = d.all(seg, "MaterialProducedActual") + [
                m for m in d.all(seg, "MaterialActual") if d.text(m, "MaterialUse").lower() in ("produced", "scrap")]
            good: int | None = None
            scrap = 0
            bad_value = ""
            product, lot = rule, ""
            for m in produced:
                product = product or d.text(m, "MaterialDefinitionID")
                lot = lot or d.text(m, "MaterialLotID")
                is_scrap_use = d.text(m, "MaterialUse").lower() == "scrap"
                for qty in m.findall(d.q("Quantity")):
                    raw = d.text(qty, "QuantityString")
                    try:
                        value = int(float(raw))
                    except ValueError:
                        bad_value = raw or "(empty)"
                        continue
                    if is_scrap_use or d.text(qty, "Key").lower() in _SCRAP_KEYS:
                        scrap += value
                    else:
                        good = (good or 0) + value
            eq = next(iter(d.all(seg, "EquipmentActual")), None)
            out.append({
                "__row__": str(seg.sourceline),
                "equipment": d.text(eq, "EquipmentID") if eq is not None else "",
                "time": d.text(seg, "ActualEndTime") or d.text(seg, "ActualStartTime"),
                "good": bad_value if bad_value else ("" if good is None else str(good)),
                "scrap": str(scrap),
                "order_id": order,
                "product": product,
                "lot_id": lot,
            })
    return out


def _lots(d: _Doc, root: Any) -> list[dict[str, str]]:
    return [{"__row__": str(el.sourceline), "lot_id": d.text(el, "ID"),
             "material": d.text(el, "MaterialDefinitionID"),
             "quantity": d.text(el, "Quantity", "QuantityString"), "unit": d.text(el, "Quantity", "UnitOfMeasure"),
             "status": d.text(el, "Status") or d.text(el, "AssetStatus"), "location": d.text(el, "StorageLocation")}
            for el in d.all(root, "MaterialLot")]


def _materials(d: _Doc, root: Any) -> list[dict[str, str]]:
    return [{"__row__": str(el.sourceline), "material_id": d.text(el, "ID"), "description": d.text(el, "Description"),
             "unit": d.text(el, "Value", "UnitOfMeasure") or d.text(el, "MaterialDefinitionProperty", "Value",
                                                                   "UnitOfMeasure"),
             "material_class": d.text(el, "MaterialClassID")}
            for el in d.all(root, "MaterialDefinition")]


def _equipment(d: _Doc, root: Any) -> list[dict[str, str]]:
    out = []
    for el in d.all(root, "Equipment"):
        parent = el.getparent()
        while parent is not None and parent.tag != d.q("Equipment"):
            parent = parent.getparent()
        out.append({"__row__": str(el.sourceline), "equipment_id": d.text(el, "ID"),
                    "name": d.text(el, "Description"), "level": d.text(el, "EquipmentLevel"),
                    "equipment_class": d.text(el, "EquipmentClassID"),
                    "parent": d.text(parent, "ID") if parent is not None else ""})
    return out


def _validate(root: Any, schema_dir: Path, file: str) -> None:
    import xmlschema
    from lxml import etree

    name = etree.QName(root).localname
    noun = re.sub(r"^(Sync|Show|Process|Get|Acknowledge|Change|Cancel|Respond|Confirm)", "", name)
    candidates = sorted(schema_dir.rglob(f"*{noun}.xsd"))
    if not candidates:
        raise ConfigError(f"no XSD for {name!r} in the schema dir", where=str(schema_dir),
                          hint=f"put the B2MML schema (e.g. B2MML-{noun}.xsd) there, or unset schema_dir")
    schema = xmlschema.XMLSchema(str(candidates[0]))
    errors = list(schema.iter_errors(root))
    if errors:
        first = errors[0]
        line = getattr(first.elem, "sourceline", None) if first.elem is not None else None
        raise DataError(f"B2MML schema validation failed ({len(errors)} errors): {first.reason}", file=file,
                        row=line, hint=f"validated against {candidates[0].name}")


def read_b2mml(path: Path, schema_dir: Path | None = None) -> tuple[FileInfo, dict[RecordKind, RawBatch]]:
    file = str(path)
    root = _parse(path)
    ns = _ns(root, file)
    if schema_dir is not None:
        _validate(root, schema_dir, file)
    d = _Doc(ns)
    found: dict[RecordKind, list[dict[str, str]]] = {
        RecordKind.WORK_ORDER: _work_orders(d, root),
        RecordKind.PRODUCTION: _production(d, root),
        RecordKind.LOT: _lots(d, root),
        RecordKind.MATERIAL: _materials(d, root),
        RecordKind.EQUIPMENT: _equipment(d, root),
    }
    batches: dict[RecordKind, RawBatch] = {}
    for kind, rows in found.items():
        if not rows:
            continue
        cols = [c for c in rows[0] if c != "__row__"]
        table = pa.table({c: pa.array([r[c] for r in rows], pa.string()) for c in cols})
        batches[kind] = RawBatch(table, pa.array([int(r["__row__"]) for r in rows], pa.int64()))
    from lxml import etree

    info = FileInfo("b2mml", None, None, [], detail=f"{VERSIONS[ns]} {etree.QName(root).localname}")
    return info, batches
