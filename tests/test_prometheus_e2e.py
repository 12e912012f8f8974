"""End to end on a real Prometheus: it scrapes an instrumented agent with the shipped recording rules loaded;
the rules give the known workload's cost per artifact and cache-read ratio, and every dashboard panel's
expression returns data."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from dashboard_exprs import dashboard_expressions
from test_processor import C

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "collector-config" / "prometheus" / "rules.yml"
JOB = "agentyield-e2e"


def need(binary: str) -> str:
    path = shutil.which(binary)
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{binary} is not installed in CI (.ci/run installs Debian's prometheus)")
        pytest.skip(f"{binary} not installed: apt-get install prometheus")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def query(port: int, expr: str) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/api/v1/query?" + urllib.parse.urlencode({"query": expr})
    with urllib.request.urlopen(url, timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "success", body
    return body["data"]["result"]


def wait_for(port: int, expr: str, deadline: float) -> list[dict[str, Any]]:
    while True:
        try:
            result = query(port, expr)
        except OSError:
            result = []
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Any:
    binary = need("prometheus")
    tmp = tmp_path_factory.mktemp("prometheus")
    agent_port, prom_port = free_port(), free_port()
    # The shipped rules, evaluated every second instead of every minute so the test needs seconds, not minutes.
    rules = tmp / "rules.yml"
    text, groups = re.subn(r"(?m)^(\s*)interval: 1m$", r"\1interval: 1s", RULES.read_text())
    assert groups == 2, "expected the recording and the alerting group, each evaluated every minute"
    rules.write_text(text)
    config = tmp / "prometheus.yml"
    config.write_text(
        "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
        f"rule_files: [{json.dumps(str(rules))}]\n"
        f"scrape_configs:\n  - job_name: {JOB}\n    static_configs: [{{targets: ['127.0.0.1:{agent_port}']}}]\n"
    )
    agent = subprocess.Popen([sys.executable, str(ROOT / "tests" / "prometheus_agent.py"), str(agent_port), "6"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    server = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.tsdb.path={tmp / 'data'}", f"--web.listen-address=127.0.0.1:{prom_port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        yield prom_port
    finally:
        for process in (server, agent):
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_recording_rules_give_the_known_workloads_numbers(prometheus: int) -> None:
    deadline = time.monotonic() + 60
    selector = f'{{job="{JOB}", gen_ai_agent_name="coder"}}'
    ratio = wait_for(prometheus, f"job_agent:agentyield_cache_read_ratio:rate1h{selector}", deadline)
    assert len(ratio) == 1, ratio
    assert float(ratio[0]["value"][1]) == pytest.approx(1920 / 2006, rel=1e-9)
    cost = wait_for(prometheus, f"job_agent:agentyield_artifact_cost_usd:rate1h{selector}", deadline)
    assert len(cost) == 1, cost
    assert float(cost[0]["value"][1]) == pytest.approx(float(C), rel=1e-9)


def test_every_dashboard_expression_returns_data(prometheus: int) -> None:
    deadline = time.monotonic() + 60
    wait_for(prometheus, f'agentyield_llm_calls_total{{job="{JOB}"}}', deadline)
    expressions = dashboard_expressions({"job": JOB, "agent": ".*", "__rate_interval": "1m", "__interval": "15s", "__range": "1h"})
    assert len(expressions) >= 9
    empty = []
    for title, expr in expressions:
        result = wait_for(prometheus, expr, min(deadline, time.monotonic() + 15))
        if not result:
            empty.append((title, expr))
    assert empty == []
