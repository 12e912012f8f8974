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
from typing import TYPE_CHECKING, Any, Mapping, Sequence

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


def _value(value: Any) -> dict[str, Any]:
    """An attribute value in OTLP/JSON (protobuf's JSON mapping: 64-bit integers as strings)."""
    if value is None:
        return {}
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value if math.isfinite(value) else ("NaN" if value != value else "Infinity" if value > 0 else "-Infinity")}
    if isinstance(value, bytes):
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, Mapping):
        return {"kvlistValue": {"values": _attributes(value)}} if value else {"kvlistValue": {}}
    if isinstance(value, Sequence):
        return {"arrayValue": {"values": [_value(v) for v in value]}} if value else {"arrayValue": {}}
    raise TypeError(f"invalid attribute value type {type(value).__name__}")


def _attributes(attributes: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in (attributes or {}).items():
        try:
            out.append({"key": str(key), "value": _value(value)})
        except TypeError:
            continue  # as the SDK's encoder does: a value of no OTLP type is left out
    return out


def _with(target: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """`target` plus the fields that are not empty (protobuf's JSON mapping leaves defaults out)."""
    target.update((k, v) for k, v in fields.items() if v)
    return target


def _span(span: ReadableSpan) -> dict[str, Any]:
    context, parent, status = span.get_span_context(), span.parent, span.status
    flags = 0x100 | (0x200 if parent is not None and parent.is_remote else 0)
    out: dict[str, Any] = {"traceId": f"{context.trace_id:032x}", "spanId": f"{context.span_id:016x}"}
    _with(
        out,
        traceState=",".join(f"{k}={v}" for k, v in context.trace_state.items()) if context.trace_state is not None else "",
        parentSpanId=f"{parent.span_id:016x}" if parent is not None else "",
        name=span.name,
        kind=span.kind.value + 1,
        startTimeUnixNano=str(span.start_time) if span.start_time else "",
        endTimeUnixNano=str(span.end_time) if span.end_time else "",
        attributes=_attributes(span.attributes),
        droppedAttributesCount=span.dropped_attributes,
        events=[_with({}, timeUnixNano=str(e.timestamp) if e.timestamp else "", name=e.name, attributes=_attributes(e.attributes),
                      droppedAttributesCount=e.dropped_attributes) for e in span.events],
        droppedEventsCount=span.dropped_events,
        links=[_with({"traceId": f"{link.context.trace_id:032x}", "spanId": f"{link.context.span_id:016x}"}, attributes=_attributes(link.attributes),
                     droppedAttributesCount=link.dropped_attributes, flags=0x100 | (0x200 if link.context.is_remote else 0)) for link in span.links],
        droppedLinksCount=span.dropped_links,
    )
    if status is not None:
        out["status"] = _with({}, code=status.status_code.value, message=status.description or "")
    out["flags"] = flags
    return out


def spans_to_json_line(spans: Sequence[ReadableSpan]) -> str:
    """One export request of `spans` as an OTLP JSON line, built straight from the SDK's spans: the same JSON
    as protobuf's `MessageToDict` of the OTLP exporters' `encode_spans` (ids in hex), at a fraction of the
    CPU, which the exporter's background thread otherwise holds the GIL for while the agent waits."""
    grouped: dict[Any, dict[Any, list[dict[str, Any]]]] = {}
    for span in spans:
        grouped.setdefault(span.resource, {}).setdefault(span.instrumentation_scope or None, []).append(_span(span))
    resource_spans = []
    for resource, scopes in grouped.items():
        scope_spans = []
        for scope, encoded in scopes.items():
            described = _with({}, name=scope.name, version=scope.version or "", attributes=_attributes(scope.attributes)) if scope else {}
            scope_spans.append(_with({"scope": described, "spans": encoded}, schemaUrl=scope.schema_url if scope else ""))
        resource_spans.append(_with({"resource": _with({}, attributes=_attributes(resource.attributes)), "scopeSpans": scope_spans},
                                    schemaUrl=resource.schema_url))
    return json.dumps({"resourceSpans": resource_spans}, separators=(",", ":")) + "\n"


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
