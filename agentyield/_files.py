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


class JsonLinesSpanExporter(SpanExporter):  # type: ignore[misc]
    def __init__(self, directory: str | Path, **rotation: Any) -> None:
        self.writer = JsonLinesWriter(directory, "traces", **rotation)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

        try:
            self.writer.write([to_json_line(encode_spans(spans))])
        except OSError as exc:
            logger.warning("agentyield: cannot write spans to %s: %s", self.writer.path, exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        pass


class JsonLinesMetricExporter(MetricExporter):  # type: ignore[misc]
    def __init__(self, directory: str | Path, **rotation: Any) -> None:
        super().__init__()
        self.writer = JsonLinesWriter(directory, "metrics", **rotation)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        try:
            self.writer.write([to_json_line(encode_metrics(metrics_data))])
        except OSError as exc:
            logger.warning("agentyield: cannot write metrics to %s: %s", self.writer.path, exc)
            return MetricExportResult.FAILURE
        return MetricExportResult.SUCCESS

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass
