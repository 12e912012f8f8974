"""OTLP JSON lines, written: the file format of the embedded default, the same as the Collector's file exporter.

One export request per line (`{"resourceSpans": [...]}` or `{"resourceMetrics": [...]}`), with the
OTLP/JSON conventions: lowerCamelCase field names, trace and span ids in hex, enums as integers.
"""

from __future__ import annotations

import base64
import contextlib
import json
import math
import os
import time
from pathlib import Path
from json.encoder import encode_basestring_ascii as _quote  # json.dumps' own string encoder, in C
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

from ._forksafe import fork_safe_lock

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["JsonLinesWriter", "hex_ids", "spans_to_json_line", "to_json_line"]

_ID_FIELDS = {"traceId", "spanId", "parentSpanId"}


def hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants ids in hex."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in _ID_FIELDS and isinstance(v, str) else hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [hex_ids(v) for v in value]
    return value


def to_json_line(request: Message) -> str:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(request, use_integers_for_enums=True)
    return json.dumps(hex_ids(data), separators=(",", ":")) + "\n"


def _value(value: Any) -> str:
    """An attribute value in OTLP/JSON (protobuf's JSON mapping: 64-bit integers as strings)."""
    if isinstance(value, str):  # the most common first: this runs for every attribute of every span
        return '{"stringValue":' + _quote(value) + "}"
    if isinstance(value, bool):  # before int: a bool is an int
        return '{"boolValue":true}' if value else '{"boolValue":false}'
    if isinstance(value, int):
        return '{"intValue":"%d"}' % value
    if isinstance(value, float):
        if math.isfinite(value):
            return '{"doubleValue":' + float.__repr__(value) + "}"
        return '{"doubleValue":"NaN"}' if value != value else '{"doubleValue":"Infinity"}' if value > 0 else '{"doubleValue":"-Infinity"}'
    if value is None:
        return "{}"
    if isinstance(value, bytes):
        return '{"bytesValue":"' + base64.b64encode(value).decode() + '"}'
    if isinstance(value, Mapping):
        return '{"kvlistValue":{"values":' + _attributes(value) + "}}" if value else '{"kvlistValue":{}}'
    if isinstance(value, Sequence):
        return '{"arrayValue":{"values":[' + ",".join([_value(v) for v in value]) + "]}}" if value else '{"arrayValue":{}}'
    raise TypeError(f"invalid attribute value type {type(value).__name__}")


_KEYS: dict[str, str] = {}
"""`{"key":"<key>","value":` per attribute key seen, up to `_KEYS_CAP` keys (attribute names are few; past the
cap the rest are encoded each time)."""
_KEYS_CAP = 4096


def _attributes(attributes: Any) -> str:
    """`[...]` of key-value objects, or "" when there are none (protobuf's JSON mapping leaves them out)."""
    out = []
    for key, value in (attributes or {}).items():
        prefix = _KEYS.get(key)
        if prefix is None:
            prefix = '{"key":' + _quote(str(key)) + ',"value":'
            if len(_KEYS) < _KEYS_CAP and type(key) is str:
                _KEYS[key] = prefix
        try:
            out.append(prefix + _value(value) + "}")
        except TypeError:
            continue  # as the SDK's encoder does: a value of no OTLP type is left out
    return "[" + ",".join(out) + "]" if out else ""


def _object(*fields: tuple[str, Any]) -> str:
    """A JSON object of the fields that are not empty (protobuf's JSON mapping leaves defaults out); each
    value is JSON already."""
    return "{" + ",".join([f'"{name}":{value}' for name, value in fields if value]) + "}"


def _nanos(value: int | None) -> str:
    return f'"{value}"' if value else ""


def _count(value: int) -> str:
    return str(value) if value else ""


def _span(span: ReadableSpan) -> str:
    """One span as its OTLP/JSON object, built as a string: no dict or list outlives this call, so encoding a
    batch leaves the garbage collector nothing to do (a full collection holds the GIL for as long as the
    agent's heap takes to scan)."""
    context, parent, status = span.get_span_context(), span.parent, span.status
    trace_state = ",".join(f"{k}={v}" for k, v in context.trace_state.items()) if context.trace_state is not None else ""
    events = ",".join([
        _object(("timeUnixNano", _nanos(e.timestamp)), ("name", e.name and _quote(e.name)), ("attributes", _attributes(e.attributes)),
                ("droppedAttributesCount", _count(e.dropped_attributes)))
        for e in span.events
    ])
    links = ",".join([
        _object(("traceId", f'"{link.context.trace_id:032x}"'), ("spanId", f'"{link.context.span_id:016x}"'),
                ("attributes", _attributes(link.attributes)), ("droppedAttributesCount", _count(link.dropped_attributes)),
                ("flags", str(0x100 | (0x200 if link.context.is_remote else 0))))
        for link in span.links
    ])
    return _object(
        ("traceId", f'"{context.trace_id:032x}"'),
        ("spanId", f'"{context.span_id:016x}"'),
        ("traceState", trace_state and _quote(trace_state)),
        ("parentSpanId", f'"{parent.span_id:016x}"' if parent is not None else ""),
        ("name", span.name and _quote(span.name)),
        ("kind", str(span.kind.value + 1)),
        ("startTimeUnixNano", _nanos(span.start_time)),
        ("endTimeUnixNano", _nanos(span.end_time)),
        ("attributes", _attributes(span.attributes)),
        ("droppedAttributesCount", _count(span.dropped_attributes)),
        ("events", events and f"[{events}]"),
        ("droppedEventsCount", _count(span.dropped_events)),
        ("links", links and f"[{links}]"),
        ("droppedLinksCount", _count(span.dropped_links)),
        ("status", _object(("code", _count(status.status_code.value)), ("message", status.description and _quote(status.description)))
         if status is not None else ""),
        ("flags", str(0x100 | (0x200 if parent is not None and parent.is_remote else 0))),
    )


def _scope(scope: Any) -> str:
    if scope is None:
        return "{}"
    return _object(("name", scope.name and _quote(scope.name)), ("version", scope.version and _quote(scope.version)),
                   ("attributes", _attributes(scope.attributes)))


def spans_to_json_line(spans: Sequence[ReadableSpan], between: Callable[[], None] | None = None) -> str:
    """One export request of `spans` as an OTLP JSON line, built straight from the SDK's spans: the same JSON
    as protobuf's `MessageToDict` of the OTLP exporters' `encode_spans` (ids in hex), at a fraction of the
    CPU, which the exporter's background thread otherwise holds the GIL for while the agent waits. Each span
    is encoded on its own and `between()` is called after each, so an exporter can hand the GIL back to the
    agent's threads in short slices (one large `json.dumps` would hold it for the whole batch)."""
    grouped: dict[Any, dict[Any, list[str]]] = {}
    last: tuple[Any, Any] | None = None
    encoded: list[str] = []
    for span in spans:
        resource, scope = span.resource, span.instrumentation_scope or None
        if last is None or resource is not last[0] or scope is not last[1]:  # Resource hashes by dumping its attributes
            encoded = grouped.setdefault(resource, {}).setdefault(scope, [])
            last = resource, scope
        encoded.append(_span(span))
        if between is not None:
            between()
    resource_spans = []
    for resource, scopes in grouped.items():
        scope_spans = [
            _object(("scope", _scope(scope)), ("spans", "[" + ",".join(encoded) + "]"),
                    ("schemaUrl", _quote(scope.schema_url) if scope is not None and scope.schema_url else ""))
            for scope, encoded in scopes.items()
        ]
        resource_spans.append(_object(("resource", _object(("attributes", _attributes(resource.attributes)))),
                                      ("scopeSpans", "[" + ",".join(scope_spans) + "]"),
                                      ("schemaUrl", resource.schema_url and _quote(resource.schema_url))))
    return '{"resourceSpans":[' + ",".join(resource_spans) + "]}\n"


class JsonLinesWriter:
    """Appends lines to `<directory>/<stem>.jsonl`; past `max_bytes` the file is renamed with a timestamp
    and a new one started; at most `keep` rotated files stay (the oldest are removed)."""

    def __init__(self, directory: str | Path, stem: str, *, max_bytes: int = 16 * 1024 * 1024, keep: int = 20) -> None:
        self.directory = Path(directory)
        self.stem = stem
        self.max_bytes = max_bytes
        self.keep = keep
        self.rotated_away = 0
        """Rotated files removed to honour `keep`."""
        self.failed_writes = 0
        """Writes that failed in a row (a full disk, a read-only directory); 0 once a write succeeds."""
        self._lock = fork_safe_lock(self)

    @property
    def path(self) -> Path:
        return self.directory / f"{self.stem}.jsonl"

    def write(self, lines: Sequence[str]) -> None:
        """Append whole lines or nothing: a write that fails (a full disk) is cut back off the file, and a line
        left unfinished by a crash is ended before the next one, so every line after it starts fresh."""
        if not lines:
            return
        data = "".join(lines).encode("utf-8")
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.path
            if path.exists() and path.stat().st_size >= self.max_bytes:
                self._rotate(path)
            fd = os.open(path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                size = os.fstat(fd).st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    data = b"\n" + data
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fsync(fd)
                except OSError:
                    with contextlib.suppress(OSError):
                        os.ftruncate(fd, size)
                    raise
            finally:
                os.close(fd)

    def _rotate(self, path: Path) -> None:
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        target = self.directory / f"{self.stem}-{stamp}-{time.time_ns() % 1_000_000:06d}.jsonl"
        path.rename(target)
        rotated = sorted(self.directory.glob(f"{self.stem}-*.jsonl"))
        for old in rotated[: max(0, len(rotated) - self.keep)]:
            old.unlink(missing_ok=True)
            self.rotated_away += 1
