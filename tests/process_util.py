"""Running tests/agent_process.py as users run agents, and reading what it left behind."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence

from genai_prices import Usage, calc_price

AGENT = str(Path(__file__).parent / "agent_process.py")
BIN = Path(sys.executable).parent
# One call of tests/agent_process.py, priced independently of agentyield.
CALL_COST = float(calc_price(Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300), "gpt-4o-2024-08-06", provider_id="openai").total_price)


def agent_env(directory: Path, **extra: str) -> dict[str, str]:
    """The test process's environment minus anything that would pick an exporter, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTYIELD_")) or k == "AGENTYIELD_STRICT"}
    return {**env, "AGENTYIELD_DIR": str(directory), "PYTHONUNBUFFERED": "1", **extra}


def run_agent(*args: str, env: dict[str, str], prefix: Sequence[str] = (), timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*prefix, sys.executable, AGENT, *args], capture_output=True, text=True, timeout=timeout, env=env)


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def spans(directory: Path) -> list[dict[str, Any]]:
    """Every span in `directory/traces.jsonl`, attributes flattened to {key: value}."""
    out = []
    for request in lines(directory / "traces.jsonl"):
        for rs in request["resourceSpans"]:
            for ss in rs["scopeSpans"]:
                for span in ss["spans"]:
                    attributes = {kv["key"]: next(iter(kv["value"].values())) for kv in span.get("attributes", [])}
                    out.append({"name": span["name"], "attributes": attributes})
    return out


def metric_names(directory: Path) -> set[str]:
    return {m["name"] for request in lines(directory / "metrics.jsonl") for rm in request["resourceMetrics"]
            for sm in rm["scopeMetrics"] for m in sm["metrics"]}
