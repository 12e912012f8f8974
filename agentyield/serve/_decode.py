"""OTLP trace export requests (protobuf or JSON) to the plain span rows the booking reads.

Both encodings go through the protobuf message, so one decoder validates them: a body that is not a valid
request raises `DecodeError` with a message naming what was wrong, which the receiver sends back.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from google.protobuf.json_format import ParseDict, ParseError
from google.protobuf.message import DecodeError as ProtobufDecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from agentyield.processors._normalize import READ_KEYS, READ_PREFIXES
from agentyield.processors._traces import SpanRow

__all__ = ["DecodeError", "decode_json", "decode_protobuf", "rows"]

_ERROR = 2  # Status.STATUS_CODE_ERROR
_HELD_BASE, _HELD_PER_BYTE = 512, 4
"""What a span costs to hold as Python objects, from its encoded size: measured by benchmarks/serve_throughput.py
(about 2 KiB for a 330-byte chat span with 14 attributes), so the byte bound bounds memory, not wire bytes."""
_ID_FIELDS = ("traceId", "spanId", "parentSpanId")


class DecodeError(ValueError):
    """A request body that is not an OTLP trace export request; the message says what and where."""


def decode_protobuf(body: bytes) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(body)
    except (ProtobufDecodeError, RuntimeError, ValueError) as exc:
        raise DecodeError(f"not an OTLP ExportTraceServiceRequest in protobuf ({len(body)} bytes): {exc}") from None
    return request


def _hex_ids_to_base64(value: Any, where: str) -> Any:
    """OTLP/JSON writes ids in hex; protobuf's JSON mapping reads bytes as base64."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key in _ID_FIELDS and isinstance(item, str):
                try:
                    out[key] = base64.b64encode(bytes.fromhex(item)).decode() if item else ""
                except ValueError:
                    raise DecodeError(f"{where}.{key}: not a hex id: {item[:40]!r}") from None
            else:
                out[key] = _hex_ids_to_base64(item, f"{where}.{key}")
        return out
    if isinstance(value, list):
        return [_hex_ids_to_base64(item, f"{where}[{i}]") for i, item in enumerate(value)]
    return value


def decode_json(body: bytes) -> ExportTraceServiceRequest:
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DecodeError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise DecodeError(f"expected a JSON object with resourceSpans, got {type(data).__name__}")
    request = ExportTraceServiceRequest()
    try:
        ParseDict(_hex_ids_to_base64(data, "request"), request)
    except ParseError as exc:
        raise DecodeError(f"not an OTLP/JSON trace export request: {exc}") from None
    return request


def _value(value: Any) -> Any:
    which = value.WhichOneof("value")
    if which == "string_value":
        return value.string_value
    if which == "int_value":
        return value.int_value
    if which == "double_value":
        return value.double_value
    if which == "bool_value":
        return value.bool_value
    if which == "array_value":
        return tuple(_value(v) for v in value.array_value.values)
    if which == "kvlist_value":
        return {kv.key: _value(kv.value) for kv in value.kvlist_value.values}
    if which == "bytes_value":
        return value.bytes_value
    return None


_SCALARS = frozenset({"string_value", "int_value", "double_value", "bool_value"})


def _attributes(items: Any) -> dict[str, Any]:
    """The hot loop of decoding (a dozen attributes a span): only the attributes the normalizer reads (the rest,
    prompts and HTTP details, are never converted), scalars read directly, the rest through `_value`."""
    out = {}
    for kv in items:
        key = kv.key
        if key in READ_KEYS or key.startswith(READ_PREFIXES):
            value = kv.value
            which = value.WhichOneof("value")
            out[key] = getattr(value, which) if which in _SCALARS else _value(value)
    return out


def rows(request: ExportTraceServiceRequest) -> list[tuple[SpanRow, int]]:
    """Each span of the request with what it costs to hold until its trace is booked (estimated bytes)."""
    out: list[tuple[SpanRow, int]] = []
    for resource_spans in request.resource_spans:
        service = None
        for kv in resource_spans.resource.attributes:
            if kv.key == "service.name":
                service = kv.value.string_value or None
        if service is not None and service.startswith("unknown_service"):
            service = None
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope.name or None
            for span in scope_spans.spans:
                row = SpanRow(
                    name=span.name,
                    trace_id=int.from_bytes(span.trace_id, "big"),
                    span_id=int.from_bytes(span.span_id, "big"),
                    parent_id=int.from_bytes(span.parent_span_id, "big") if span.parent_span_id else None,
                    start_ns=span.start_time_unix_nano,
                    end_ns=span.end_time_unix_nano,
                    is_error=span.status.code == _ERROR,
                    attributes=_attributes(span.attributes),
                    events=[(event.name, _attributes(event.attributes)) for event in span.events],
                    service=service,
                    scope=scope,
                )
                out.append((row, _HELD_BASE + _HELD_PER_BYTE * span.ByteSize()))
    return out
