"""Conversions between OPC UA values/status codes and factorypilot samples, and write coercion."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from asyncua import ua
from asyncua.ua.status_codes import code_to_name_doc

from factorypilot.errors import DataError
from factorypilot.vocabulary import DataType, Quality, Sample, Scalar

__all__ = ["coerce", "data_type_of", "quality_of", "sample_from", "status_name", "timestamp", "to_scalar",
           "variant_type_of"]

_INT_RANGES: dict[ua.VariantType, tuple[int, int]] = {
    ua.VariantType.SByte: (-(2**7), 2**7 - 1),
    ua.VariantType.Byte: (0, 2**8 - 1),
    ua.VariantType.Int16: (-(2**15), 2**15 - 1),
    ua.VariantType.UInt16: (0, 2**16 - 1),
    ua.VariantType.Int32: (-(2**31), 2**31 - 1),
    ua.VariantType.UInt32: (0, 2**32 - 1),
    ua.VariantType.Int64: (-(2**63), 2**63 - 1),
    ua.VariantType.UInt64: (0, 2**64 - 1),
}
_FLOATS = {ua.VariantType.Float, ua.VariantType.Double}
_STRINGS = {ua.VariantType.String, ua.VariantType.LocalizedText, ua.VariantType.ByteString,
            ua.VariantType.XmlElement, ua.VariantType.Guid}
# ns=0 data type ids that are not builtin variant types but common subtypes (Part 3/5).
_SUBTYPES: dict[int, ua.VariantType] = {
    26: ua.VariantType.Double,    # Number (abstract) - best effort
    27: ua.VariantType.Int64,     # Integer
    28: ua.VariantType.UInt64,    # UInteger
    29: ua.VariantType.Int32,     # Enumeration
    290: ua.VariantType.Double,   # Duration
    294: ua.VariantType.DateTime,  # UtcTime
    295: ua.VariantType.String,   # LocaleId
    12878: ua.VariantType.String,  # NormalizedString
    12879: ua.VariantType.String,  # DecimalString
    12880: ua.VariantType.String,  # DurationString
    12881: ua.VariantType.String,  # TimeString
    12882: ua.VariantType.String,  # DateString
}
_TRUE = {"1", "true", "on", "yes", "y", "예", "참"}
_FALSE = {"0", "false", "off", "no", "n", "아니오", "거짓"}


def variant_type_of(data_type: ua.NodeId) -> ua.VariantType | None:
    """The builtin variant type for a DataType node id, or ``None`` when it is not a known ns=0 type."""
    if data_type.NamespaceIndex != 0 or not isinstance(data_type.Identifier, int):
        return None
    ident = data_type.Identifier
    if 1 <= ident <= 25:
        return ua.VariantType(ident)
    return _SUBTYPES.get(ident)


def data_type_of(data_type: ua.NodeId) -> DataType:
    vt = variant_type_of(data_type)
    if vt is None:
        return DataType.OTHER
    if vt is ua.VariantType.Boolean:
        return DataType.BOOLEAN
    if vt in _INT_RANGES or vt is ua.VariantType.StatusCode:
        return DataType.INTEGER
    if vt in _FLOATS:
        return DataType.FLOAT
    if vt in _STRINGS:
        return DataType.STRING
    if vt is ua.VariantType.DateTime:
        return DataType.DATETIME
    return DataType.OTHER


def quality_of(status: ua.StatusCode | None) -> Quality:
    value = 0 if status is None else status.value
    severity = value >> 30
    if severity == 0:
        return Quality.GOOD
    if severity == 1:
        return Quality.UNCERTAIN
    return Quality.BAD


def status_name(status: ua.StatusCode | int) -> str:
    """``BadNodeIdUnknown`` for a status code (hex when the code is not in the table)."""
    code = int(status.value) if isinstance(status, ua.StatusCode) else int(status)
    name = code_to_name_doc.get(code)
    return str(name[0]) if name else f"0x{code:08X}"


def to_scalar(value: Any) -> Scalar:
    """A factorypilot scalar: bool/int/float/str pass through, text types become ``str``."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, ua.LocalizedText):
        return value.Text
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def timestamp(value: datetime | None) -> datetime | None:
    """An aware UTC time, or None for OPC UA's "no timestamp" (DateTime 0 decodes as 1601-01-01)."""
    if value is None or value.year <= 1601:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def sample_from(tag_id: str, dv: ua.DataValue) -> Sample:
    """A Sample from a DataValue. Built with ``model_construct``: every field is already of its declared type
    (``to_scalar``/``quality_of`` normalise them), and re-validating 1,000 values per read was the largest
    client-side cost in ``benchmarks/opcua_read.py``."""
    variant = dv.Value
    return Sample.model_construct(
        tag_id=tag_id,
        value=to_scalar(variant.Value if variant is not None else None),
        quality=quality_of(dv.StatusCode),
        source_time=timestamp(dv.SourceTimestamp),
        server_time=timestamp(dv.ServerTimestamp),
    )


def coerce(value: Scalar, vtype: ua.VariantType, node_id: str) -> ua.Variant:
    """``value`` as a Variant of ``vtype`` (``1`` to Double 1.0, ``"1"`` to Boolean True ...) or ``DataError``."""

    def bad(why: str) -> DataError:
        return DataError(f"cannot write {value!r} to {vtype.name} node {node_id}: {why}", column=node_id,
                         hint=f"send a value that converts to {vtype.name}")

    if value is None:
        raise bad("no value")
    if vtype is ua.VariantType.Boolean:
        if isinstance(value, bool):
            return ua.Variant(value, vtype)
        if isinstance(value, int | float) and value in (0, 1):
            return ua.Variant(bool(value), vtype)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return ua.Variant(value.strip().lower() in _TRUE, vtype)
        raise bad("not a boolean (use true/false, 1/0, on/off)")
    if vtype in _INT_RANGES:
        try:
            if isinstance(value, float):
                if not value.is_integer():
                    raise bad("not a whole number")
                number = int(value)
            elif isinstance(value, str):
                text = value.strip()
                number = int(float(text)) if float(text).is_integer() else int(text)
            else:
                number = int(value)
        except ValueError as exc:
            raise bad(str(exc)) from exc
        low, high = _INT_RANGES[vtype]
        if not low <= number <= high:
            raise bad(f"outside the {vtype.name} range {low}..{high}")
        return ua.Variant(number, vtype)
    if vtype in _FLOATS:
        if isinstance(value, bool):
            raise bad("a boolean is not a number")
        try:
            return ua.Variant(float(value), vtype)
        except ValueError as exc:
            raise bad(str(exc)) from exc
    if vtype is ua.VariantType.String:
        return ua.Variant(str(value), vtype)
    if vtype is ua.VariantType.LocalizedText:
        return ua.Variant(ua.LocalizedText(str(value)), vtype)
    if vtype is ua.VariantType.DateTime:
        try:
            return ua.Variant(datetime.fromisoformat(str(value)), vtype)
        except ValueError as exc:
            raise bad(str(exc)) from exc
    raise bad(f"writing {vtype.name} values is not supported")
