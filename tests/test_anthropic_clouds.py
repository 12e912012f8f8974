"""The anthropic SDK's Bedrock and Vertex clients: the same messages API, served and billed by the cloud,
so the provider (and the price) is the cloud's. The real SDK clients on a mock transport."""

from __future__ import annotations

from typing import Any

import anthropic
import genai_prices
import pytest

from agentyield import _semconv as sc
from conftest import only_span, sdk_httpx

hx = sdk_httpx(anthropic)
USAGE = {"input_tokens": 12, "cache_creation_input_tokens": 1500, "cache_read_input_tokens": 4000, "output_tokens": 300}


def transport(model: str) -> Any:
    message = {"id": "msg_01", "type": "message", "role": "assistant", "model": model, "content": [{"type": "text", "text": "hi"}],
               "stop_reason": "end_turn", "stop_sequence": None, "usage": USAGE}
    return hx.MockTransport(lambda request: hx.Response(200, json=message))


def bedrock(mode: str, model: str) -> Any:
    cls, http = (anthropic.AnthropicBedrock, hx.Client) if mode == "sync" else (anthropic.AsyncAnthropicBedrock, hx.AsyncClient)
    return cls(aws_region="us-east-1", aws_access_key="AKIAIOSFODNN7EXAMPLE", aws_secret_key="test-SECRET",
               http_client=http(transport=transport(model)), max_retries=0)


def vertex(mode: str, model: str) -> Any:
    cls, http = (anthropic.AnthropicVertex, hx.Client) if mode == "sync" else (anthropic.AsyncAnthropicVertex, hx.AsyncClient)
    return cls(region="us-east5", project_id="my-project", access_token="test-SECRET", http_client=http(transport=transport(model)),
               max_retries=0)


@pytest.mark.parametrize(
    ("make", "model", "served", "provider", "price_id"),
    [
        (bedrock, "us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514", "aws.bedrock", "aws"),
        (vertex, "claude-sonnet-4-5@20250929", "claude-sonnet-4-5-20250929", "gcp.vertex_ai", "google"),
    ],
)
async def test_cloud_clients_are_the_clouds(
    instrumented: None, span_exporter: Any, mode: str, make: Any, model: str, served: str, provider: str, price_id: str
) -> None:
    client = make(mode, served)
    kwargs = dict(model=model, max_tokens=64, messages=[{"role": "user", "content": "hi"}])
    result = client.messages.create(**kwargs) if mode == "sync" else await client.messages.create(**kwargs)
    assert result.usage.cache_read_input_tokens == 4000
    span = only_span(span_exporter)
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == provider
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 5512
    usage = genai_prices.extract_usage({"usage": USAGE, "model": served}, provider_id=price_id, api_flavor="anthropic").usage
    expected = genai_prices.calc_price(usage, served, provider_id=price_id)
    assert span.attributes[sc.COST_USD] == float(expected.total_price)
    assert "test-SECRET" not in repr(dict(span.attributes))
