#!/usr/bin/env python
"""One call per client library beyond openai: what agentyield adds, as a ratio to the same uninstrumented call.

    python benchmarks/clients.py           # ~1 min on 2 cores (LiteLLM's import alone takes a while)
    python benchmarks/clients.py --quick   # fewer rounds, noisier
    python benchmarks/clients.py --json    # also one JSON line with every figure

Each case is a real SDK served in-process (the openai SDK to OpenAI itself first, as the reference) (no sockets, so the network stack adds no noise): an
OpenAI-compatible endpoint (DeepSeek's URL) and LiteLLM through the openai SDK's `MockTransport`,
google-genai through its httpx client's `MockTransport`, boto3's Bedrock `converse` through a botocore
`before-send` hook that answers with a canned HTTP response (botocore's own parsing still runs). Each round
times a batch uninstrumented and a batch instrumented (agentyield's span processor deriving every metric),
in random order; the report gives the median over rounds of added µs per call and instrumented/uninstrumented.
`CASES` is the list another benchmark can pick up: `(name, make)` where `make()` returns a zero-argument call.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from typing import Any, Callable

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # LiteLLM's import would fetch its price map

from opentelemetry.sdk.metrics import MeterProvider  # noqa: E402
from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402
from opentelemetry.sdk.trace.export import SimpleSpanProcessor  # noqa: E402

import agentyield  # noqa: E402
from bench_contenders import NoOpExporter  # noqa: E402

MESSAGES = [{"role": "user", "content": "What is the capital of France?"}]
CHAT = {
    "id": "chatcmpl-1", "object": "chat.completion", "created": 1764000000, "model": "deepseek-chat",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306, "prompt_tokens_details": {"cached_tokens": 1920}},
}


def _openai_client(base_url: str, model: str) -> Any:
    import openai

    hx: Any = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx
    body = json.dumps({**CHAT, "model": model}).encode()
    return openai.OpenAI(
        api_key="sk-bench", base_url=base_url, max_retries=0,
        http_client=hx.Client(transport=hx.MockTransport(lambda r: hx.Response(200, content=body, headers={"content-type": "application/json"}))),
    )


def openai_reference() -> Callable[[], Any]:
    client = _openai_client("https://api.openai.com/v1", "gpt-4o-2024-08-06")
    return lambda: client.chat.completions.create(model="gpt-4o", messages=MESSAGES)


def openai_compatible() -> Callable[[], Any]:
    client = _openai_client("https://api.deepseek.com/v1", "deepseek-chat")
    return lambda: client.chat.completions.create(model="deepseek-chat", messages=MESSAGES)


def google_genai() -> Callable[[], Any]:
    import httpx
    from google import genai
    from google.genai import types

    body = json.dumps({
        "candidates": [{"content": {"parts": [{"text": "Paris."}], "role": "model"}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 2006, "candidatesTokenCount": 300, "cachedContentTokenCount": 1920,
                          "totalTokenCount": 2306},
        "modelVersion": "gemini-2.5-flash", "responseId": "r1",
    }).encode()
    transport = httpx.MockTransport(lambda r: httpx.Response(200, content=body, headers={"content-type": "application/json"}))
    client = genai.Client(api_key="bench", http_options=types.HttpOptions(httpx_client=httpx.Client(transport=transport)))
    return lambda: client.models.generate_content(model="gemini-2.5-flash", contents="What is the capital of France?")


def bedrock() -> Callable[[], Any]:
    import boto3
    from botocore.awsrequest import AWSResponse

    body = json.dumps({
        "output": {"message": {"role": "assistant", "content": [{"text": "Paris."}]}}, "stopReason": "end_turn",
        "usage": {"inputTokens": 86, "outputTokens": 300, "totalTokens": 2306, "cacheReadInputTokens": 1920},
        "metrics": {"latencyMs": 100},
    }).encode()

    class Raw:
        def stream(self, **kwargs: Any) -> Any:
            return iter([body])

    client = boto3.client("bedrock-runtime", region_name="us-east-1", aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
                          aws_secret_access_key="bench")
    client.meta.events.register(
        "before-send.bedrock-runtime.Converse",
        lambda request, **kwargs: AWSResponse(request.url, 200, {"content-type": "application/json", "x-amzn-requestid": "r"}, Raw()),
    )
    content = [{"role": "user", "content": [{"text": "What is the capital of France?"}]}]
    return lambda: client.converse(modelId="us.anthropic.claude-sonnet-4-20250514-v1:0", messages=content)


def litellm_via_openai() -> Callable[[], Any]:
    import litellm

    client = _openai_client("https://api.openai.com/v1", "gpt-4o-2024-08-06")
    return lambda: litellm.completion(model="gpt-4o", messages=MESSAGES, client=client, num_retries=0)


CASES: list[tuple[str, Callable[[], Callable[[], Any]]]] = [
    ("openai SDK to OpenAI (reference)", openai_reference),
    ("openai SDK to DeepSeek", openai_compatible),
    ("google-genai generate_content", google_genai),
    ("boto3 bedrock converse", bedrock),
    ("litellm completion (openai SDK)", litellm_via_openai),
]


def _batch(call: Callable[[], Any], n: int) -> float:
    start = time.perf_counter_ns()
    for _ in range(n):
        call()
    return (time.perf_counter_ns() - start) / n / 1000


def measure(call: Callable[[], Any], rounds: int, n: int, seed: int) -> dict[str, float]:
    exporter = NoOpExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    meters = MeterProvider(metric_readers=[InMemoryMetricReader()])
    rng = random.Random(seed)
    for _ in range(3):
        call()  # warm: imports, caches, connection pools
    base: list[float] = []
    ours: list[float] = []
    for _ in range(rounds):
        order = ["base", "ours"]
        rng.shuffle(order)
        for phase in order:
            if phase == "base":
                base.append(_batch(call, n))
            else:
                agentyield.instrument(tracer_provider=provider, meter_provider=meters)
                try:
                    ours.append(_batch(call, n))
                finally:
                    agentyield.uninstrument()
    if exporter.count != rounds * n:
        raise SystemExit(f"expected {rounds * n} spans, got {exporter.count}: the call was not counted exactly once")
    added = statistics.median(o - b for o, b in zip(ours, base))
    return {"base_us": statistics.median(base), "added_us": added, "ratio": statistics.median(o / b for o, b in zip(ours, base))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rounds, n = (5, 10) if args.quick else (15, 30)
    results = {}
    print(f"{'client':34} {'uninstrumented':>15} {'added':>10} {'ratio':>7}")
    for i, (name, make) in enumerate(CASES):
        results[name] = r = measure(make(), rounds, n, seed=i)
        print(f"{name:34} {r['base_us']:12.0f} µs {r['added_us']:7.0f} µs {r['ratio']:6.2f}x")
    if args.json:
        print(json.dumps(results))


if __name__ == "__main__":
    main()
