"""Reading metric points out of an InMemoryMetricReader as plain dicts."""

from __future__ import annotations

from typing import Any


def points(reader: Any) -> dict[str, dict[frozenset[tuple[str, Any]], Any]]:
    """name -> {frozenset(attribute items): value}; histograms give (count, sum)."""
    out: dict[str, dict[frozenset[tuple[str, Any]], Any]] = {}
    data = reader.get_metrics_data()
    for resource_metrics in data.resource_metrics if data else ():
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                series = out.setdefault(metric.name, {})
                for point in metric.data.data_points:
                    key = frozenset((point.attributes or {}).items())
                    series[key] = (point.count, point.sum) if hasattr(point, "bucket_counts") else point.value
    return out


def labels(**items: Any) -> frozenset[tuple[str, Any]]:
    """Attribute keys with dots written as double underscores: labels(gen_ai__agent__name="coder")."""
    return frozenset((key.replace("__", "."), value) for key, value in items.items())
