"""Implausible token counts (issue 8, item 12): rejected like negative ones, counted, and never able to stop
the metrics from being exported.

One response claiming 2^63 tokens used to push a cumulative counter past int64, the type OTLP carries, and
every later export failed (embedded store and OTLP alike). Here the real SDKs answer through a mock transport,
the metrics go to an in-memory reader, through the embedded store's real OTLP/JSON file exporter and over
OTLP/HTTP to a real receiver, and the expected values are worked out from the payloads.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, PeriodicExportingMetricReader

from agentyield import _semconv as sc
from agentyield._meters import JsonLinesMetricExporter
from agentyield.processors import Ledger, PriceBook
from agentyield.processors._metrics import LedgerMetrics
from agentyield.processors._records import LLMCallRecord
from conftest import Recorder, llm_spans
from metrics_util import points
from openai_mock import CHAT_USAGE, OpenAIMock, chat_completion, clients, hx
from test_anthropic import FULL_USAGE, START_USAGE, drain, json_response, make_client, message, request, sse_response, stream_events
from test_otlp_export import all_spans, attributes, http_pipeline, latest_metrics, sum_points  # noqa: F401 - http_pipeline: a fixture

INT64_MAX = 2**63 - 1
BOUND = 10**9  # the documented bound: docs/metrics.md, "Implausible usage"
MESSAGES = [{"role": "user", "content": "What is the answer?"}]


class Exports:
    """A meter provider read by an in-memory reader and by the embedded store's OTLP/JSON file exporter."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.memory = InMemoryMetricReader()
        self.provider = MeterProvider(
            metric_readers=[self.memory, PeriodicExportingMetricReader(JsonLinesMetricExporter(directory), export_interval_millis=3_600_000)]
        )

    def flush(self) -> dict[str, dict[frozenset[tuple[str, Any]], int]]:
        """Export once; return the counters of the line just written (an export that failed writes none)."""
        lines_before = self.lines()
        assert self.provider.force_flush()
        lines = self.lines()
        assert len(lines) == len(lines_before) + 1, "the export wrote no line: it failed"
        return counters_of(json.loads(lines[-1]))

    def lines(self) -> list[str]:
        path = self.directory / "metrics.jsonl"
        return path.read_text().splitlines() if path.exists() else []


def counters_of(request: dict[str, Any]) -> dict[str, dict[frozenset[tuple[str, Any]], int]]:
    """The integer sums of one OTLP/JSON metrics request: name -> {attributes: value}."""
    out: dict[str, dict[frozenset[tuple[str, Any]], int]] = {}
    for resource in request["resourceMetrics"]:
        for scope in resource["scopeMetrics"]:
            for metric in scope["metrics"]:
                for point in metric.get("sum", {}).get("dataPoints", []):
                    if "asInt" in point:
                        key = frozenset((a["key"], next(iter(a["value"].values()))) for a in point.get("attributes", []))
                        out.setdefault(metric["name"], {})[key] = int(point["asInt"])
    return out


def total(series: dict[frozenset[tuple[str, Any]], Any], **match: Any) -> Any:
    """The sum of the points whose attributes include `match` (dots in keys written as `__`)."""
    wanted = {(k.replace("__", "."), v) for k, v in match.items()}
    return sum(value for key, value in series.items() if wanted <= key)


def replies(*payloads: dict[str, Any]) -> Callable[[dict[str, Any], str], Any]:
    """Answer each request with the next payload."""
    queue = list(payloads)
    return lambda body, path: hx.Response(200, json=queue.pop(0))


async def chat(mode: str, mock: OpenAIMock) -> Any:
    sync, async_ = clients(mock)
    if mode == "sync":
        return sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    return await async_.chat.completions.create(model="gpt-4o", messages=MESSAGES)


def usage_attributes(span: Any) -> dict[str, Any]:
    return {k: v for k, v in span.attributes.items() if k.startswith(("gen_ai.usage.", "agentyield.usage."))}


async def test_openai_count_of_2_63_is_rejected_and_every_later_export_works(
    mode: str, instrument: Callable[..., None], span_exporter: Any, tmp_path: Path
) -> None:
    exports = Exports(tmp_path)
    instrument(meter_provider=exports.provider)
    bad_usage = {**CHAT_USAGE, "prompt_tokens": 2**63}
    mock = OpenAIMock(replies(chat_completion({}, usage=bad_usage), chat_completion({})))

    first = await chat(mode, mock)

    assert first.usage.prompt_tokens == 2**63  # the caller gets exactly what the SDK parsed
    bad_span = llm_spans(span_exporter)[-1]
    assert usage_attributes(bad_span) == {
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: CHAT_USAGE["completion_tokens"],
        sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: CHAT_USAGE["prompt_tokens_details"]["cached_tokens"],
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: CHAT_USAGE["completion_tokens_details"]["reasoning_tokens"],
        sc.USAGE_INVALID_FIELDS: ("prompt_tokens",),
    }
    exported = exports.flush()
    assert total(exported["agentyield.usage.invalid"]) == 1
    assert total(exported["agentyield.usage.missing"]) == 1  # its input is unknown: not priced
    assert total(exported["agentyield.llm.calls"], agentyield__priced="false") == 1
    assert "agentyield.tokens" not in exported  # no call with usage yet

    await chat(mode, mock)  # a good call after the bad one

    exported = exports.flush()
    cached = CHAT_USAGE["prompt_tokens_details"]["cached_tokens"]
    expected_tokens = {
        "input": CHAT_USAGE["prompt_tokens"] - cached,
        "cache_read": cached,
        "cache_write": 0,
        "output": CHAT_USAGE["completion_tokens"],
    }
    tokens = exported["agentyield.tokens"]
    assert {kind: total(tokens, agentyield__token__kind=kind) for kind in expected_tokens} == expected_tokens
    assert total(exported["agentyield.usage.invalid"]) == 1
    assert total(exported["agentyield.llm.calls"], agentyield__priced="true") == 1
    in_memory = points(exports.memory)
    for name in ("agentyield.tokens", "agentyield.usage.invalid", "agentyield.llm.calls"):
        assert in_memory[name] == exported[name], name


async def test_anthropic_counts_are_believed_up_to_the_bound_and_not_past_it(
    mode: str, instrument: Callable[..., None], span_exporter: Any, tmp_path: Path
) -> None:
    exports = Exports(tmp_path)
    instrument(meter_provider=exports.provider)
    at_bound = {**FULL_USAGE, "output_tokens": BOUND, "cache_read_input_tokens": BOUND + 1}
    client = make_client(mode, Recorder(json_response(message(usage=at_bound))))
    result = client.messages.create(**request())
    if mode == "async":
        result = await result
    assert result.usage.cache_read_input_tokens == BOUND + 1
    streamed = make_client(mode, Recorder(sse_response(stream_events(start_usage={**START_USAGE, "input_tokens": 2**63}))))
    stream = streamed.messages.create(**request(stream=True))
    await drain(mode, stream if mode == "sync" else await stream)

    plain, stream_span = llm_spans(span_exporter)
    split = FULL_USAGE["cache_creation"]
    assert usage_attributes(plain) == {
        # A rejected cache count leaves the input total unknown rather than short (as a negative one does).
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: BOUND,
        sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: FULL_USAGE["cache_creation_input_tokens"],
        sc.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: FULL_USAGE["cache_creation_input_tokens"],
        sc.USAGE_CACHE_WRITE_5M: split["ephemeral_5m_input_tokens"],
        sc.USAGE_CACHE_WRITE_1H: split["ephemeral_1h_input_tokens"],
        sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: FULL_USAGE["output_tokens_details"]["thinking_tokens"],
        sc.USAGE_INVALID_FIELDS: ("cache_read_input_tokens",),
    }
    assert usage_attributes(stream_span)[sc.USAGE_INVALID_FIELDS] == ("input_tokens",)
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in stream_span.attributes
    exported = exports.flush()
    assert total(exported["agentyield.usage.invalid"], gen_ai__provider__name="anthropic") == 2
    assert total(exported["agentyield.usage.missing"], gen_ai__provider__name="anthropic") == 2


@pytest.mark.parametrize(
    ("attribute", "value"),
    [
        (sc.GEN_AI_USAGE_INPUT_TOKENS, 2**63),
        ("gen_ai.usage.prompt_tokens", BOUND + 1),  # an older convention's name, from another instrumentation
        (sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 2**64),
        (sc.GEN_AI_USAGE_INPUT_TOKENS, -1),
    ],
)
def test_normalizer_treats_an_implausible_count_as_a_negative_one(attribute: str, value: int) -> None:
    """Spans from any instrumentation pass the same bound: the figure is unknown and the call is counted."""
    from agentyield.processors._normalize import llm_call

    attributes = {
        sc.GEN_AI_OPERATION_NAME: "chat",
        sc.GEN_AI_PROVIDER_NAME: "openai",
        sc.GEN_AI_REQUEST_MODEL: "gpt-4o",
        sc.GEN_AI_USAGE_INPUT_TOKENS: 100,
        sc.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
    }
    if attribute != sc.GEN_AI_USAGE_INPUT_TOKENS:
        del attributes[sc.GEN_AI_USAGE_INPUT_TOKENS]
        attributes["gen_ai.usage.prompt_tokens"] = 100
    attributes[attribute] = value
    record = llm_call(attributes)
    assert record.usage_invalid is True
    if attribute == sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS:
        assert (record.input_tokens, record.cache_read_tokens, record.usage_missing) == (100, None, False)
    else:
        assert (record.input_tokens, record.usage_missing) == (None, True)
    assert llm_call({**attributes, attribute: BOUND}).usage_invalid is False  # the bound itself is believed


def test_a_total_past_int64_is_exported_as_the_maximum_and_counted_once(tmp_path: Path) -> None:
    """The ledger is pure and unbounded; what it exports stays within int64 whatever it was fed."""
    prices_file = tmp_path / "prices.json"
    prices_file.write_text('{"models": [{"provider": "local", "model": "m", "input_mtok": 2, "output_mtok": 8}]}')
    exports = Exports(tmp_path / "store")
    ledger = Ledger(PriceBook(prices_file))
    ledger.sink = LedgerMetrics(ledger, exports.provider, {}).record
    per_call = 2**62  # records made by hand skip the normalizer's bound
    for span_id in range(3):
        ledger.end_llm(span_id, LLMCallRecord("local", "m", "m", per_call, 1, cache_read_tokens=0, cache_write_tokens=0))
    assert 3 * per_call > INT64_MAX

    for _ in range(2):  # collected twice: the series is counted once, not once per collection
        exported = exports.flush()
        tokens = exported["agentyield.tokens"]
        assert total(tokens, agentyield__token__kind="input") == INT64_MAX
        assert total(tokens, agentyield__token__kind="output") == 3
        assert total(exported["agentyield.llm.calls"]) == 3
        assert exported["agentyield.limits.hit"] == {frozenset({("agentyield.limit", "counter_int64")}): 1}
    cost = points(exports.memory)["agentyield.cost.usd"]
    assert total(cost) == pytest.approx(float(3 * per_call * Decimal(2) / 10**6 + 3 * Decimal(8) / 10**6))


def test_otlp_http_export_survives_a_count_of_2_63(http_pipeline: Any) -> None:
    """Over the wire to a real OTLP/HTTP receiver: both metric exports arrive (the first one used to fail, and
    every one after it), and the bad call's span names the field instead of carrying 2^63 (which the OTLP
    encoder used to drop with an error log)."""
    bad_usage = {**CHAT_USAGE, "completion_tokens": 2**63}
    sync, _ = clients(OpenAIMock(replies(chat_completion({}, usage=bad_usage), chat_completion({}))))
    for _ in range(2):
        sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
        http_pipeline.flush()

    assert len(http_pipeline.collector.metrics) == 2
    spans = [attributes(span.attributes) for scope, span in all_spans(http_pipeline.collector) if scope == "agentyield"]
    assert [span.get(sc.USAGE_INVALID_FIELDS) for span in spans] == [("completion_tokens",), None]
    assert [span.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS) for span in spans] == [None, CHAT_USAGE["completion_tokens"]]
    metrics = latest_metrics(http_pipeline.collector)
    assert sum(sum_points(metrics["agentyield.usage.invalid"]).values()) == 1
    assert sum(sum_points(metrics["agentyield.llm.calls"]).values()) == 2
    tokens = {dict(k)["agentyield.token.kind"]: v for k, v in sum_points(metrics["agentyield.tokens"]).items()}
    assert tokens["output"] == CHAT_USAGE["completion_tokens"]  # the good call's only
