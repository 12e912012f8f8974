"""collector-config/prometheus: promtool checks the configuration and the rules, and runs the rules' unit tests.

promtool comes from Debian's `prometheus` package (2.42 on Debian 12; .ci/run installs it). Without it the
tests are skipped on a developer's machine and fail under CI (CI=true), so that CI never passes by skipping.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from agentyield.processors._metrics import COUNTERS, HISTOGRAMS

ROOT = Path(__file__).resolve().parent.parent
PROM_DIR = ROOT / "collector-config" / "prometheus"
RULES = PROM_DIR / "rules.yml"
RULES_TEST = PROM_DIR / "rules.test.yml"
CONFIG = PROM_DIR / "prometheus.yml"
CONFIG_OTLP = PROM_DIR / "prometheus-otlp.yml"

# What prometheus-otlp.yml adds to prometheus.yml (Prometheus 3 only, or only useful for pushed samples).
OTLP_ONLY_KEYS = {"otlp", "storage"}

RECORDING_RULES = [
    "job_agent:agentyield_cache_read_tokens:rate1h",
    "job_agent:agentyield_prompt_tokens:rate1h",
    "job_agent:agentyield_prompt_tokens:increase1h",
    "job_agent:agentyield_cache_read_ratio:rate1h",
    "job_agent:agentyield_cache_read_ratio:rate7d",
    "job_agent:agentyield_artifact_cost_usd_sum:rate1h",
    "job_agent:agentyield_artifact_cost_usd_count:rate1h",
    "job_agent:agentyield_artifact_cost_usd_count:increase1h",
    "job_agent:agentyield_artifact_cost_usd:rate1h",
    "job_agent:agentyield_artifact_cost_usd:rate7d",
    "job_agent:agentyield_cost_usd:rate1h",
    "job_agent:agentyield_cache_missed_usd:rate1h",
    "job_agent:agentyield_cache_missed_share:rate1h",
    "job_agent:agentyield_tool_error_ratio:rate1h",
    "job_agent:agentyield_routing_routable_share:rate1h",
]
ALERTS = {
    "AgentCacheReadRatioDrift": "warning",
    "AgentCostPerArtifactSpike": "warning",
    "AgentUnpricedCalls": "info",
    "AgentStreamsWithoutUsage": "info",
    "AgentMissedCaching": "warning",
}


@pytest.fixture(scope="module")
def promtool() -> str:
    path = shutil.which("promtool")
    if path is None:
        if os.environ.get("CI") == "true":
            pytest.fail("promtool not installed under CI: .ci/run should have installed Debian's prometheus package")
        pytest.skip("promtool not installed: apt-get install prometheus")
    return path


def run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=PROM_DIR, capture_output=True, text=True, timeout=timeout, check=False)


def output(result: subprocess.CompletedProcess[str]) -> str:
    return f"exit {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"


def load(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def test_promtool_check_config(promtool: str) -> None:
    result = run([promtool, "check", "config", CONFIG.name], timeout=60)
    assert result.returncode == 0, output(result)
    text = result.stdout + result.stderr
    assert "SUCCESS: prometheus.yml is valid prometheus config file syntax" in text, output(result)
    assert "SUCCESS: 1 rule files found" in text, output(result)
    assert "SUCCESS: 20 rules found" in text, output(result)


def test_promtool_check_otlp_config(promtool: str, tmp_path: Path) -> None:
    # The whole file: Prometheus 3's promtool accepts it; 2.42's rejects exactly the `otlp:` section.
    whole = run([promtool, "check", "config", CONFIG_OTLP.name], timeout=60)
    if whole.returncode != 0:
        assert "field otlp not found" in whole.stdout + whole.stderr, output(whole)
    # Everything but `otlp:` is checked by any version (the rule file by absolute path, from a copy elsewhere).
    config = load(CONFIG_OTLP)
    del config["otlp"]
    config["rule_files"] = [str(RULES)]
    checkable = tmp_path / "prometheus-otlp-without-otlp.yml"
    checkable.write_text(yaml.safe_dump(config))
    result = run([promtool, "check", "config", str(checkable)], timeout=60)
    assert result.returncode == 0, output(result)
    assert "SUCCESS: 20 rules found" in result.stdout + result.stderr, output(result)


def test_otlp_config_is_the_base_config_plus_otlp_settings() -> None:
    base, otlp = load(CONFIG), load(CONFIG_OTLP)
    assert set(otlp) - set(base) == OTLP_ONLY_KEYS
    assert {key: value for key, value in otlp.items() if key not in OTLP_ONLY_KEYS} == base
    assert otlp["otlp"] == {
        "translation_strategy": "UnderscoreEscapingWithSuffixes",
        "promote_resource_attributes": ["service.name", "service.version", "deployment.environment.name"],
    }
    assert otlp["storage"] == {"tsdb": {"out_of_order_time_window": "30m"}}
    assert base["rule_files"] == ["rules.yml"]
    agent = next(job for job in base["scrape_configs"] if job["job_name"] == "local-agent")
    assert agent["static_configs"] == [{"targets": ["host.docker.internal:9464"]}]


def test_promtool_check_rules(promtool: str) -> None:
    result = run([promtool, "check", "rules", RULES.name], timeout=60)
    assert result.returncode == 0, output(result)
    assert "SUCCESS: 20 rules found" in result.stdout + result.stderr, output(result)


def test_promtool_test_rules(promtool: str) -> None:
    result = run([promtool, "test", "rules", RULES_TEST.name], timeout=600)
    assert result.returncode == 0, output(result)
    assert "SUCCESS" in result.stdout, output(result)
    assert "FAILED" not in result.stdout + result.stderr, output(result)


def test_rule_names_labels_and_annotations() -> None:
    groups = load(RULES)["groups"]
    rules = [rule for group in groups for rule in group["rules"]]
    assert [rule["record"] for rule in rules if "record" in rule] == RECORDING_RULES
    alerts = {rule["alert"]: rule for rule in rules if "alert" in rule}
    assert {name: rule["labels"]["severity"] for name, rule in alerts.items()} == ALERTS
    for name, rule in alerts.items():
        assert set(rule["annotations"]) == {"summary", "description", "runbook"}, name
        assert rule["for"] == "15m", name
        assert "$value" in rule["annotations"]["summary"] + rule["annotations"]["description"], name


def _served_names() -> set[str]:
    """The Prometheus names of agentyield's instruments (as tests/test_prometheus_scrape.py derives them)."""
    names = set()
    for name, (unit, _, _) in COUNTERS.items():
        assert unit.startswith("{"), name  # no unit suffix for curly units
        names.add(name.replace(".", "_") + "_total")
    for name, (unit, _, _, _) in HISTOGRAMS.items():
        base = name.replace(".", "_") + ("_seconds" if unit == "s" else "")
        names |= {base + "_bucket", base + "_sum", base + "_count"}
    return names


def test_rules_only_select_metrics_that_agentyield_serves() -> None:
    rules = [rule for group in load(RULES)["groups"] for rule in group["rules"]]
    selected = set()
    for rule in rules:
        # Raw metric names: identifiers without a colon (recorded series are level:metric:operations).
        for match in re.finditer(r"(?<![\w:])(agentyield_\w+|gen_ai_client_\w+)(?![\w:])(?!\s*[=!])", rule["expr"]):
            selected.add(match.group(1))
    assert selected == {
        "agentyield_tokens_total",
        "agentyield_artifact_cost_usd_sum",
        "agentyield_artifact_cost_usd_count",
        "agentyield_llm_calls_total",
        "agentyield_usage_missing_total",
        "agentyield_cost_usd_total",
        "agentyield_cache_missed_usd_total",
        "agentyield_tool_calls_total",
        "agentyield_routing_routable_calls_total",
    }
    assert selected <= _served_names()


def test_every_alert_is_tested_firing_and_not_firing() -> None:
    cases = [case for group in load(RULES_TEST)["tests"] for case in group.get("alert_rule_test", [])]
    for name in ALERTS:
        fired = [case for case in cases if case["alertname"] == name and case["exp_alerts"]]
        quiet = [case for case in cases if case["alertname"] == name and not case["exp_alerts"]]
        assert len(fired) >= 2 and len(quiet) >= 2, (name, len(fired), len(quiet))
