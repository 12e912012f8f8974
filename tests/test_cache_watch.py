"""The cache watched live: a cache break found within a stated number of calls and named by its cause, silence on a
stable run, and missed caching priced; real openai SDK against a mock endpoint."""

from __future__ import annotations

import logging
import math
from decimal import Decimal
from typing import Any

import pytest

from agentyield.processors import PriceBook
from agentyield.processors._cache_watch import DELTA, LAMBDA, MIN_CALLS

from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, hx

PROMPT = 1000
MODEL = "gpt-4o-2024-08-06"


def usage(cached: int) -> dict[str, Any]:
    return {"prompt_tokens": PROMPT, "completion_tokens": 10, "total_tokens": PROMPT + 10, "prompt_tokens_details": {"cached_tokens": cached}}


def run(instrument: Any, cached: list[int], systems: list[str], agent: str = "watcher") -> list[Any]:
    answers = iter(cached)
    mock = OpenAIMock(lambda body, path: hx.Response(200, json=chat_completion(body, usage=usage(next(answers)))))
    client, _ = clients(mock)
    instrument(agent=agent)
    for system in systems:
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": system}, {"role": "user", "content": "hi"}])
    return mock.bodies


def chat_spans(exporter: Any) -> list[Any]:
    return [s for s in exporter.get_finished_spans() if s.attributes.get("gen_ai.operation.name") == "chat"]


def test_cache_break_is_found_and_named(instrument: Any, span_exporter: Any, metric_reader: Any, caplog: pytest.LogCaptureFixture) -> None:
    stable, broken = 10, 6
    cached = [900] * stable + [0] * broken
    run(instrument, cached, ["You are agent A."] * stable + ["You are agent B, now with a date: 2026-11-29."] * broken)
    spans = chat_spans(span_exporter)
    flagged = [i for i, s in enumerate(spans) for e in s.events if e.name == "agentyield.cache.drift"]
    # The ratio falls by 0.9: the detector needs about LAMBDA / (0.9 - DELTA) calls after the change.
    within = math.ceil(LAMBDA / (0.9 - DELTA)) + 1
    assert len(flagged) == 1 and stable <= flagged[0] < stable + within
    (event,) = [e for e in spans[flagged[0]].events if e.name == "agentyield.cache.drift"]
    before, after = spans[stable - 1].attributes["agentyield.prompt.prefix_hash"], spans[stable].attributes["agentyield.prompt.prefix_hash"]
    assert before != after
    assert event.attributes["agentyield.cache.drift.cause"] == "prefix_changed"
    assert event.attributes["agentyield.cache.drift.prefix_before"] == before
    assert event.attributes["agentyield.cache.drift.prefix_after"] == after
    assert event.attributes["agentyield.cache.drift.ratio_before"] == pytest.approx(0.9)
    assert event.attributes["agentyield.cache.drift.ratio_after"] == 0.0
    (record,) = [r for r in caplog.records if r.name == "agentyield.cache.drift"]
    assert f"the prompt prefix fingerprint changed ({before} -> {after})" in record.getMessage()
    assert points(metric_reader)["agentyield.cache.drifts"] == {
        labels(gen_ai__provider__name="openai", gen_ai__response__model=MODEL, gen_ai__agent__name="watcher", agentyield__cache__drift__cause="prefix_changed"): 1
    }


def test_stable_run_stays_silent(instrument: Any, span_exporter: Any, metric_reader: Any) -> None:
    calls = 40
    cached = [850 if i % 2 else 950 for i in range(calls)]  # noise of +-0.05 around 0.9
    run(instrument, cached, ["You are agent A."] * calls)
    assert not any(e.name == "agentyield.cache.drift" for s in chat_spans(span_exporter) for e in s.events)
    assert "agentyield.cache.drifts" not in points(metric_reader)
    assert calls > MIN_CALLS


def test_missed_caching_is_counted_and_priced(instrument: Any, span_exporter: Any, metric_reader: Any) -> None:
    # Three calls re-send prefix A without reading cache (the first sent it), one reads it, one has a new prefix.
    systems = ["Prefix A."] * 4 + ["Prefix A.", "Prefix B."]
    cached = [0, 0, 0, 0, 800, 0]
    run(instrument, cached, systems)
    missed = sum(1 for i, (s, c) in enumerate(zip(systems, cached)) if s in systems[:i] and c == 0)
    rates = PriceBook().rates("openai", MODEL, PROMPT)
    assert rates is not None
    expected_usd = missed * PROMPT * (rates.uncached_input - rates.cache_read)
    metrics = points(metric_reader)
    key = labels(gen_ai__provider__name="openai", gen_ai__response__model=MODEL, gen_ai__agent__name="watcher")
    assert metrics["agentyield.cache.missed.calls"] == {key: missed}
    assert Decimal(repr(metrics["agentyield.cache.missed.usd"][key])) == pytest.approx(expected_usd, rel=Decimal("1e-12"))


def test_missed_caching_rule_at_the_lifetime_and_for_unreported_cache() -> None:
    """The one missed-caching rule (live and in the report): same agent and model, same prefix within 300 s,
    cache use reported, nothing read."""
    from agentyield.processors._cache_watch import CACHE_TTL_S, CacheWatch

    watch, key = CacheWatch(), ("agent", "model")
    assert watch.stream(key).observe(0.0, "p", 100, 0)[0] is False  # first sent
    assert watch.stream(key).observe(CACHE_TTL_S, "p", 100, 0)[0] is True  # exactly at the lifetime: still missed
    assert watch.stream(key).observe(2 * CACHE_TTL_S + 1, "p", 100, 0)[0] is False  # 301 s later: the cache may have expired
    assert watch.stream(key).observe(2 * CACHE_TTL_S + 2, "p", 100, None)[0] is False  # cache use not reported: not judged
    assert watch.stream(key).observe(2 * CACHE_TTL_S + 3, "p", 100, 50)[0] is False  # read from the cache
    assert watch.stream(("other", "model")).observe(2 * CACHE_TTL_S + 4, "p", 100, 0)[0] is False  # another agent's first
