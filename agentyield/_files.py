"""The embedded default: spans and metrics as OTLP JSON lines under `./.agentyield/`.

Used when the application configured no exporter and no `OTEL_EXPORTER_OTLP_*` endpoint is set, so a
developer sees results (`agentyield report`) with no Collector and no Docker. They run behind the SDK's
batch span processor and periodic metric reader: serialization and writes happen on those background
threads (bounded queue; what it drops is counted and named at exit, `_lifecycle`), never on the agent's.
Those threads still need the GIL, so a batch of spans is encoded span by span and the GIL handed back every
half millisecond (`_Slices`): the agent's threads never wait for a whole batch.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ._otlp_json import JsonLinesWriter, spans_to_json_line

__all__ = ["DEFAULT_DIRECTORY", "JsonLinesSpanExporter", "append"]

DEFAULT_DIRECTORY = ".agentyield"
DIRECTORY_ENV = "AGENTYIELD_DIR"
logger = logging.getLogger("agentyield")
_warned: set[Path] = set()
"""Directories whose current run of write failures was already warned about."""


def append(writer: JsonLinesWriter, line: str) -> bool:
    """Write one export request's line. A disk error fails the export: the first of a run of failures is
    one warning, the rest are counted (`writer.failed_writes`), and the first success after them is logged."""
    try:
        writer.write([line])
    except OSError as exc:
        if not writer.failed_writes and writer.directory not in _warned:
            _warned.add(writer.directory)  # traces and metrics share a directory: one warning for both
            logger.warning("agentyield: cannot write to %s (%s); telemetry is dropped until it can be written, the agent is unaffected",
                           writer.directory, exc.strerror or exc)
        writer.failed_writes += 1
        return False
    if writer.failed_writes:
        logger.info("agentyield: writing to %s again after %d failed writes", writer.path, writer.failed_writes)
        writer.failed_writes = 0
        _warned.discard(writer.directory)
    return True


_SLICE_S = 0.0005
"""How long the exporter's thread encodes before it lets the agent's threads run."""
_PAUSE_S = 0.0002
"""How long it lets them: long enough for a thread waiting for the GIL to wake up and take it."""


class _Slices:
    """Called between spans while a batch is encoded: every `_SLICE_S` it sleeps `_PAUSE_S`, which releases
    the GIL. Without it the agent's thread waits for the GIL for up to the interpreter's switch interval
    (5 ms) whenever it wants it back, several times per batch: the calls that wait are the tail (p99)."""

    def __init__(self) -> None:
        self.since = time.perf_counter()

    def __call__(self) -> None:
        if time.perf_counter() - self.since >= _SLICE_S:
            time.sleep(_PAUSE_S)
            self.since = time.perf_counter()


class JsonLinesSpanExporter(SpanExporter):  # type: ignore[misc]
    def __init__(self, directory: str | Path, **rotation: Any) -> None:
        self.writer = JsonLinesWriter(directory, "traces", **rotation)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        written = append(self.writer, spans_to_json_line(spans, _Slices()))
        return SpanExportResult.SUCCESS if written else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass
