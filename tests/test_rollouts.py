"""Prefix sharing across rollouts: four sibling tasks sampled from the same prompt (real openai SDK against a mock
endpoint); shared input and distinct trajectories computed here from the script."""

from __future__ import annotations

from typing import Any

import agentyield

from metrics_util import labels, points
from openai_mock import OpenAIMock, chat_completion, clients, hx

SYSTEM = "You solve puzzles. Think step by step."


def test_rollout_group_of_four(instrumented: None, metric_reader: Any) -> None:
    # Per rollout: the input of each LLM call, its output, and the tool calls it made (argument).
    rollouts = [
        ([1200, 1500], [80, 40], ["a", "b"]),
        ([1200, 1450], [60, 30], ["a", "b"]),  # the same trajectory as the first
        ([1200, 1700], [90, 50], ["c"]),
        ([1180, 1300], [70, 20], ["a", "c"]),  # a slightly different first prompt: shares at most 1180
    ]
    usages = iter([(i, o) for inputs, outputs, _ in rollouts for i, o in zip(inputs, outputs)])

    def respond(body: dict[str, Any], path: str) -> Any:
        prompt, completion = next(usages)
        return hx.Response(200, json=chat_completion(body, usage={"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion, "prompt_tokens_details": {"cached_tokens": 0}}))

    client, _ = clients(OpenAIMock(respond))

    @agentyield.tool
    def move(step: str) -> str:
        return step

    for n, (inputs, _, steps) in enumerate(rollouts):
        with agentyield.task(f"rollout-{n}", agent="solver", rollout_group="puzzle-7"):
            for i in range(len(inputs)):
                client.chat.completions.create(model="gpt-4o", messages=[{"role": "system", "content": SYSTEM}, {"role": "user", "content": "go"}])
                if i < len(steps):
                    move(steps[i])
            for step in steps[len(inputs):]:
                move(step)
    first = rollouts[0][0][0]
    shared = sum(min(first, inputs[0]) for inputs, _, _ in rollouts[1:])
    distinct = len({tuple(steps) for _, _, steps in rollouts})
    metrics = points(metric_reader)
    solver = labels(gen_ai__agent__name="solver")
    assert metrics["agentyield.rollout.tasks"] == {solver: len(rollouts)}
    assert metrics["agentyield.rollout.input.shared.tokens"] == {solver: shared}
    assert metrics["agentyield.rollout.input.tokens"] == {solver: sum(sum(inputs) for inputs, _, _ in rollouts)}
    assert metrics["agentyield.rollout.output.tokens"] == {solver: sum(sum(outputs) for _, outputs, _ in rollouts)}
    assert metrics["agentyield.rollout.trajectories.distinct"] == {solver: distinct}
