"""History read, typed writes and method calls against one asyncua client."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from asyncua import ua
from asyncua.client.client import Client
from asyncua.ua.attribute_ids import AttributeIds

from factorypilot.connectors.opcua._values import coerce, sample_from, status_name, to_scalar, variant_type_of
from factorypilot.errors import CapabilityError, DataError, NodeNotFoundError, SafetyViolation
from factorypilot.vocabulary import Sample, Scalar, Tag

__all__ = ["call", "history", "history_page", "write"]

_HISTORY_READ = 1 << ua.AccessLevel.HistoryRead.value
_READ_ONLY = {"BadNotWritable", "BadUserAccessDenied", "BadWriteNotSupported"}
_NOT_FOUND = {"BadNodeIdUnknown", "BadNodeIdInvalid", "BadMethodInvalid"}


def _missing(tag_id: str, status: str, where: str) -> NodeNotFoundError:
    return NodeNotFoundError(f"node {tag_id} does not exist on the server ({status})", where=where,
                             hint="'factorypilot connect browse ENDPOINT' lists the server's tags")


async def history_page(client: Client, node: ua.NodeId, details: Any, cont: bytes | None) -> ua.HistoryReadResult:
    """One HistoryRead page of ``node`` (values or events, by ``details``), from continuation point ``cont``."""
    params = ua.HistoryReadParameters(HistoryReadDetails=details, TimestampsToReturn=ua.TimestampsToReturn.Both,
                                      ReleaseContinuationPoints=False,
                                      NodesToRead=[ua.HistoryReadValueId(NodeId=node, ContinuationPoint=cont,
                                                                         DataEncoding=ua.QualifiedName())])
    return (await client.uaclient.history_read(params))[0]


async def history(client: Client, tag_ids: Sequence[str], nodes: Sequence[ua.NodeId], start: datetime,
                  end: datetime, where: str) -> list[Sample]:
    """Raw history of each node (HistoryRead, ReadRawModifiedDetails), following continuation points."""
    access = await client.uaclient.read_attributes(list(nodes), AttributeIds.AccessLevel)
    for tid, dv in zip(tag_ids, access, strict=True):
        if dv.StatusCode is not None and not dv.StatusCode.is_good():
            raise _missing(tid, status_name(dv.StatusCode), where)
        if not int((dv.Value.Value if dv.Value is not None else 0) or 0) & _HISTORY_READ:
            raise CapabilityError(f"node {tid} keeps no history on the server (its AccessLevel lacks HistoryRead)",
                                  where=where, hint="enable historizing for this node on the server, or "
                                                    "record it yourself with subscribe()")
    out: list[Sample] = []
    for tid, node in zip(tag_ids, nodes, strict=True):
        cont: bytes | None = None
        while True:
            details = ua.ReadRawModifiedDetails(IsReadModified=False, StartTime=start, EndTime=end,
                                                NumValuesPerNode=0, ReturnBounds=False)
            result = await history_page(client, node, details, cont)
            if not result.StatusCode.is_good():
                name = status_name(result.StatusCode)
                if name in _NOT_FOUND:
                    raise _missing(tid, name, where)
                raise CapabilityError(f"the server refused to read the history of {tid} ({name})", where=where,
                                      hint="the server may not support HistoryRead for this node")
            values = result.HistoryData.DataValues if result.HistoryData is not None else None
            out += [sample_from(tid, dv) for dv in values or []]
            cont = result.ContinuationPoint
            if not cont:
                break
    return out


async def _variant_type(client: Client, tag_id: str, node: ua.NodeId, cache: dict[str, ua.VariantType],
                        where: str) -> ua.VariantType:
    if tag_id in cache:
        return cache[tag_id]
    dtype, value = await client.uaclient.read(ua.ReadParameters(NodesToRead=[
        ua.ReadValueId(NodeId=node, AttributeId=AttributeIds.DataType),
        ua.ReadValueId(NodeId=node, AttributeId=AttributeIds.Value)]))
    if dtype.StatusCode is not None and not dtype.StatusCode.is_good():
        raise _missing(tag_id, status_name(dtype.StatusCode), where)
    vtype = variant_type_of(dtype.Value.Value) if dtype.Value is not None else None
    if vtype is None and value.Value is not None and value.Value.VariantType is not ua.VariantType.Null:
        vtype = value.Value.VariantType  # a custom subtype: the current value tells the builtin type
    if vtype is None:
        raise DataError(f"cannot tell the data type of node {tag_id}", column=tag_id,
                        hint="the node has a custom data type and no current value")
    cache[tag_id] = vtype
    return vtype


async def write(client: Client, tag_id: str, node: ua.NodeId, value: Scalar, cache: dict[str, ua.VariantType],
                tag: Tag | None, where: str) -> None:
    """Coerce ``value`` to the node's data type (read once, cached) and write it; bad status -> typed error."""
    vtype = await _variant_type(client, tag_id, node, cache, where)
    variant = coerce(value, vtype, tag_id)
    if tag is not None and tag.limits is not None and isinstance(variant.Value, int | float) \
            and not isinstance(variant.Value, bool) and not tag.limits.contains(float(variant.Value)):
        raise DataError(f"value {variant.Value} is outside the device range {tag.limits.low}..{tag.limits.high} "
                        f"(EURange) of node {tag_id}", column=tag_id, hint="send a value inside the EURange")
    status = (await client.uaclient.write_attributes([node], [ua.DataValue(variant)], AttributeIds.Value))[0]
    if status.is_good():
        return
    name = status_name(status)
    if name in _NOT_FOUND:
        raise _missing(tag_id, name, where)
    if name in _READ_ONLY:
        raise SafetyViolation(f"the server refused to write node {tag_id}: it is read-only for this user ({name})",
                              where=where, hint="check the node's AccessLevel/UserAccessLevel and the login used")
    raise DataError(f"the server refused the value {variant.Value!r} for node {tag_id} ({name})", column=tag_id,
                    hint="check the value's type and range against the node")


async def _input_types(client: Client, method: ua.NodeId) -> list[ua.VariantType | None]:
    refs = await client.get_node(method).get_properties()
    for ref in refs:
        if (await ref.read_browse_name()).Name == "InputArguments":
            args = await ref.read_value()
            return [variant_type_of(a.DataType) for a in args or []]
    return []


async def call(client: Client, method_id: str, method: ua.NodeId, obj: ua.NodeId | None, args: list[Scalar],
               where: str) -> list[Scalar]:
    """Call ``method`` on ``obj`` (default: the method's parent object), coercing the input arguments."""
    if obj is None:
        parent = await client.get_node(method).get_parent()
        if parent is None:
            raise NodeNotFoundError(f"method {method_id} has no parent object", where=where,
                                    hint="give the object id (ActionRequest.object_id)")
        obj = parent.nodeid
    types = await _input_types(client, method)
    inputs: list[ua.Variant] = []
    for i, arg in enumerate(args):
        vtype = types[i] if i < len(types) else None
        inputs.append(coerce(arg, vtype, method_id) if vtype is not None else ua.Variant(arg))
    result = (await client.uaclient.call([ua.CallMethodRequest(ObjectId=obj, MethodId=method,
                                                               InputArguments=inputs)]))[0]
    if not result.StatusCode.is_good():
        name = status_name(result.StatusCode)
        if name in _NOT_FOUND:
            raise _missing(method_id, name, where)
        raise DataError(f"method {method_id} failed ({name})", column=method_id,
                        hint="check the number and types of the arguments")
    return [to_scalar(v.Value if isinstance(v, ua.Variant) else v) for v in result.OutputArguments or []]
