"""An instrumented agent serving its derived metrics for a real Prometheus to scrape (run as a process).

Agent "coder" runs identical tasks (one chat call with usage 2006 input of which 1920 cached, 300 output;
one accepted patch), so its cache-read ratio (1920/2006) and cost per accepted artifact (one call's cost)
are the same at every scrape. Agent "ops" exercises everything else a dashboard panel shows: tool errors,
verification, an unpriced model, a stream without usage, rejected work. Agent "planner" exercises the live
agent measures: repeated tool calls and a loop, a cache break (its system prompt changes and cache reads stop),
missed caching, routable calls (priced again at gpt-4o-mini) and a budget overrun.

usage: python prometheus_agent.py PORT SECONDS
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from opentelemetry import trace  # noqa: E402
from opentelemetry.sdk.trace import TracerProvider  # noqa: E402

import agentyield  # noqa: E402
from openai_mock import OpenAIMock, chat_completion, clients, default_respond, hx  # noqa: E402

MESSAGES = [{"role": "user", "content": "go"}]


PLANNER_CACHED = "You plan the work. Cached prefix."


def planner_usage(body: dict[str, Any]) -> dict[str, Any]:
    """Short answers without reasoning; cache reads only while the system prompt is the cached one."""
    cached = 1900 if body["messages"][0]["content"] == PLANNER_CACHED else 0
    return {"prompt_tokens": 2000, "completion_tokens": 40, "total_tokens": 2040, "prompt_tokens_details": {"cached_tokens": cached}}


def respond(body: dict[str, Any], path: str) -> Any:
    if body["model"] == "planner-model":
        return hx.Response(200, json=chat_completion(body, usage=planner_usage(body)))
    if body["model"] == "my-private-model":
        return hx.Response(200, json={**chat_completion(body), "model": "my-private-model"})
    return default_respond(body, path)


def tool(name: str, error: bool) -> None:
    with trace.get_tracer("agentyield.test.tools").start_as_current_span(
        f"execute_tool {name}", attributes={"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": name}
    ) as span:
        if error:
            span.set_attribute("error.type", "TimeoutError")


def main(port: int, seconds: float) -> None:
    provider = TracerProvider()
    trace.set_tracer_provider(provider)
    agentyield.instrument(
        tracer_provider=provider, prometheus_port=port, verification_tools=["run_tests"], request_stream_usage=False, small_model="gpt-4o-mini"
    )
    sync, _ = clients(OpenAIMock(respond))

    @agentyield.tool
    def lookup(key: str) -> str:
        return key

    def plan(system: str) -> None:
        sync.chat.completions.create(model="planner-model", messages=[{"role": "system", "content": system}, *MESSAGES])

    deadline = time.monotonic() + seconds
    n = 0
    while time.monotonic() < deadline:
        with agentyield.task("fix-bug", agent="coder") as t:
            sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
            t.artifact("patch", accepted=True)
            t.outcome(True)
        if n % 5 == 0:
            with agentyield.task("triage", agent="ops") as t:
                sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                sync.chat.completions.create(model="my-private-model", messages=MESSAGES)
                for _ in sync.chat.completions.create(model="gpt-4o", messages=MESSAGES, stream=True):
                    pass  # no usage requested: counted as missing
                with agentyield.verification("review"):
                    sync.chat.completions.create(model="gpt-4o", messages=MESSAGES)
                    tool("run_tests", error=n % 10 == 0)
                tool("search", error=False)
                t.artifact("ticket", accepted=n % 10 != 0)
                t.outcome(n % 10 != 0)
            with agentyield.task("plan", agent="planner", budget_tokens=10_000):
                for _ in range(6):
                    plan(PLANNER_CACHED)
                for _ in range(3):
                    lookup("same")  # two repeats, and three in a row: a loop
                for _ in range(3):
                    plan(f"You plan the work. Run {n}.")  # a new prefix: the cache breaks; re-sent uncached: missed
        n += 1
        time.sleep(0.02)
    print("done", n, flush=True)
    time.sleep(3600)  # keep serving until the test stops us


if __name__ == "__main__":
    main(int(sys.argv[1]), float(sys.argv[2]))
