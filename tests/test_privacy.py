"""Opt-in privacy findings: counted in-process from the new part of each request, never the text."""

from __future__ import annotations

from typing import Any

import anthropic
import pytest

import agentyield
from agentyield import _semconv as sc
from agentyield.instrumentation._privacy import scan
from conftest import llm_spans, sdk_httpx
from metrics_util import labels, points
from openai_mock import OpenAIMock, clients

SECRET_EMAIL = "jane.doe@example.org"
SECRET_KEY = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2"

CONVERSATION = [
    {"role": "system", "content": "You are a support agent."},
    {"role": "user", "content": "My old address was old.address@example.com"},  # an earlier turn: scanned back then
    {"role": "assistant", "content": "Thanks, what next?"},
    {"role": "user", "content": f"Write to {SECRET_EMAIL}, my card is 4111 1111 1111 1111"},
    {"role": "tool", "tool_call_id": "c1", "content": [{"type": "text", "text": f"config: api_key={SECRET_KEY}"}]},
]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reach me at a.b@example.co.uk or +44 20 7946 0958", {"email": 1, "phone": 1}),
        ("card 4111-1111-1111-1111 and not-a-card 4111-1111-1111-1112", {"card_number": 1}),
        ("ssn 078-05-1120, order 12345, date 2026-11-24", {"us_ssn": 1}),
        ("AKIAIOSFODNN7EXAMPLE ghp_" + "a" * 36 + " -----BEGIN OPENSSH PRIVATE KEY-----", {"api_key": 2, "private_key": 1}),
        ("nothing personal here", {}),
    ],
)
def test_scanner(text: str, expected: dict[str, int]) -> None:
    assert scan(text) == expected


def test_openai_new_part_is_scanned_counts_only(instrument: Any, span_exporter: Any, metric_reader: Any) -> None:
    instrument(privacy_scan=True)
    sync, _ = clients(OpenAIMock())
    with agentyield.task("support", agent="helpdesk"):
        sync.chat.completions.create(model="gpt-4o", messages=CONVERSATION)
    (span,) = llm_spans(span_exporter, "agentyield")[:1]
    assert span.attributes[sc.PRIVACY_FINDINGS] == 3
    assert span.attributes[sc.PRIVACY_FINDING_KINDS] == ("api_key", "card_number", "email")
    everything = repr([dict(s.attributes) for s in span_exporter.get_finished_spans()])
    for secret in (SECRET_EMAIL, SECRET_KEY, "4111"):
        assert secret not in everything
    task = next(s for s in span_exporter.get_finished_spans() if sc.TASK_ID in s.attributes)
    assert task.attributes[sc.TASK_PRIVACY_FINDINGS] == 3
    assert points(metric_reader)["agentyield.privacy.findings"] == {labels(gen_ai__agent__name="helpdesk"): 3}


def test_off_by_default(instrumented: None, span_exporter: Any) -> None:
    sync, _ = clients(OpenAIMock())
    with agentyield.task("support", agent="helpdesk"):
        sync.chat.completions.create(model="gpt-4o", messages=CONVERSATION)
    for span in span_exporter.get_finished_spans():
        assert sc.PRIVACY_FINDINGS not in span.attributes and sc.TASK_PRIVACY_FINDINGS not in span.attributes


def test_anthropic_tool_results_are_scanned(instrument: Any, span_exporter: Any) -> None:
    instrument(privacy_scan=True)
    hx = sdk_httpx(anthropic)

    def respond(request: Any) -> Any:
        return hx.Response(200, json={
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "ok"}], "stop_reason": "end_turn", "stop_sequence": None,
            "usage": {"input_tokens": 10, "output_tokens": 2},
        })

    client = anthropic.Anthropic(api_key="sk-ant-test", base_url="http://mock.anthropic.local",
                                 http_client=hx.Client(transport=hx.MockTransport(respond)))
    client.messages.create(model="claude-sonnet-4-6", max_tokens=100, messages=[
        {"role": "user", "content": "look up the customer"},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "crm", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": f"customer {SECRET_EMAIL}, SSN 078-05-1120"}]},
    ])
    (span,) = llm_spans(span_exporter, "agentyield")
    assert span.attributes[sc.PRIVACY_FINDINGS] == 2
    assert span.attributes[sc.PRIVACY_FINDING_KINDS] == ("email", "us_ssn")
