"""Trace files, read: what `agentyield report` accepts, and what it skips.

OTLP JSON lines (the embedded default, a Collector's file exporter), one OTLP/JSON document (pretty-printed,
as protobuf's `MessageToJson` writes it) and `.pb` OTLP protobuf (an OTLP/HTTP body), any of them gzipped.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from ._otlp_json import hex_ids
from ._jsonstream import span_batches as document_batches
from ._pbstream import span_batches

__all__ = ["OTLPJsonError", "iter_requests", "iter_spans", "requests_in", "trace_files"]


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
        raise ValueError(str(exc)) from None
    return hex_ids(MessageToDict(request, use_integers_for_enums=True))  # type: ignore[no-any-return]


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
                    for batch in span_batches(handle):  # a batch of spans at a time, not the whole message
                        yield 1, _from_protobuf(batch)
                except ValueError as exc:
                    yield 1, f"not an OTLP protobuf ExportTraceServiceRequest ({exc})"
            return
        with opener(path, "rt", encoding="utf-8") as handle:
            first = handle.readline()
            if first.strip() and not isinstance(_line(first), dict):  # one JSON document over many lines
                handle.seek(0)
                read = 0
                try:
                    for request in document_batches(handle):  # a batch of spans at a time, not the whole document
                        read += 1
                        yield 1, request
                    return
                except ValueError as exc:
                    if read:  # cut off after some spans: those are kept
                        yield 1, f"not JSON (truncated?): {exc}"
                        return
                # Not a document: read as lines, so each bad line is named.
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


def iter_spans(
    paths: Sequence[str | Path], skipped: list[str], on_file: Callable[[Path], None] | None = None
) -> Iterator[Any]:
    """Every span in the files named, one export request at a time (so a file streams), appending the lines
    skipped (`file:line: what was wrong`) to `skipped`.

    A live agent's file can end mid-line, so a bad line is skipped when the rest of its file is readable;
    a file with no readable line at all is an error (OTLPJsonError naming its first bad line, raised when
    the file has been read). `on_file` is called with each file before it is read (for a progress bar)."""
    from agentyield.processors._decode import MalformedOTLP, decode_spans

    for path in trace_files(paths):
        if on_file is not None:
            on_file(path)
        good, bad = 0, []
        for number, request in requests_in(path):
            if isinstance(request, str):
                bad.append(f"{path}:{number}: {request}")
                continue
            try:
                spans = decode_spans(request)
            except MalformedOTLP as exc:
                bad.append(f"{path}:{number}: {exc}")
                continue
            del request
            good += 1
            yield from spans
        if bad and not good:
            raise OTLPJsonError(bad[0])
        skipped.extend(bad)
