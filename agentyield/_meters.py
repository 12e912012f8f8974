"""The metric exporters of the meter provider agentyield makes itself: the embedded default's (OTLP JSON lines) and
the counter of what reached the destination. A module of their own because they import the OpenTelemetry
metrics SDK, which `instrument()` leaves to its start-up thread (`_deferred`): importing it and making the
provider is most of what the one line would otherwise cost at start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from ._files import append
from ._lifecycle import Delivery
from ._otlp_json import JsonLinesWriter, to_json_line

__all__ = ["CountedMetricExporter", "JsonLinesMetricExporter"]


class JsonLinesMetricExporter(MetricExporter):  # type: ignore[misc]
    def __init__(self, directory: str | Path, **rotation: Any) -> None:
        super().__init__()
        self.writer = JsonLinesWriter(directory, "metrics", **rotation)

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics

        written = append(self.writer, to_json_line(encode_metrics(metrics_data)))
        return MetricExportResult.SUCCESS if written else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        pass


class CountedMetricExporter(MetricExporter):  # type: ignore[misc]
    def __init__(self, inner: MetricExporter, delivery: Delivery) -> None:
        super().__init__(preferred_temporality=inner._preferred_temporality, preferred_aggregation=inner._preferred_aggregation)
        self.inner = inner
        self.delivery = delivery

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        self.delivery.metrics_pending = True
        result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        self.delivery.metrics_pending = False
        if result != MetricExportResult.SUCCESS:
            self.delivery.metric_exports_failed += 1
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return bool(self.inner.force_flush(timeout_millis))

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)
