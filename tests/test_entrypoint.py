"""`opentelemetry-instrument python agent.py` gives the telemetry of the one line, with and without a distro.

With opentelemetry-distro (its configurator sets up the SDK providers from `OTEL_*`), agentyield's span
processor and derived metrics go onto those providers; without one, agentyield sets up its own (the
embedded default), as `instrument()` does. `make test` runs this file in both environments: the newest
one has opentelemetry-distro installed, the oldest-SDK one does not.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

from process_util import BIN, CALL_COST, agent_env, metric_names, run_agent, spans

HAS_DISTRO = importlib.util.find_spec("opentelemetry.distro") is not None
INSTRUMENT = [str(BIN / "opentelemetry-instrument")]


def console_objects(text: str) -> list[dict[str, Any]]:
    """The JSON objects the console exporters print one after another (pretty-printed, with other lines between)."""
    decoder, out, at = json.JSONDecoder(), [], 0
    while (at := text.find("{", at)) != -1:
        try:
            value, end = decoder.raw_decode(text, at)
        except json.JSONDecodeError:
            at += 1
            continue
        out.append(value)
        at = end
    return out


@pytest.mark.skipif(not HAS_DISTRO, reason="this environment has no opentelemetry-distro (the other one tests it)")
@pytest.mark.parametrize("one_line_too", [False, True])
def test_with_distro_console_exporter_has_cost_task_totals_and_metrics(tmp_path: Path, one_line_too: bool) -> None:
    env = agent_env(tmp_path, OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="console", OTEL_LOGS_EXPORTER="none",
                    OTEL_SERVICE_NAME="svc")
    result = run_agent(*(["--instrument"] if one_line_too else []), "--calls", "2", env=env, prefix=INSTRUMENT)
    assert result.returncode == 0, result.stderr
    printed = console_objects(result.stdout)
    by_name = {o["name"]: o for o in printed if "context" in o}
    chat_spans = [o for o in printed if o.get("name") == "chat gpt-4o-2024-08-06"]
    assert len(chat_spans) == 2  # once each: a later instrument() adds no second processor
    assert [s["attributes"]["agentyield.cost.usd"] for s in chat_spans] == pytest.approx([CALL_COST] * 2, abs=1e-12)
    task = by_name["invoke_agent coder"]["attributes"]
    assert task["agentyield.task.cost.usd"] == pytest.approx(2 * CALL_COST, abs=1e-12)
    assert task["agentyield.task.artifacts.accepted"] == 1
    names = {m["name"] for o in printed for rm in o.get("resource_metrics", []) for sm in rm["scope_metrics"] for m in sm["metrics"]}
    assert {"agentyield.artifact.cost.usd", "agentyield.cost.usd", "agentyield.tokens", "agentyield.tasks"} <= names
    assert not (tmp_path / "traces.jsonl").exists()  # the distro's exporters were used, not the embedded default


@pytest.mark.skipif(HAS_DISTRO, reason="this environment has opentelemetry-distro (the other one tests without it)")
@pytest.mark.parametrize("one_line_too", [False, True])
def test_without_distro_falls_back_to_the_embedded_default(tmp_path: Path, one_line_too: bool) -> None:
    result = run_agent(*(["--instrument"] if one_line_too else []), "--calls", "2", env=agent_env(tmp_path), prefix=INSTRUMENT)
    assert result.returncode == 0, result.stderr
    written = spans(tmp_path)
    chats = [s for s in written if s["name"] == "chat gpt-4o-2024-08-06"]
    assert [s["attributes"]["agentyield.cost.usd"] for s in chats] == pytest.approx([CALL_COST] * 2, abs=1e-12)
    task = next(s for s in written if s["name"] == "invoke_agent coder")["attributes"]
    assert task["agentyield.task.cost.usd"] == pytest.approx(2 * CALL_COST, abs=1e-12)
    assert {"agentyield.artifact.cost.usd", "agentyield.cost.usd", "agentyield.tokens"} <= metric_names(tmp_path)
