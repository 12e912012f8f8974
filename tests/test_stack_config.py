"""Static checks of the demo stack (docker-compose.yml, collector-config/): no Docker daemon is needed.

- the Grafana dashboard: it parses, is what its generator writes, refers only to provisioned data sources, uses
  every variable, filters every selector by job and agent, uses only `$__rate_interval` and `1h` ranges, builds
  ratios from summed rates, and names only documented metrics and the recording rules;
- docker-compose.yml: valid for a real Compose implementation (Debian's docker-compose), every image pinned,
  the services wired as the Collector config and the Grafana provisioning expect;
- the Collector config: every component exists in the pinned otelcol-contrib version
  (collector-config/otelcol-contrib-components.txt), pipelines are complete and start with memory_limiter.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import parse_qs, unquote, urlparse

import pytest
import yaml

from dashboard_exprs import DASHBOARD, dashboard_expressions, iter_panels, load_dashboard, variables_in

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "collector-config"
COMPOSE = ROOT / "docker-compose.yml"
OTELCOL = CONFIG / "otelcol.yaml"
COMPONENTS = CONFIG / "otelcol-contrib-components.txt"
DATASOURCES = CONFIG / "grafana" / "provisioning" / "datasources" / "datasources.yml"
DASHBOARD_PROVIDERS = CONFIG / "grafana" / "provisioning" / "dashboards" / "dashboards.yml"
GENERATOR = CONFIG / "grafana" / "make_dashboard.py"
RULES = CONFIG / "prometheus" / "rules.yml"
METRICS_DOC = ROOT / "docs" / "metrics.md"

RECORDING_RULES = {
    "job_agent:agentyield_cache_read_ratio:rate1h",
    "job_agent:agentyield_cache_read_ratio:rate7d",
    "job_agent:agentyield_artifact_cost_usd:rate1h",
    "job_agent:agentyield_tool_error_ratio:rate1h",
    "job_agent:agentyield_cost_usd:rate1h",
    "job_agent:agentyield_cache_missed_usd:rate1h",
    "job_agent:agentyield_cache_missed_share:rate1h",
    "job_agent:agentyield_routing_routable_share:rate1h",
}
JOB = 'job=~"$job"'
AGENT = 'gen_ai_agent_name=~"$agent"'


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    return load_yaml(COMPOSE)


def data_panels() -> list[dict[str, Any]]:
    return [p for p in iter_panels(load_dashboard()) if p.get("type") != "row"]


def raw_expressions() -> list[tuple[str, str]]:
    return [(p["title"], t.get("expr", "")) for p in data_panels() for t in p.get("targets", [])]


def provisioned_uids() -> set[str]:
    return {ds["uid"] for ds in load_yaml(DATASOURCES)["datasources"]}


def datasource_refs(node: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(where, uid) of every data source reference: `datasource` (object or uid string), `datasourceUid`, and the
    references inside Grafana Explore URLs (`panes=` JSON)."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{where}.{key}"
            if key == "datasource" and isinstance(value, dict) and "uid" in value:
                yield here, value["uid"]
            elif key == "datasource" and isinstance(value, str):
                yield here, value
            elif key == "datasourceUid":
                yield here, value
            elif key == "url" and isinstance(value, str) and "panes=" in value:
                panes = parse_qs(urlparse(value).query)["panes"][0]
                yield from datasource_refs(json.loads(unquote(panes)), here)
            yield from datasource_refs(value, here)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from datasource_refs(value, f"{where}[{i}]")


# ---------------------------------------------------------------------------------------------- dashboard


def test_dashboard_is_what_its_generator_writes() -> None:
    spec = importlib.util.spec_from_file_location("make_dashboard", GENERATOR)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.OUTPUT == DASHBOARD
    assert DASHBOARD.read_text(encoding="utf-8") == module.render(), (
        f"{DASHBOARD.relative_to(ROOT)} is out of date: run python {GENERATOR.relative_to(ROOT)}"
    )


def test_dashboard_parses_with_its_identity() -> None:
    dashboard = load_dashboard()
    assert dashboard["uid"] == "agent-yield"
    assert dashboard["title"] == "Agent yield"
    ids = [p["id"] for p in iter_panels(dashboard)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    names = [v["name"] for v in dashboard["templating"]["list"]]
    assert names == ["job", "agent"]
    for variable in dashboard["templating"]["list"]:
        assert variable["type"] == "query"
        assert re.fullmatch(r"label_values\(agentyield_llm_calls_total(\{[^}]*\})?, \w+\)", variable["query"]), variable["query"]


def test_every_datasource_reference_is_provisioned() -> None:
    uids = provisioned_uids()
    assert uids == {"prometheus", "jaeger"}
    refs = list(datasource_refs(load_dashboard()))
    assert refs
    wrong = [(where, uid) for where, uid in refs if uid not in uids]
    assert not wrong, f"data source uids not provisioned in {DATASOURCES.name}: {wrong}"
    # each data panel and each of its targets names its data source explicitly
    for panel in data_panels():
        assert panel["datasource"]["uid"] in uids, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] in uids, panel["title"]
    # and the data sources link to each other by provisioned uids
    wrong = [(where, uid) for where, uid in datasource_refs(load_yaml(DATASOURCES)) if uid not in uids]
    assert not wrong


def test_every_template_variable_is_used() -> None:
    dashboard = load_dashboard()
    used: set[str] = set()
    for _, expr in raw_expressions():
        used |= variables_in(expr)
    for variable in dashboard["templating"]["list"]:
        assert variable["name"] in used, f"variable ${variable['name']} is used by no query"


def test_every_panel_has_a_query() -> None:
    panels = data_panels()
    assert len(panels) >= 9
    for panel in panels:
        assert any(t.get("expr", "").strip() for t in panel.get("targets", [])), f"panel {panel['title']!r} has no query"


def test_the_panels_the_stack_promises() -> None:
    exprs = "\n".join(expr for _, expr in raw_expressions())
    titles = [p["title"].lower() for p in data_panels()]
    for needle in (
        "cost per accepted artifact",
        "spend by phase and model",
        "cache-read ratio",
        "cache savings",
        "tokens by kind",
        "tasks by outcome",
        "unproductive spend",
        "tool error rate",
        "could not be priced",
        "streams without usage",
    ):
        assert any(needle in title for title in titles), needle
    for needle in ("agentyield_phase", "gen_ai_response_model", "agentyield_token_kind", "agentyield_task_outcome", 'agentyield_priced="false"'):
        assert needle in exprs, needle
    assert RECORDING_RULES - {"job_agent:agentyield_artifact_cost_usd:rate1h"} <= set(re.findall(r"job_agent:[\w:]+", exprs))


PROMQL_WORDS = {"sum", "rate", "increase", "or", "and", "unless", "by", "without", "on", "ignoring", "bool", "offset"}


def test_every_selector_is_filtered_by_job_and_agent() -> None:
    for title, expr in raw_expressions():
        unlabelled = re.sub(r"\b(?:by|without|on|ignoring)\s*\([^)]*\)", "", expr)  # label lists
        selectors = re.findall(r"([A-Za-z_:][\w:]*)(\{[^}]*\})", unlabelled)
        assert selectors, (title, expr)
        for name, selector in selectors:
            assert JOB in selector and AGENT in selector, f"{title}: {name}{selector} is not filtered by $job and $agent"
        rest = re.sub(r"[A-Za-z_:][\w:]*\{[^}]*\}|\[[^\]]*\]", "", unlabelled)
        bare = set(re.findall(r"(?<![\w.])[A-Za-z_:][\w:]*", rest)) - PROMQL_WORDS
        assert not bare, f"{title}: metrics without a selector: {bare}"


def test_ranges_are_rate_interval_or_one_hour() -> None:
    for title, expr in raw_expressions():
        for window in re.findall(r"\[([^\]]*)\]", expr):
            assert window in ("$__rate_interval", "1h"), f"{title}: range [{window}]"


def split_top_level(expr: str, operator: str) -> list[str]:
    depth, parts, start = 0, [], 0
    for i, char in enumerate(expr):
        depth += {"(": 1, ")": -1, "{": 1, "}": -1, "[": 1, "]": -1}.get(char, 0)
        if depth == 0 and expr.startswith(operator, i):
            parts.append(expr[start:i])
            start = i + len(operator)
    return [*parts, expr[start:]]


def test_ratios_are_ratios_of_summed_rates() -> None:
    ratios = 0
    for title, expr in raw_expressions():
        assert "avg" not in expr, f"{title}: average (of ratios?) in {expr}"
        operands = split_top_level(expr, " / ")
        if len(operands) == 1:
            continue
        ratios += 1
        assert len(operands) == 2, f"{title}: {expr}"
        for operand in operands:
            assert "sum by (" in operand and "rate(" in operand, f"{title}: ratio operand {operand!r} is not a summed rate"
        numerator_by = re.findall(r"sum by \(([^)]*)\)", operands[0])
        denominator_by = re.findall(r"sum by \(([^)]*)\)", operands[1])
        assert set(numerator_by) == set(denominator_by), f"{title}: numerator and denominator grouped differently"
    assert ratios >= 5


def documented_metrics() -> set[str]:
    names = set()
    for name in re.findall(r"`((?:agentyield|gen_ai)_[\w{},]+)`", METRICS_DOC.read_text(encoding="utf-8")):
        match = re.fullmatch(r"(\w+_)\{([\w,]+)\}", name)
        names |= {match.group(1) + suffix for suffix in match.group(2).split(",")} if match else {name}
    return names


def test_metrics_are_documented_or_recording_rules() -> None:
    known = documented_metrics() | RECORDING_RULES
    assert "agentyield_artifact_cost_usd_count" in known and "agentyield_cost_usd_total" in known
    for title, expr in raw_expressions():
        for name in re.findall(r"([\w:]+)\{", expr):
            assert name in known, f"{title}: {name} is neither in docs/metrics.md nor a recording rule"


def test_recording_rules_used_by_the_dashboard_are_defined() -> None:
    if not RULES.exists():
        pytest.skip(f"{RULES.relative_to(ROOT)} is not written yet")
    defined = {
        rule["record"]
        for group in load_yaml(RULES).get("groups", [])
        for rule in group.get("rules", [])
        if "record" in rule
    }
    used = {name for _, expr in raw_expressions() for name in re.findall(r"job_agent:[\w:]+", expr)}
    assert used <= defined, f"recording rules missing from rules.yml: {used - defined}"


def test_dashboard_expressions_substitutes_every_variable() -> None:
    default = dashboard_expressions({})
    assert len(default) == len(raw_expressions())
    for title, expr in default:
        assert title and "$" not in expr, (title, expr)
    given = dashboard_expressions({"job": "svc", "$agent": "coder|ops", "__rate_interval": "2m"})
    joined = "\n".join(expr for _, expr in given)
    assert 'job=~"svc"' in joined and 'gen_ai_agent_name=~"coder|ops"' in joined and "[2m]" in joined
    assert "[1h]" in joined


def test_jaeger_links() -> None:
    dashboard = load_dashboard()
    urls = [link["url"] for link in dashboard["links"]]
    assert any(url.startswith("http://localhost:16686/search?service=${job}") for url in urls)
    assert any(url.startswith("/explore?") for url in urls)
    internal = [
        link["internal"]
        for panel in data_panels()
        for link in panel["fieldConfig"]["defaults"].get("links", [])
        if "internal" in link
    ]
    assert internal and all(i["datasourceUid"] == "jaeger" and i["query"]["service"] == "${job}" for i in internal)


# -------------------------------------------------------------------------------------- grafana, compose


def test_grafana_provisioning_matches_the_compose_mounts() -> None:
    providers = load_yaml(DASHBOARD_PROVIDERS)["providers"]
    assert [p["type"] for p in providers] == ["file"]
    path = providers[0]["options"]["path"]
    assert path == "/var/lib/grafana/dashboards"
    volumes = compose()["services"]["grafana"]["volumes"]
    assert f"./collector-config/grafana/dashboards:{path}:ro" in volumes
    assert "./collector-config/grafana/provisioning:/etc/grafana/provisioning:ro" in volumes
    urls = {ds["uid"]: ds["url"] for ds in load_yaml(DATASOURCES)["datasources"]}
    assert urls == {"prometheus": "http://prometheus:9090", "jaeger": "http://jaeger:16686"}


def test_compose_file_is_valid_for_docker_compose() -> None:
    binary = shutil.which("docker-compose")
    if binary is None:
        message = "docker-compose (Debian's package docker-compose) is not installed; .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    result = subprocess.run(
        [binary, "-f", str(COMPOSE), "config", "-q"], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr + result.stdout


PINNED = re.compile(r"^[\w.\-/]+:(?!latest$)v?\d+(\.\d+)*(-[\w.]+)?(@sha256:[0-9a-f]{64})?$")


def dockerfile_images(path: Path) -> list[str]:
    return re.findall(r"^FROM\s+(\S+)", path.read_text(encoding="utf-8"), re.MULTILINE)


def test_every_image_is_pinned() -> None:
    services = compose()["services"]
    images = {name: s["image"] for name, s in services.items() if "image" in s}
    assert set(images) == {"otel-collector", "otel-collector-serve", "otel-collector-scaleout", "jaeger", "prometheus", "grafana"}
    assert images["otel-collector-serve"] == images["otel-collector-scaleout"] == images["otel-collector"]
    for name, image in images.items():
        assert PINNED.match(image), f"{name}: {image} is not pinned to a version"
    assert images["otel-collector"].startswith("otel/opentelemetry-collector-contrib:0.1")
    assert re.fullmatch(r"jaegertracing/jaeger:2\.\d+\.\d+", images["jaeger"])
    assert re.fullmatch(r"prom/prometheus:v3\.\d+\.\d+", images["prometheus"])
    assert re.fullmatch(r"grafana/grafana:1[12]\.\d+\.\d+", images["grafana"])
    for name, service in services.items():
        if "build" in service:
            dockerfile = ROOT / service["build"]["context"] / service["build"]["dockerfile"]
            assert dockerfile.is_file(), dockerfile
            for image in dockerfile_images(dockerfile):
                assert re.fullmatch(r"[\w.\-/]+:(?!latest$)[\w.\-]*\d[\w.\-]*", image), f"{name}: FROM {image} is not pinned"


def test_compose_wiring() -> None:
    services = compose()["services"]
    published = {str(port).split(":")[0] for s in services.values() for port in s.get("ports", [])}
    assert {"3000", "16686", "9090", "4317", "4318"} <= published
    command = services["prometheus"]["command"]
    assert "--web.enable-otlp-receiver" in command
    assert "--config.file=/etc/prometheus/prometheus-otlp.yml" in command
    assert "./collector-config/prometheus:/etc/prometheus:ro" in services["prometheus"]["volumes"]
    assert "./collector-config/otelcol.yaml:/etc/otelcol-contrib/config.yaml:ro" in services["otel-collector"]["volumes"]
    agent = services["agent"]
    assert agent["environment"]["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318"
    assert agent["environment"]["OTEL_SERVICE_NAME"] == "demo-agent"
    dockerfile = (ROOT / agent["build"]["context"] / agent["build"]["dockerfile"]).read_text(encoding="utf-8")
    assert dockerfile_images(ROOT / agent["build"]["dockerfile"]) == ["python:3.11-slim"]
    assert "pip install ." in dockerfile and "agentyield demo --no-report" in dockerfile
    assert "--no-report" in (ROOT / "agentyield" / "_cli.py").read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------- collector

KINDS = {"receivers": "receiver", "processors": "processor", "exporters": "exporter", "extensions": "extension", "connectors": "connector"}


def component_list() -> set[tuple[str, str]]:
    pairs = set()
    for line in COMPONENTS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            kind, name = line.split()
            pairs.add((kind, name))
    return pairs


def test_component_list_names_its_source_and_the_pinned_version() -> None:
    header = COMPONENTS.read_text(encoding="utf-8").split("\n\n", 1)[0]
    image = compose()["services"]["otel-collector"]["image"]
    assert image in header, f"{COMPONENTS.name} does not name the pinned image {image}"
    assert "opentelemetry-collector-releases" in header and "manifest.yaml" in header
    assert "opentelemetry-collector-contrib" in header and "reports/distributions/contrib.yaml" in header
    pairs = component_list()
    assert len(pairs) > 200 and ("receiver", "otlp") in pairs


@pytest.mark.parametrize("path", [OTELCOL, CONFIG / "otelcol-serve.yaml", CONFIG / "otelcol-scaleout.yaml"], ids=lambda p: p.name)
def test_every_collector_component_exists_in_the_pinned_version(path: Path) -> None:
    config = load_yaml(path)
    available = component_list()
    named = [(KINDS[section], component_id) for section in KINDS for component_id in (config.get(section) or {})]
    assert named
    missing = [(kind, cid) for kind, cid in named if (kind, cid.split("/", 1)[0]) not in available]
    assert not missing, f"not in {COMPONENTS.name} (the pinned otelcol-contrib): {missing}"


def test_collector_pipelines() -> None:
    config = load_yaml(OTELCOL)
    service = config["service"]
    pipelines = service["pipelines"]
    assert set(pipelines) == {"traces", "metrics"}
    for name, pipeline in pipelines.items():
        for section in ("receivers", "processors", "exporters"):
            for component_id in pipeline[section]:
                assert component_id in config[section], f"{name}: {component_id} is not configured"
        assert pipeline["receivers"] == ["otlp"]
        assert pipeline["processors"][0] == "memory_limiter", f"{name}: memory_limiter must come first"
        assert "batch" in pipeline["processors"]
    for extension in service.get("extensions", []):
        assert extension in config["extensions"]
    protocols = config["receivers"]["otlp"]["protocols"]
    assert protocols["grpc"]["endpoint"] == "0.0.0.0:4317" and protocols["http"]["endpoint"] == "0.0.0.0:4318"
    (traces_exporter,) = pipelines["traces"]["exporters"]
    (metrics_exporter,) = pipelines["metrics"]["exporters"]
    assert config["exporters"][traces_exporter]["endpoint"] == "jaeger:4317"
    assert config["exporters"][traces_exporter]["tls"]["insecure"] is True
    assert traces_exporter.split("/")[0] == "otlp_grpc"
    assert metrics_exporter.split("/")[0] == "otlp_http"
    assert config["exporters"][metrics_exporter]["endpoint"] == "http://prometheus:9090/api/v1/otlp"


def test_every_dashboard_expression_parses_in_promtool(tmp_path: Path) -> None:
    """Each expression, variables substituted, as a recording rule: `promtool check rules` parses the PromQL."""
    promtool = shutil.which("promtool")
    if promtool is None:
        message = "promtool (Debian's package prometheus) is not installed; .ci/run installs it"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    expressions = dashboard_expressions({"job": "demo-agent", "agent": "coder|watcher"})
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:expr_{i}:check", "expr": expr} for i, (_, expr) in enumerate(expressions)]}]}
    path = tmp_path / "dashboard.rules.yml"
    path.write_text(yaml.safe_dump(rules), encoding="utf-8")
    result = subprocess.run([promtool, "check", "rules", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(expressions)} rules found" in result.stdout + result.stderr
