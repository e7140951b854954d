"""ISA-95 B2MML XML (MESA) -> canonical records, with a hardened parser and schema validation as a verdict.

Generations, told apart by namespace only: V0401 ``http://www.wbf.org/xml/B2MML-V0401``, V0600
``http://www.mesa.org/xml/B2MML-V0600``, 7.0 ``http://www.mesa.org/xml/B2MML``. Elements are found by local name
inside that namespace, so OAGIS BODs (``SyncProductionPerformance/DataArea``), BOMs, optional elements and vendor
extensions in other namespaces are accepted. Any DTD is refused (XXE, entity expansion); the parser resolves no
entities and touches no network. What each document type becomes: ``_b2mml_read``.

Validation (when ``schema_dir`` is set, e.g. the MESA schemas): the schema that declares the root element in the
document's namespace is found by content (file names differ per generation); a file that fails it is still
ingested and marked ``schema_valid: false`` with the first violations — only unparsable XML is refused.
"""

from __future__ import annotations

import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow as pa

from factorypilot.connectors.mes._b2mml_read import EXTRACTORS, Doc
from factorypilot.connectors.mes._tabular import FileInfo, RawBatch
from factorypilot.connectors.mes.records import RecordKind
from factorypilot.errors import DataError

NS_V0401 = "http://www.wbf.org/xml/B2MML-V0401"
NS_V0600 = "http://www.mesa.org/xml/B2MML-V0600"
NS_V0700 = "http://www.mesa.org/xml/B2MML"
VERSIONS = {NS_V0401: "V0401", NS_V0600: "V0600", NS_V0700: "7.0"}
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
_VERB = re.compile(r"^(Sync|Show|Process|Get|Acknowledge|Change|Cancel|Respond|Confirm)(?=[A-Z])")
MAX_VIOLATIONS = 5


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
                    hint=f"expected {NS_V0401!r} (V0401), {NS_V0600!r} (V0600) or {NS_V0700!r} (7.0)")


@lru_cache(maxsize=16)
def _schema_index(schema_dir: str) -> dict[str, list[tuple[str, str]]]:
    """namespace -> [(xsd path, its text)] of every XSD under ``schema_dir``."""
    out: dict[str, list[tuple[str, str]]] = {}
    for xsd in sorted(Path(schema_dir).rglob("*.xsd")):
        text = xsd.read_text(encoding="utf-8", errors="replace")
        m = re.search(r'targetNamespace\s*=\s*"([^"]+)"', text)
        if m:
            out.setdefault(m.group(1), []).append((str(xsd), text))
    return out


def schema_for(schema_dir: Path, ns: str, root_name: str) -> Path | None:
    """The XSD (in the document's namespace) that declares ``root_name`` as an element; files whose name holds
    the document noun first (B2MML-V0401-Equipment.xsd, B2MML-Equipment.xsd ...)."""
    noun = _VERB.sub("", root_name)
    declares = re.compile(rf'<(?:\w+:)?element\s+name\s*=\s*"{re.escape(root_name)}"')
    found = [p for p, text in _schema_index(str(schema_dir)).get(ns, []) if declares.search(text)]
    found.sort(key=lambda p: (noun.split("Information")[0] not in Path(p).name, len(Path(p).name)))
    return Path(found[0]) if found else None


@lru_cache(maxsize=16)
def _load_schema(path: str) -> Any:
    import xmlschema

    return xmlschema.XMLSchema(path)


NO_SCHEMAS = (
    "not validated against the B2MML schemas: none found / B2MML 스키마가 없어 검증하지 않음 — set schema_dir in the "
    "MES config or FACTORYPILOT_B2MML_SCHEMAS to a folder with MESA's B2MML XSDs (github.com/MESAInternational/"
    "B2MML-BatchML: V0401/, V0600/, Schema/ for 7.0), or put them in FACTORYPILOT_HOME/b2mml")
"""The one line an ingest prints for B2MML when no schemas were found (the file is still ingested)."""


def validate(root: Any, ns: str, schema_dir: Path) -> tuple[bool | None, list[str], str]:
    """(valid, first violations, schema file name); valid is None when no schema declares the root."""
    from lxml import etree

    name = etree.QName(root).localname
    xsd = schema_for(schema_dir, ns, name)
    if xsd is None:
        return None, [f"no XSD in {schema_dir} declares {name!r} in {ns}"], ""
    violations = []
    for err in _load_schema(str(xsd)).iter_errors(root):
        line = getattr(err.elem, "sourceline", None) if err.elem is not None else None
        violations.append(f"line {line}: {err.reason}" if line else str(err.reason))
        if len(violations) >= MAX_VIOLATIONS:
            break
    return not violations, violations, xsd.name


def read_b2mml(path: Path, schema_dir: Path | None = None,
               scrap_ids: tuple[str, ...] = ()) -> tuple[FileInfo, dict[RecordKind, RawBatch]]:
    from lxml import etree

    file = str(path)
    root = _parse(path)
    ns = _ns(root, file)
    verdict: dict[str, Any] = {}
    detail = f"{VERSIONS[ns]} {etree.QName(root).localname}"
    if schema_dir is not None:
        valid, violations, xsd = validate(root, ns, schema_dir)
        verdict = {"schema_valid": valid, "schema": xsd, "schema_violations": violations}
        detail += "; schema_valid: " + ("unknown" if valid is None else str(valid).lower())
    else:
        detail += "; not validated (no schemas)"
    d = Doc(ns, scrap_ids)
    batches: dict[RecordKind, RawBatch] = {}
    for kind, extract in EXTRACTORS.items():
        rows = extract(d, root)
        if not rows:
            continue
        cols = [c for c in rows[0] if c != "__row__"]
        table = pa.table({c: pa.array([r.get(c, "") for r in rows], pa.string()) for c in cols})
        if verdict:
            table = table.append_column("b2mml", pa.array([json.dumps(verdict, ensure_ascii=False)] * len(rows)))
        batches[kind] = RawBatch(table, pa.array([int(r["__row__"]) for r in rows], pa.int64()))
    info = FileInfo("b2mml", None, None, [], detail=detail)
    info.verdict = verdict
    return info, batches
