"""OpenAI-compatible endpoints through the real openai SDK: each provider is named and priced as itself.

The provider follows the client (AzureOpenAI) and its base URL, matched by genai-prices' provider API URLs;
a server nobody knows is named by its host and stays unpriced unless a price file names its model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import genai_prices
import openai
import pytest

from agentyield import _semconv as sc
from conftest import llm_spans
from openai_mock import CHAT_USAGE, OpenAIMock, chat_completion, hx

MESSAGES = [{"role": "user", "content": "What is the answer?"}]
# DeepSeek reports its cache hits under its own names too.
DEEPSEEK_USAGE = {**CHAT_USAGE, "prompt_cache_hit_tokens": 1920, "prompt_cache_miss_tokens": 86}


def answer_as(model: str, usage: Any = CHAT_USAGE) -> OpenAIMock:
    """A mock server that answers every chat call as `model` (the model the server says it ran)."""
    return OpenAIMock(lambda body, path: hx.Response(200, json={**chat_completion(body, usage=usage), "model": model}))


def plain(base_url: str) -> Callable[[OpenAIMock, bool], Any]:
    def make(mock: OpenAIMock, is_async: bool) -> Any:
        cls, http = (openai.AsyncOpenAI, hx.AsyncClient) if is_async else (openai.OpenAI, hx.Client)
        return cls(api_key="sk-test", base_url=base_url, max_retries=0, http_client=http(transport=hx.MockTransport(mock)))

    return make


def azure(mock: OpenAIMock, is_async: bool) -> Any:
    cls, http = (openai.AsyncAzureOpenAI, hx.AsyncClient) if is_async else (openai.AzureOpenAI, hx.Client)
    return cls(
        api_key="azure-test-key",
        azure_endpoint="https://contoso-eastus.openai.azure.com",
        api_version="2024-10-21",
        max_retries=0,
        http_client=http(transport=hx.MockTransport(mock)),
    )


# (client, requested model, model the server answers with, expected gen_ai.provider.name, genai-prices id, server)
PRICED = [
    pytest.param(azure, "my-gpt4o-deployment", "gpt-4o-2024-08-06", "azure.ai.openai", "azure",
                 "contoso-eastus.openai.azure.com", id="azure"),
    pytest.param(plain("https://contoso.openai.azure.com/openai/v1"), "gpt-4o", "gpt-4o-2024-08-06", "azure.ai.openai", "azure",
                 "contoso.openai.azure.com", id="azure-v1-url"),
    pytest.param(plain("https://api.deepseek.com/v1"), "deepseek-chat", "deepseek-chat", "deepseek", "deepseek",
                 "api.deepseek.com", id="deepseek"),
    pytest.param(plain("https://api.groq.com/openai/v1"), "llama-3.3-70b-versatile", "llama-3.3-70b-versatile", "groq", "groq",
                 "api.groq.com", id="groq"),
    pytest.param(plain("https://api.mistral.ai/v1"), "mistral-large-2512", "mistral-large-2512", "mistral_ai", "mistral",
                 "api.mistral.ai", id="mistral"),
    pytest.param(plain("https://api.x.ai/v1"), "grok-3", "grok-3", "x_ai", "x-ai", "api.x.ai", id="xai"),
    pytest.param(plain("https://openrouter.ai/api/v1"), "anthropic/claude-sonnet-4.5", "anthropic/claude-sonnet-4.5",
                 "openrouter", "openrouter", "openrouter.ai", id="openrouter"),
    pytest.param(plain("https://api.together.xyz/v1"), "meta-llama/Llama-3.3-70B-Instruct-Turbo", "meta-llama/Llama-3.3-70B-Instruct-Turbo",
                 "together",
                 "together", "api.together.xyz", id="together"),
    pytest.param(plain("https://api.openai.com/v1"), "gpt-4o", "gpt-4o-2024-08-06", "openai", "openai", "api.openai.com",
                 id="openai"),
]


def expected_cost(model: str, price_id: str) -> float:
    usage = genai_prices.Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300)
    return float(genai_prices.calc_price(usage, model, provider_id=price_id).total_price)


@pytest.mark.parametrize(("make", "model", "served", "provider", "price_id", "server"), PRICED)
async def test_provider_and_price_follow_the_endpoint(
    instrumented: None, span_exporter: Any, mode: str, make: Any, model: str, served: str, provider: str, price_id: str, server: str
) -> None:
    mock = answer_as(served, DEEPSEEK_USAGE if provider == "deepseek" else CHAT_USAGE)
    client = make(mock, mode == "async")
    if mode == "sync":
        result = client.chat.completions.create(model=model, messages=MESSAGES)
    else:
        result = await client.chat.completions.create(model=model, messages=MESSAGES)
    assert result.model == served
    [span] = llm_spans(span_exporter)
    attributes = span.attributes
    assert attributes[sc.GEN_AI_PROVIDER_NAME] == provider
    assert attributes[sc.SERVER_ADDRESS] == server
    assert attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 2006
    assert attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1920
    assert attributes[sc.COST_USD] == expected_cost(served, price_id)


def test_deepseek_cache_hits_under_its_own_name(instrumented: None, span_exporter: Any) -> None:
    """An older DeepSeek reply names cache hits only as `prompt_cache_hit_tokens`."""
    usage = {"prompt_tokens": 1000, "completion_tokens": 50, "total_tokens": 1050, "prompt_cache_hit_tokens": 640,
             "prompt_cache_miss_tokens": 360}
    client = plain("https://api.deepseek.com")(answer_as("deepseek-chat", usage), False)
    client.chat.completions.create(model="deepseek-chat", messages=MESSAGES)
    [span] = llm_spans(span_exporter)
    assert span.attributes[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 640
    cost = genai_prices.calc_price(genai_prices.Usage(input_tokens=1000, cache_read_tokens=640, output_tokens=50), "deepseek-chat",
                                   provider_id="deepseek").total_price
    assert span.attributes[sc.COST_USD] == float(cost)


@pytest.mark.parametrize(
    ("base_url", "host"),
    [
        ("http://localhost:8000/v1", "localhost"),  # vLLM
        ("http://127.0.0.1:11434/v1", "127.0.0.1"),  # Ollama
        ("http://openai-proxy.internal:1234/v1", "openai-proxy.internal"),  # a name that merely mentions openai
    ],
)
def test_unknown_server_is_its_host_and_unpriced(instrumented: None, span_exporter: Any, base_url: str, host: str) -> None:
    """A local server serving a model called gpt-4o is not OpenAI: its calls are counted as unpriced."""
    client = plain(base_url)(answer_as("gpt-4o"), False)
    client.chat.completions.create(model="gpt-4o", messages=MESSAGES)
    [span] = llm_spans(span_exporter)
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == host
    assert span.attributes[sc.PRICED] is False
    assert sc.COST_USD not in span.attributes
    assert span.attributes[sc.GEN_AI_USAGE_INPUT_TOKENS] == 2006  # seen and counted, just not priced


def test_price_file_prices_a_local_server(instrument: Any, span_exporter: Any, tmp_path: Path) -> None:
    prices = tmp_path / "prices.json"
    entry = {"provider": "localhost", "model": "qwen3-coder", "input_mtok": 0.5, "cache_read_mtok": 0.05, "output_mtok": 2}
    prices.write_text(json.dumps({"models": [entry]}))
    instrument(prices=str(prices))
    client = plain("http://localhost:8000/v1")(answer_as("qwen3-coder"), False)
    client.chat.completions.create(model="qwen3-coder", messages=MESSAGES)
    [span] = llm_spans(span_exporter)
    # 86 uncached input, 1920 cache reads, 300 output at the file's rates.
    assert span.attributes[sc.COST_USD] == pytest.approx((86 * 0.5 + 1920 * 0.05 + 300 * 2) / 1e6, abs=1e-15)


def test_responses_and_embeddings_follow_the_endpoint_too(instrumented: None, span_exporter: Any) -> None:
    client = azure(OpenAIMock(), False)
    client.embeddings.create(model="my-embedding-deployment", input="hi")
    client.responses.create(model="my-gpt5-deployment", input="hi")
    assert [s.attributes[sc.GEN_AI_PROVIDER_NAME] for s in llm_spans(span_exporter)] == ["azure.ai.openai"] * 2
