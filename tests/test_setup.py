"""The one-line setup: providers, entry point, idempotence, and what start-up does not do."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import agentyield


def run(code: str, **env: str) -> str:
    """Run `code` in a fresh interpreter (global providers and imports start clean)."""
    import os

    import tempfile

    env = {"AGENTYIELD_DIR": tempfile.mkdtemp(prefix="agentyield-test-"), **env}
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True, text=True, timeout=120, env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_entry_point_is_registered_for_opentelemetry_instrument() -> None:
    found = [ep for ep in entry_points(group="opentelemetry_instrumentor") if ep.name == "agentyield"]
    assert [ep.value for ep in found] == ["agentyield.instrumentation:AgentYieldInstrumentor"]
    from agentyield.instrumentation import AgentYieldInstrumentor

    assert found[0].load() is AgentYieldInstrumentor


def test_instrument_imports_no_client_library_and_wraps_on_import() -> None:
    out = run(
        """
        import sys, agentyield
        agentyield.instrument()
        print("openai" in sys.modules, "anthropic" in sys.modules, "grpc" in sys.modules)
        import openai
        from openai.resources.chat.completions.completions import Completions
        print(hasattr(Completions.create, "__wrapped__") and type(Completions.create).__name__)
        agentyield.uninstrument()
        print(type(Completions.create).__name__)
        """
    )
    assert out.splitlines() == ["False False False", "BoundFunctionWrapper", "function"]


def test_uses_the_global_provider_the_application_configured() -> None:
    out = run(
        """
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        mine = TracerProvider()
        trace.set_tracer_provider(mine)
        import agentyield
        from agentyield._setup import resolve_tracer_provider
        print(resolve_tracer_provider(None) is mine)
        """
    )
    assert out == "True"


def test_sets_up_otlp_from_environment_when_nothing_is_configured() -> None:
    code = """
        from opentelemetry import trace
        import agentyield
        agentyield.instrument()
        provider = trace.get_tracer_provider()
        processor = provider._active_span_processor._span_processors[0]
        exporter = processor._batch_processor._exporter.inner  # inside the counter of what was delivered
        print(type(provider).__module__, type(exporter).__module__, getattr(exporter, "_endpoint", ""))
        """
    http = run(code, OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4318")
    assert http == "opentelemetry.sdk.trace opentelemetry.exporter.otlp.proto.http.trace_exporter http://127.0.0.1:4318/v1/traces"
    grpc = run(code, OTEL_EXPORTER_OTLP_PROTOCOL="grpc", OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:4317")
    assert grpc.split()[:2] == ["opentelemetry.sdk.trace", "opentelemetry.exporter.otlp.proto.grpc.trace_exporter"]


def test_metrics_go_out_over_the_otlp_protocol_the_environment_names() -> None:
    code = """
        import threading
        from opentelemetry import metrics
        import agentyield
        agentyield.instrument()
        [t.join() for t in threading.enumerate() if t.name == "agentyield-warm"]  # it makes the meter provider
        reader = metrics.get_meter_provider()._all_metric_readers.pop()
        print(type(reader._exporter.inner).__module__)
        """
    endpoint = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9", "OTEL_METRIC_EXPORT_INTERVAL": "3600000"}
    assert run(code, **endpoint) == "opentelemetry.exporter.otlp.proto.http.metric_exporter"
    assert run(code, OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="grpc", **endpoint) == "opentelemetry.exporter.otlp.proto.grpc.metric_exporter"
    assert run(code, OTEL_METRIC_EXPORT_INTERVAL="3600000") == "agentyield._meters"


def test_embedded_default_writes_otlp_json_lines_and_flushes_at_exit(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """No provider and no OTLP endpoint: spans and metrics land as OTLP JSON lines, nothing lost at exit."""
    import json

    run(
        f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        import agentyield
        agentyield.instrument()
        from openai_mock import OpenAIMock, clients
        sync, _ = clients(OpenAIMock())
        with agentyield.task("t", agent="a") as t:
            sync.chat.completions.create(model="gpt-4o", messages=[{{"role": "user", "content": "hi"}}])
            t.artifact("x", accepted=True)
        """,
        AGENTYIELD_DIR=str(tmp_path / "out"),
    )
    traces = [json.loads(line) for line in (tmp_path / "out" / "traces.jsonl").read_text().splitlines()]
    spans = [s for line in traces for rs in line["resourceSpans"] for ss in rs["scopeSpans"] for s in ss["spans"]]
    assert sorted(s["name"] for s in spans) == ["chat gpt-4o", "invoke_agent a"]
    assert all(len(s["traceId"]) == 32 and len(s["spanId"]) == 16 for s in spans)
    metrics = [json.loads(line) for line in (tmp_path / "out" / "metrics.jsonl").read_text().splitlines()]
    names = {m["name"] for line in metrics for rm in line["resourceMetrics"] for sm in rm["scopeMetrics"] for m in sm["metrics"]}
    assert {"agentyield.llm.calls", "agentyield.artifact.cost.usd", "agentyield.tokens"} <= names


def test_instrument_twice_wraps_once(instrument) -> None:  # type: ignore[no-untyped-def]
    from openai.resources.chat.completions.completions import Completions

    original = Completions.create
    instrument()
    instrument()
    assert Completions.create.__wrapped__ is original


def test_instrument_again_with_options_says_they_are_ignored(instrument, caplog) -> None:  # type: ignore[no-untyped-def]
    import logging

    instrument()
    with caplog.at_level(logging.WARNING, logger="agentyield"):
        agentyield.instrument()  # nothing to lose: silent
        assert caplog.messages == []
        agentyield.instrument(agent="other", prices="prices.yaml")
    assert caplog.messages == [
        "agentyield: already instrumented (by an earlier instrument() or opentelemetry-instrument); ignoring agent, prices"
    ]


def test_the_entry_point_and_the_one_line_share_one_state(tracer_provider, meter_provider) -> None:  # type: ignore[no-untyped-def]
    """What `opentelemetry-instrument` instrumented, `agentyield.uninstrument()` undoes, and the other way round."""
    from openai.resources.chat.completions.completions import Completions

    from agentyield.instrumentation import AgentYieldInstrumentor

    def wrapped() -> bool:
        return type(vars(Completions)["create"]).__name__ == "FunctionWrapper"

    entry = AgentYieldInstrumentor()
    try:
        entry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        assert (entry.is_instrumented_by_opentelemetry, wrapped()) == (True, True)
        agentyield.uninstrument()
        assert (entry.is_instrumented_by_opentelemetry, wrapped()) == (False, False)
        agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        assert (entry.is_instrumented_by_opentelemetry, wrapped()) == (True, True)
        entry.uninstrument()
        assert (entry.is_instrumented_by_opentelemetry, wrapped()) == (False, False)
        entry.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
        assert wrapped()
    finally:
        agentyield.uninstrument()
    assert not wrapped()
