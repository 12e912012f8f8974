"""The embedded default: spans and metrics as OTLP JSON lines under `./.agentyield/`.

Used when the application configured no exporter and no `OTEL_EXPORTER_OTLP_*` endpoint is set, so a
developer sees results (`agentyield report`) with no Collector and no Docker.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Sequence

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from ._otlp_json import JsonLinesWriter, to_json_line

__all__ = ["DEFAULT_DIRECTORY", "JsonLinesMetricExporter", "JsonLinesSpanExporter"]

DEFAULT_DIRECTORY = ".agentyield"
DIRECTORY_ENV = "AGENTYIELD_DIR"
logger = logging.getLogger("agentyield")


def _append(writer: JsonLinesWriter, request: Any) -> bool:
    """Write one export request as a line; a disk error is logged and reported as a failed export."""
    try:
        writer.write([to_json_line(request)])
    except OSError as exc:
        logger.warning("agentyield: cannot write to %s: %s", writer.path, exc)
        return False
    return True


class JsonLinesSpanExporter(SpanExporter):  # type: ignore[misc]
    def __init__(self, directory: str | Path, **rotation: Any) -> None:
        self.writer = JsonLinesWriter(directory, "traces", **rotation)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        written = _append(self.writer, encode_spans(spans))
        return SpanExportResult.SUCCESS if written else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        pass


class JsonLinesMetricExporter(MetricExporter):  # type: ignore[misc]
    def __init__(self, directory: str | Path, **rotation: Any) -> None:
        super().__init__()
        self.writer = JsonLinesWriter(directory, "metrics", **rotation)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        written = _append(self.writer, encode_metrics(metrics_data))
        return MetricExportResult.SUCCESS if written else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass
