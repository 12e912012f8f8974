"""OTLP/JSON export requests (ours, a Collector's, protobuf's own JSON mapping) decoded into span rows for replay.

Every field is checked for the type OTLP/JSON gives it, so a malformed file gives one error naming the field
(`resourceSpans[0].scopeSpans[0].spans[3].traceId: expected 32 hex digits, got 'xyz'`), not a traceback.
"""

from __future__ import annotations

import base64
from typing import Any, Mapping

from agentyield import _semconv as sc

from ._traces import SpanRow

__all__ = ["MalformedOTLP", "SpanRow", "decode_spans"]

_ERROR = 2  # OTLP status code ERROR


class MalformedOTLP(ValueError):
    """An export request whose fields do not have OTLP/JSON's types; the message names the field."""


_MAX_DEPTH = 16
_HEX = frozenset("0123456789abcdefABCDEF")


def _kind(value: Any) -> str:
    return "null" if value is None else {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}.get(type(value), "a number")


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedOTLP(f"{where}: expected a list, got {_kind(value)}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedOTLP(f"{where}: expected an object, got {_kind(value)}")
    return value


def _string(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedOTLP(f"{where}: expected a string, got {_kind(value)}")
    return value


def _integer(value: Any, where: str, *, unsigned: bool = False) -> int:
    """OTLP/JSON 64-bit integers: a JSON number or a decimal string."""
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.lstrip("-").isdigit() and value.isascii():
        number = int(value)
    else:
        raise MalformedOTLP(f"{where}: expected an integer, got {json_repr(value)}")
    if not (0 if unsigned else -(2**63)) <= number < 2**64:
        raise MalformedOTLP(f"{where}: {number} is out of range{' (negative)' if number < 0 else ''}")
    return number


def json_repr(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _id(value: Any, where: str, size: int) -> int | None:
    """A trace (16 bytes) or span (8 bytes) id: hex in OTLP/JSON, base64 in protobuf's own JSON mapping."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise MalformedOTLP(f"{where}: expected a hex string, got {_kind(value)}")
    if len(value) == 2 * size and _HEX.issuperset(value):
        return int(value, 16)
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        raw = b""
    if len(raw) != size:
        raise MalformedOTLP(f"{where}: expected {2 * size} hex digits, got {json_repr(value)}")
    return int.from_bytes(raw, "big")


def _any_value(value: Any, where: str, depth: int = 0) -> Any:
    if depth > _MAX_DEPTH:
        raise MalformedOTLP(f"{where}: values nested deeper than {_MAX_DEPTH} levels")
    value = _object(value, where)
    if "stringValue" in value:
        return _string(value["stringValue"], f"{where}.stringValue")
    if "intValue" in value:
        return _integer(value["intValue"], f"{where}.intValue")
    if "doubleValue" in value:
        double = value["doubleValue"]
        if isinstance(double, bool) or not isinstance(double, (int, float, str)):
            raise MalformedOTLP(f"{where}.doubleValue: expected a number, got {_kind(double)}")
        try:
            return float(double)
        except ValueError:
            raise MalformedOTLP(f"{where}.doubleValue: expected a number, got {json_repr(double)}") from None
    if "boolValue" in value:
        if not isinstance(value["boolValue"], bool):
            raise MalformedOTLP(f"{where}.boolValue: expected true or false, got {_kind(value['boolValue'])}")
        return value["boolValue"]
    if "arrayValue" in value:
        items = _list(_object(value["arrayValue"], f"{where}.arrayValue").get("values"), f"{where}.arrayValue.values")
        return tuple(_any_value(v, f"{where}.arrayValue.values[{i}]", depth + 1) for i, v in enumerate(items))
    if "kvlistValue" in value:
        return _attributes(_object(value["kvlistValue"], f"{where}.kvlistValue").get("values"), f"{where}.kvlistValue.values", depth + 1)
    return None


def _attributes(items: Any, where: str, depth: int = 0) -> dict[str, Any]:
    out = {}
    for i, kv in enumerate(_list(items, where)):
        kv = _object(kv, f"{where}[{i}]")
        out[_string(kv.get("key"), f"{where}[{i}].key")] = _any_value(kv.get("value"), f"{where}[{i}].value", depth)
    return out


def _span(span: Any, where: str, service: str | None, price_source: str | None, scope: str | None) -> SpanRow:
    span = _object(span, where)
    start = _integer(span.get("startTimeUnixNano", 0), f"{where}.startTimeUnixNano", unsigned=True)
    end = _integer(span.get("endTimeUnixNano", 0), f"{where}.endTimeUnixNano", unsigned=True)
    if end < start:
        raise MalformedOTLP(f"{where}.endTimeUnixNano: {end} is before startTimeUnixNano {start}")
    status = _object(span.get("status"), f"{where}.status")
    return SpanRow(
        name=_string(span.get("name"), f"{where}.name"),
        trace_id=_id(span.get("traceId"), f"{where}.traceId", 16) or 0,
        span_id=_id(span.get("spanId"), f"{where}.spanId", 8) or 0,
        parent_id=_id(span.get("parentSpanId"), f"{where}.parentSpanId", 8),
        start_ns=start,
        end_ns=end,
        is_error=status.get("code") in (_ERROR, "STATUS_CODE_ERROR"),
        attributes=_attributes(span.get("attributes"), f"{where}.attributes"),
        events=[
            (_string(_object(e, f"{where}.events[{i}]").get("name"), f"{where}.events[{i}].name"),
             _attributes(e.get("attributes"), f"{where}.events[{i}].attributes"))
            for i, e in enumerate(_list(span.get("events"), f"{where}.events"))
        ],
        service=service,
        price_source=price_source,
        scope=scope,
    )


def decode_spans(request: Mapping[str, Any]) -> list[SpanRow]:
    """The spans of one OTLP JSON export request (`resourceSpans`); other signals give none. A field of the
    wrong type raises MalformedOTLP naming it (`resourceSpans[0].scopeSpans[1].spans[2].traceId: ...`)."""
    rows: list[SpanRow] = []
    for r, resource_spans in enumerate(_list(request.get("resourceSpans"), "resourceSpans")):
        where = f"resourceSpans[{r}]"
        resource_spans = _object(resource_spans, where)
        resource = _object(resource_spans.get("resource"), f"{where}.resource")
        service = _attributes(resource.get("attributes"), f"{where}.resource.attributes").get("service.name")
        if not isinstance(service, str) or service.startswith("unknown_service"):
            service = None
        for s, scope_spans in enumerate(_list(resource_spans.get("scopeSpans"), f"{where}.scopeSpans")):
            at = f"{where}.scopeSpans[{s}]"
            scope_spans = _object(scope_spans, at)
            scope = _object(scope_spans.get("scope"), f"{at}.scope")
            price_source = _attributes(scope.get("attributes"), f"{at}.scope.attributes").get(sc.PRICE_SOURCE)
            price_source = price_source if isinstance(price_source, str) else None
            name = scope.get("name")
            name = name if isinstance(name, str) else None
            rows.extend(
                _span(span, f"{at}.spans[{i}]", service, price_source, name) for i, span in enumerate(_list(scope_spans.get("spans"), f"{at}.spans"))
            )
    return rows
