"""OTLP JSON lines: the file format of the embedded default, the same as the Collector's file exporter.

One export request per line (`{"resourceSpans": [...]}` or `{"resourceMetrics": [...]}`), with the
OTLP/JSON conventions: lowerCamelCase field names, trace and span ids in hex, enums as integers.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import math
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator, Mapping, Sequence

from ._forksafe import fork_safe_lock

if TYPE_CHECKING:
    from google.protobuf.message import Message
    from opentelemetry.sdk.trace import ReadableSpan

__all__ = ["JsonLinesWriter", "OTLPJsonError", "iter_requests", "read_spans", "requests_in", "spans_to_json_line", "to_json_line", "trace_files"]

_ID_FIELDS = {"traceId", "spanId", "parentSpanId"}


def _hex_ids(value: Any) -> Any:
    """Protobuf's JSON mapping writes bytes as base64; OTLP/JSON wants ids in hex."""
    if isinstance(value, dict):
        return {k: (base64.b64decode(v).hex() if k in _ID_FIELDS and isinstance(v, str) else _hex_ids(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_hex_ids(v) for v in value]
    return value


def to_json_line(request: Message) -> str:
    from google.protobuf.json_format import MessageToDict

    data = MessageToDict(request, use_integers_for_enums=True)
    return json.dumps(_hex_ids(data), separators=(",", ":")) + "\n"


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


class OTLPJsonError(ValueError):
    """A trace file that is not OTLP JSON lines; the message is one line naming the file and line."""


_SUFFIXES = (".jsonl", ".json", ".pb", ".jsonl.gz", ".json.gz", ".pb.gz", ".gz")
_SIGNALS = {"resourceSpans", "resourceMetrics", "resourceLogs"}
_NOT_OTLP = "not OTLP JSON (expected an object with resourceSpans, resourceMetrics or resourceLogs)"


def trace_files(paths: Sequence[str | Path]) -> list[Path]:
    """The trace files named: files as given, directories searched for *.jsonl, *.json, *.pb and *.gz."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            inside = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(_SUFFIXES))
            if not inside:
                raise OTLPJsonError(f"{path}: no trace files (*.jsonl, *.json, *.pb, *.gz) in this directory")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise OTLPJsonError(f"{path}: no such file or directory")
    return found


def _from_protobuf(data: bytes) -> dict[str, Any]:
    """An OTLP/HTTP body: a serialized ExportTraceServiceRequest, as the OTLP JSON the rest reads."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise ValueError(f"not an OTLP protobuf ExportTraceServiceRequest ({exc})") from None
    return _hex_ids(MessageToDict(request, use_integers_for_enums=True))  # type: ignore[no-any-return]


def _line(line: str) -> dict[str, Any] | str:
    """One line decoded, or what is wrong with it."""
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        cut = " (truncated?)" if not line.endswith("\n") else ""
        return f"not JSON{cut}: {exc.msg} (column {exc.colno})"
    except RecursionError:
        return "not JSON: nested too deeply"
    if not isinstance(data, dict) or not (_SIGNALS & data.keys()):
        return _NOT_OTLP
    return data


def requests_in(path: Path) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """Each export request in one file with its line number, or what is wrong with that line. Reads OTLP
    JSON lines (the embedded default, a Collector's file exporter), one OTLP/JSON document (pretty-printed,
    as protobuf's `MessageToJson` writes it), and `.pb` OTLP protobuf; any of them gzipped. A file that
    cannot be read at all raises OTLPJsonError."""
    name = path.name[:-3] if path.name.endswith(".gz") else path.name
    opener: Any = gzip.open if path.name.endswith(".gz") else open
    try:
        if name.endswith(".pb"):
            with opener(path, "rb") as handle:
                try:
                    yield 1, _from_protobuf(handle.read())
                except ValueError as exc:
                    yield 1, str(exc)
            return
        with opener(path, "rt", encoding="utf-8") as handle:
            first = handle.readline()
            if first.strip() and not isinstance(_line(first), dict):
                document = _line(first + handle.read())  # one JSON document over many lines
                if isinstance(document, dict):
                    yield 1, document
                    return
            handle.seek(0)
            for number, line in enumerate(handle, 1):
                if line.strip():
                    yield number, _line(line)
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        raise OTLPJsonError(f"{path}: cannot read: {exc}") from None


def iter_requests(paths: Sequence[str | Path]) -> Iterator[tuple[Path, int, dict[str, Any]]]:
    """Each export request with its file and line number; raises OTLPJsonError on the first bad line."""
    for path in trace_files(paths):
        for number, request in requests_in(path):
            if isinstance(request, str):
                raise OTLPJsonError(f"{path}:{number}: {request}")
            yield path, number, request


def read_spans(paths: Sequence[str | Path], on_file: Callable[[Path, int], None] | None = None) -> tuple[list[Any], list[str]]:
    """Every span in the files named, and the lines skipped (`file:line: what was wrong`).

    A live agent's file can end mid-line, so a bad line is skipped when the rest of its file is readable;
    a file with no readable line at all is an error (OTLPJsonError naming its first bad line). `on_file` is
    called with each file and the number of spans read before it (for a progress bar)."""
    from agentyield.processors._decode import MalformedOTLP, decode_spans

    spans: list[Any] = []
    skipped: list[str] = []
    for path in trace_files(paths):
        if on_file is not None:
            on_file(path, len(spans))
        good, bad = 0, []
        for number, request in requests_in(path):
            if isinstance(request, str):
                bad.append(f"{path}:{number}: {request}")
                continue
            try:
                spans.extend(decode_spans(request))
            except MalformedOTLP as exc:
                bad.append(f"{path}:{number}: {exc}")
                continue
            good += 1
        if bad and not good:
            raise OTLPJsonError(bad[0])
        skipped.extend(bad)
    return spans, skipped
