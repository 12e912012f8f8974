"""Writes dashboards/agent-yield.json, the "Agent yield" Grafana dashboard. The JSON is committed; edit this
script, run it (`python collector-config/grafana/make_dashboard.py`), and commit both:
tests/test_stack_config.py fails when the JSON is not what this script writes.

Metric and label names are the Prometheus names of docs/metrics.md (OTLP through Prometheus's OTLP receiver).
Every selector is filtered by the `job` and `agent` variables, every range is `$__rate_interval` or `1h`,
and every ratio is a ratio of summed rates (never an average of per-call ratios).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

OUTPUT = Path(__file__).parent / "dashboards" / "agent-yield.json"

PROMETHEUS = {"type": "prometheus", "uid": "prometheus"}
JAEGER = {"type": "jaeger", "uid": "jaeger"}
JAEGER_UI = "http://localhost:16686"  # as published by docker-compose.yml; change it with your Jaeger

RATE = "$__rate_interval"
HOUR = "1h"
FILTER = 'job=~"$job", gen_ai_agent_name=~"$agent"'


def sel(metric: str, *matchers: str) -> str:
    """`metric{job=~"$job", gen_ai_agent_name=~"$agent", ...}`"""
    return f"{metric}{{{', '.join([FILTER, *matchers])}}}"


def summed_rate(by: str, selector: str, window: str) -> str:
    return f"sum by ({by}) (rate({selector}[{window}]))"


def per_hour(by: str, selector: str) -> str:
    return f"{summed_rate(by, selector, RATE)} * 3600"


def share(by: str, part: str, whole: str, window: str) -> str:
    """Σ rate(part) / Σ rate(whole); 0 (not "no data") where `whole` has series and `part` has none yet."""
    whole_rate = summed_rate(by, whole, window)
    return f"({summed_rate(by, part, window)} or {whole_rate} * 0) / {whole_rate}"


def jaeger_search(service: str = "${job}", tags: dict[str, str] | None = None) -> str:
    """A Jaeger UI search URL; Grafana interpolates the `${...}` in it."""
    url = f"{JAEGER_UI}/search?service={service}&lookback=1h"
    if tags:
        body = ",".join(f'"{key}":"{value}"' for key, value in tags.items())
        encoded = quote("{" + body + "}", safe="")
        for value in tags.values():  # keep Grafana's variables readable (and interpolated)
            encoded = encoded.replace(quote(value, safe=""), value)
        url += f"&tags={encoded}"
    return url


def explore_jaeger(service: str = "${job}") -> str:
    """A Grafana Explore URL that searches the Jaeger data source for `service`."""
    panes = {
        "traces": {
            "datasource": JAEGER["uid"],
            "queries": [{"refId": "A", "datasource": JAEGER, "queryType": "search", "service": service}],
            "range": {"from": "now-1h", "to": "now"},
        }
    }
    encoded = quote(json.dumps(panes, separators=(",", ":")), safe="")
    return "/explore?schemaVersion=1&orgId=1&panes=" + encoded.replace(quote(service, safe=""), service)


def agent_links() -> list[dict[str, Any]]:
    """Data links of a series labelled with an agent: its task spans, in Grafana Explore and in the Jaeger UI."""
    agent = "${__field.labels.gen_ai_agent_name}"
    return [
        {
            "title": f"Tasks of agent {agent} (Jaeger, in Explore)",
            "url": "",
            "internal": {
                "datasourceUid": JAEGER["uid"],
                "datasourceName": "Jaeger",
                "query": {"queryType": "search", "service": "${job}", "tags": f"gen_ai.agent.name={agent}"},
            },
        },
        {"title": f"Tasks of agent {agent} in the Jaeger UI", "url": jaeger_search(tags={"gen_ai.agent.name": agent}), "targetBlank": True},
    ]


def tool_links() -> list[dict[str, Any]]:
    tool = "${__field.labels.gen_ai_tool_name}"
    return [
        {
            "title": f"Failed {tool} calls (Jaeger, in Explore)",
            "url": "",
            "internal": {
                "datasourceUid": JAEGER["uid"],
                "datasourceName": "Jaeger",
                "query": {"queryType": "search", "service": "${job}", "tags": f"gen_ai.tool.name={tool} error=true"},
            },
        },
        {
            "title": f"Failed {tool} calls in the Jaeger UI",
            "url": jaeger_search(tags={"gen_ai.tool.name": tool, "error": "true"}),
            "targetBlank": True,
        },
    ]


PANEL_LINKS = [{"title": "Traces of ${job} in the Jaeger UI", "url": jaeger_search(), "targetBlank": True}]


class Layout:
    def __init__(self) -> None:
        self.panels: list[dict[str, Any]] = []
        self.y = 0
        self.x = 0

    def row(self, title: str) -> None:
        self._newline()
        gridpos = {"h": 1, "w": 24, "x": 0, "y": self.y}
        self.panels.append({"type": "row", "id": len(self.panels) + 1, "title": title, "collapsed": False, "gridPos": gridpos, "panels": []})
        self.y += 1

    def _newline(self) -> None:
        if self.x:
            self.x, self.y = 0, self.y + 8

    def add(self, panel: dict[str, Any], width: int = 12) -> None:
        if self.x + width > 24:
            self._newline()
        panel["gridPos"] = {"h": 8, "w": width, "x": self.x, "y": self.y}
        panel["id"] = len(self.panels) + 1
        self.panels.append(panel)
        self.x += width
        if self.x == 24:
            self._newline()


def target(expr: str, legend: str, ref: str = "A") -> dict[str, Any]:
    return {"refId": ref, "datasource": PROMETHEUS, "expr": expr, "legendFormat": legend, "range": True}


def timeseries(
    title: str,
    description: str,
    targets: list[dict[str, Any]],
    *,
    unit: str,
    stack: bool = False,
    links: list[dict[str, Any]] | None = None,
    max_value: float | None = None,
    overrides: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    defaults: dict[str, Any] = {
        "unit": unit,
        "min": 0,
        "custom": {
            "drawStyle": "line",
            "lineWidth": 2,
            "fillOpacity": 20 if stack else 0,
            "showPoints": "never",
            "spanNulls": False,
            "stacking": {"mode": "normal" if stack else "none", "group": "A"},
        },
        "links": links or [],
    }
    if max_value is not None:
        defaults["max"] = max_value
    return {
        "type": "timeseries",
        "title": title,
        "description": description,
        "datasource": PROMETHEUS,
        "targets": targets,
        "links": PANEL_LINKS,
        "fieldConfig": {"defaults": defaults, "overrides": overrides or []},
        "options": {
            "legend": {"displayMode": "table", "placement": "right", "calcs": ["lastNotNull"], "showLegend": True},
            "tooltip": {"mode": "multi", "sort": "desc"},
        },
    }


def mean_per_task(metric: str, by: str = "gen_ai_agent_name") -> str:
    """The mean of a per-task histogram over the last hour: Σ rate(_sum) / Σ rate(_count)."""
    return f"{summed_rate(by, sel(metric + '_sum'), HOUR)} / {summed_rate(by, sel(metric + '_count'), HOUR)}"


def net_growth_per_task(by: str = "gen_ai_agent_name") -> str:
    """Mean context growth per task, shrinking tasks included: histograms hold no negative value, so a task
    whose context shrank is in a histogram of its own (`or x * 0`: an agent with only one of the two)."""
    def rate(metric: str) -> str:
        return summed_rate(by, sel(metric), HOUR)

    grew, shrank = "agentyield_task_context_growth", "agentyield_task_context_shrink"
    total = f"(({rate(grew + '_sum')} or {rate(shrank + '_sum')} * 0) - ({rate(shrank + '_sum')} or {rate(grew + '_sum')} * 0))"
    tasks = f"(({rate(grew + '_count')} or {rate(shrank + '_count')} * 0) + ({rate(shrank + '_count')} or {rate(grew + '_count')} * 0))"
    return f"{total} / {tasks}"


def agent_panels(layout: Layout) -> None:
    """Trajectory, context, the cache watched live, routability and budgets (docs/metrics.md, "Tool calls and live
    agent measures")."""
    layout.row("Trajectory, context, cache breaks, routability and budgets")
    layout.add(
        timeseries(
            "Tool error ratio by agent (trailing 1h)",
            "Σ failed tool calls ÷ Σ tool calls per agent (recording rule job_agent:agentyield_tool_error_ratio:rate1h).",
            [target(sel("job_agent:agentyield_tool_error_ratio:rate1h"), "{{gen_ai_agent_name}}")],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "LLM and tool calls per task (mean, trailing 1h)",
            "Calls per finished task, sub-tasks included (agentyield.task.llm_calls, agentyield.task.tool_calls).",
            [
                target(mean_per_task("agentyield_task_llm_calls"), "{{gen_ai_agent_name}} · LLM calls"),
                target(mean_per_task("agentyield_task_tool_calls"), "{{gen_ai_agent_name}} · tool calls", "B"),
            ],
            unit="short",
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Redundant tool calls and loops (per hour)",
            "Tool calls that repeat an earlier call of their task (same tool, same argument fingerprint), and runs of "
            "3 or more identical tool calls, or identical LLM requests, in a row (agentyield.tool.calls.redundant, "
            "agentyield.loops, agentyield.llm.loops).",
            [
                target(per_hour("gen_ai_agent_name, gen_ai_tool_name", sel("agentyield_tool_calls_redundant_total")), "{{gen_ai_agent_name}} · {{gen_ai_tool_name}} · repeats"),
                target(per_hour("gen_ai_agent_name, gen_ai_tool_name", sel("agentyield_loops_total")), "{{gen_ai_agent_name}} · {{gen_ai_tool_name}} · loops", "B"),
                target(per_hour("gen_ai_agent_name, gen_ai_response_model", sel("agentyield_llm_loops_total")), "{{gen_ai_agent_name}} · {{gen_ai_response_model}} · LLM request loops", "C"),
            ],
            unit="short",
            links=tool_links(),
        )
    )
    layout.add(
        timeseries(
            "Context growth per turn (tokens, mean per task, trailing 1h)",
            "Mean over tasks of the input growth from one LLM call to the next (agentyield.task.context.growth, "
            "less agentyield.task.context.shrink for tasks whose context shrank): how fast the context an agent re-sends grows.",
            [target(net_growth_per_task(), "{{gen_ai_agent_name}}")],
            unit="short",
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Context-to-output ratio (mean per task, trailing 1h)",
            "Input tokens (cached or not) per output token (agentyield.task.context_to_output): a high cache hit "
            "rate can coexist with a huge ratio, so the hit rate alone misleads.",
            [target(mean_per_task("agentyield_task_context_to_output"), "{{gen_ai_agent_name}}")],
            unit="short",
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Input re-sent uncached and verification share (mean per task, trailing 1h)",
            "Share of input that repeats the previous call's context yet was not read from cache "
            "(agentyield.task.input.resent_uncached), and share of a task's own cost spent in verification "
            "(agentyield.task.verification.share).",
            [
                target(mean_per_task("agentyield_task_input_resent_uncached"), "{{gen_ai_agent_name}} · re-sent uncached"),
                target(mean_per_task("agentyield_task_verification_share"), "{{gen_ai_agent_name}} · verification", "B"),
            ],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Cache breaks by cause (per hour)",
            "Breaks of the cache-read ratio found live (Page-Hinkley per agent and model, agentyield.cache.drifts); "
            "cause prefix_changed: the prompt prefix fingerprint changed. Each break is also a span event and a log "
            "record agentyield.cache.drift with both fingerprints.",
            [target(per_hour("gen_ai_agent_name, agentyield_cache_drift_cause", sel("agentyield_cache_drifts_total")), "{{gen_ai_agent_name}} · {{agentyield_cache_drift_cause}}")],
            unit="short",
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Missed caching (USD per hour, and share of spend)",
            "What calls that re-sent a prefix sent within 5 minutes yet read no cache would have saved "
            "(agentyield.cache.missed.usd), against the agent's spend; alert AgentMissedCaching above 5%.",
            [
                target(f'{sel("job_agent:agentyield_cache_missed_usd:rate1h")} * 3600', "{{gen_ai_agent_name}} · missed USD/h"),
                target(f'{sel("job_agent:agentyield_cost_usd:rate1h")} * 3600', "{{gen_ai_agent_name}} · spend USD/h", "B"),
                target(sel("job_agent:agentyield_cache_missed_share:rate1h"), "{{gen_ai_agent_name}} · share of spend", "C"),
            ],
            unit="currencyUSD",
            links=agent_links(),
            overrides=[{"matcher": {"id": "byFrameRefID", "options": "C"}, "properties": [{"id": "unit", "value": "percentunit"}]}],
        )
    )
    layout.add(
        timeseries(
            "Small-model routability: routable share and projected savings",
            "Share of LLM calls the routability rule marks as servable by a small model (recording rule "
            "job_agent:agentyield_routing_routable_share:rate1h), and what they would have saved at "
            "instrument(small_model=...) prices (agentyield.routing.savings.usd, USD per hour).",
            [
                target(sel("job_agent:agentyield_routing_routable_share:rate1h"), "{{gen_ai_agent_name}} · routable share"),
                target(per_hour("gen_ai_agent_name", sel("agentyield_routing_savings_usd_total")), "{{gen_ai_agent_name}} · savings USD/h", "B"),
            ],
            unit="percentunit",
            links=agent_links(),
            overrides=[{"matcher": {"id": "byFrameRefID", "options": "B"}, "properties": [{"id": "unit", "value": "currencyUSD"}]}],
        )
    )
    layout.add(
        timeseries(
            "Budget overruns (tasks per hour)",
            "Tasks whose spend, sub-tasks included, exceeded task(..., budget_usd=, budget_tokens=) "
            "(agentyield.budget.exceeded), by on_exceed (record, or raise: the loop was stopped).",
            [target(per_hour("gen_ai_agent_name, agentyield_task_name, agentyield_budget_on_exceed", sel("agentyield_budget_exceeded_total")), "{{gen_ai_agent_name}} · {{agentyield_task_name}} · {{agentyield_budget_on_exceed}}")],
            unit="short",
            links=agent_links(),
        )
    )


def build() -> dict[str, Any]:
    layout = Layout()
    agent_kind = "gen_ai_agent_name, agentyield_artifact_kind"

    layout.row("Yield: what finished, accepted work costs")
    layout.add(
        timeseries(
            "Cost per accepted artifact by kind and agent (USD, trailing 1h)",
            "Attributable spend per accepted artifact: Σ artifact cost ÷ Σ accepted artifacts over the last hour "
            "(agentyield.artifact.cost.usd). Spend that produced nothing accepted is in 'Unproductive spend'.",
            [
                target(
                    f"{summed_rate(agent_kind, sel('agentyield_artifact_cost_usd_sum'), HOUR)} / "
                    f"{summed_rate(agent_kind, sel('agentyield_artifact_cost_usd_count'), HOUR)}",
                    "{{gen_ai_agent_name}} · {{agentyield_artifact_kind}}",
                )
            ],
            unit="currencyUSD",
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Accepted artifacts by kind and agent (per hour)",
            "Finished work that was accepted (agentyield.artifacts, accepted=\"true\"): the denominator of the cost per accepted artifact.",
            [target(per_hour(agent_kind, sel("agentyield_artifacts_total", 'agentyield_artifact_accepted="true"')), "{{gen_ai_agent_name}} · {{agentyield_artifact_kind}}")],
            unit="short",
            stack=True,
            links=agent_links(),
        )
    )

    layout.row("Spend")
    layout.add(
        timeseries(
            "Spend by phase and model (USD per hour)",
            "Priced LLM spend (agentyield.cost.usd) by phase (work, verification) and the model that served the call. "
            "Calls that could not be priced add nothing here: see 'Calls that could not be priced'.",
            [target(per_hour("agentyield_phase, gen_ai_response_model", sel("agentyield_cost_usd_total")), "{{agentyield_phase}} · {{gen_ai_response_model}}")],
            unit="currencyUSD",
            stack=True,
        )
    )
    layout.add(
        timeseries(
            "Verification share of spend (trailing 1h)",
            "Σ verification spend ÷ Σ spend, per agent: what checking the work costs, relative to doing it.",
            [
                target(
                    share("gen_ai_agent_name", sel("agentyield_cost_usd_total", 'agentyield_phase="verification"'), sel("agentyield_cost_usd_total"), HOUR),
                    "{{gen_ai_agent_name}}",
                )
            ],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Unproductive spend by agent and task (USD per hour)",
            "Spend of top-level tasks (and, for persistent agents, windows) that produced no accepted artifact "
            "(agentyield.unproductive.cost.usd). Task \"(window)\" is spend outside any task.",
            [target(per_hour("gen_ai_agent_name, agentyield_task_name", sel("agentyield_unproductive_cost_usd_total")), "{{gen_ai_agent_name}} · {{agentyield_task_name}}")],
            unit="currencyUSD",
            stack=True,
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Unproductive share of spend (trailing 1h)",
            "Σ unproductive spend ÷ Σ spend, per agent: the part of the bill that bought nothing accepted.",
            [target(share("gen_ai_agent_name", sel("agentyield_unproductive_cost_usd_total"), sel("agentyield_cost_usd_total"), HOUR), "{{gen_ai_agent_name}}")],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
        )
    )

    layout.row("Prompt cache")
    ratio_filter = sel("job_agent:agentyield_cache_read_ratio:rate1h")
    layout.add(
        timeseries(
            "Cache-read ratio vs its 7-day baseline",
            "cache_read ÷ (input + cache_read + cache_write) tokens, per agent, over the last hour (solid) and the last "
            "7 days (dashed), from the recording rules in collector-config/prometheus/rules.yml. A drop below the "
            "baseline usually means a prompt change broke the cached prefix.",
            [
                target(ratio_filter, "{{gen_ai_agent_name}} · 1h"),
                target(sel("job_agent:agentyield_cache_read_ratio:rate7d"), "{{gen_ai_agent_name}} · 7d baseline", "B"),
            ],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
            overrides=[
                {
                    "matcher": {"id": "byFrameRefID", "options": "B"},
                    "properties": [{"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}}],
                }
            ],
        )
    )
    layout.add(
        timeseries(
            "Cache savings by agent, gross and net (USD per hour)",
            "Gross: what cache reads saved, cache-read tokens × (uncached input rate − cache-read rate) "
            "(agentyield.cache.savings.usd). Net: gross minus what cache writes cost above the uncached rate "
            "(agentyield.cache.write_premium.usd). Net below zero means caching costs more than it saves.",
            [
                target(per_hour("gen_ai_agent_name", sel("agentyield_cache_savings_usd_total")), "{{gen_ai_agent_name}} · gross"),
                target(
                    f'{per_hour("gen_ai_agent_name", sel("agentyield_cache_savings_usd_total"))} - '
                    f'({per_hour("gen_ai_agent_name", sel("agentyield_cache_write_premium_usd_total"))} '
                    f'or {per_hour("gen_ai_agent_name", sel("agentyield_cache_savings_usd_total"))} * 0)',
                    "{{gen_ai_agent_name}} · net",
                    "B",
                ),
            ],
            unit="currencyUSD",
            links=agent_links(),
        )
    )

    layout.row("Tokens and tasks")
    layout.add(
        timeseries(
            "Tokens by kind (tokens per second)",
            "Disjoint token kinds (input = uncached input, cache_read, cache_write, output) that add up to the billed tokens (agentyield.tokens).",
            [target(summed_rate("agentyield_token_kind", sel("agentyield_tokens_total"), RATE), "{{agentyield_token_kind}}")],
            unit="suffix: tok/s",
            stack=True,
        )
    )
    layout.add(
        timeseries(
            "Tasks by outcome (per hour)",
            "Finished tasks by outcome (agentyield.tasks): success, failure (also an exception that left no outcome), unknown.",
            [target(per_hour("agentyield_task_outcome", sel("agentyield_tasks_total")), "{{agentyield_task_outcome}}")],
            unit="short",
            stack=True,
        )
    )
    layout.add(
        timeseries(
            "Task success rate by agent and task (trailing 1h)",
            "Σ successful tasks ÷ Σ finished tasks, per agent and task name.",
            [
                target(
                    share("gen_ai_agent_name, agentyield_task_name", sel("agentyield_tasks_total", 'agentyield_task_outcome="success"'), sel("agentyield_tasks_total"), HOUR),
                    "{{gen_ai_agent_name}} · {{agentyield_task_name}}",
                )
            ],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
        ),
        width=24,
    )

    layout.row("Reliability and blind spots")
    layout.add(
        timeseries(
            "Tool error rate by agent and tool",
            "Σ failed tool calls ÷ Σ tool calls (agentyield.tool.calls; failed = ERROR status or error.type). "
            "Click a series for the failed calls in Jaeger.",
            [
                target(
                    share("gen_ai_agent_name, gen_ai_tool_name", sel("agentyield_tool_calls_total", 'agentyield_tool_error="true"'), sel("agentyield_tool_calls_total"), RATE),
                    "{{gen_ai_agent_name}} · {{gen_ai_tool_name}}",
                )
            ],
            unit="percentunit",
            max_value=1,
            links=tool_links(),
        )
    )
    layout.add(
        timeseries(
            "Calls that could not be priced (per hour)",
            "LLM calls with no known price or no usage (agentyield.llm.calls, priced=\"false\"), by requested model; they add "
            "no cost, so spend is a lower bound while this is above zero. Also: tasks whose cost is unknown because of such a call.",
            [
                target(per_hour("gen_ai_agent_name, gen_ai_request_model", sel("agentyield_llm_calls_total", 'agentyield_priced="false"')), "{{gen_ai_agent_name}} · {{gen_ai_request_model}}"),
                target(per_hour("gen_ai_agent_name, agentyield_task_name", sel("agentyield_tasks_cost_unknown_total")), "tasks with unknown cost: {{gen_ai_agent_name}} · {{agentyield_task_name}}", "B"),
            ],
            unit="short",
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Unpriced share of calls (trailing 1h)",
            "Σ unpriced calls ÷ Σ calls, per agent. Add the missing models to a price file (AGENTYIELD_PRICES) to bring it to 0.",
            [target(share("gen_ai_agent_name", sel("agentyield_llm_calls_total", 'agentyield_priced="false"'), sel("agentyield_llm_calls_total"), HOUR), "{{gen_ai_agent_name}}")],
            unit="percentunit",
            max_value=1,
            links=agent_links(),
        )
    )
    layout.add(
        timeseries(
            "Streams without usage (calls per hour)",
            "Calls whose span reported no token usage (agentyield.usage.missing), typically streams opened without "
            "stream_options.include_usage: they are not priced, so their spend is invisible. Calls whose input is smaller "
            "than their cache tokens are counted apart, in agentyield_usage_inconsistent_total (usually always 0).",
            [target(per_hour("gen_ai_agent_name, gen_ai_response_model", sel("agentyield_usage_missing_total")), "{{gen_ai_agent_name}} · {{gen_ai_response_model}}")],
            unit="short",
            links=agent_links(),
        )
    )

    agent_panels(layout)

    return {
        "uid": "agent-yield",
        "title": "Agent yield",
        "description": "agentyield: AI agents measured by the work they finish (cost per accepted artifact, cache-read ratio, "
        "unproductive spend). Metric definitions: docs/metrics.md.",
        "tags": ["agentyield", "genai", "opentelemetry"],
        "editable": True,
        "graphTooltip": 1,
        "refresh": "30s",
        "schemaVersion": 39,
        "version": 1,
        "time": {"from": "now-3h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "links": [
            {
                "title": "Jaeger UI: traces of ${job}",
                "type": "link",
                "icon": "external link",
                "url": jaeger_search(),
                "targetBlank": True,
                "tooltip": "Search the Jaeger UI for this service's traces",
            },
            {
                "title": "Explore traces of ${job}",
                "type": "link",
                "icon": "dashboard",
                "url": explore_jaeger(),
                "targetBlank": False,
                "tooltip": "Search the Jaeger data source in Grafana Explore",
            },
        ],
        "templating": {
            "list": [
                {
                    "name": "job",
                    "label": "Job (service)",
                    "type": "query",
                    "datasource": PROMETHEUS,
                    "definition": "label_values(agentyield_llm_calls_total, job)",
                    "query": "label_values(agentyield_llm_calls_total, job)",
                    "refresh": 2,
                    "sort": 1,
                    "multi": False,
                    "includeAll": False,
                    "current": {},
                    "options": [],
                    "hide": 0,
                },
                {
                    "name": "agent",
                    "label": "Agent",
                    "type": "query",
                    "datasource": PROMETHEUS,
                    "definition": 'label_values(agentyield_llm_calls_total{job=~"$job"}, gen_ai_agent_name)',
                    "query": 'label_values(agentyield_llm_calls_total{job=~"$job"}, gen_ai_agent_name)',
                    "refresh": 2,
                    "sort": 1,
                    "multi": True,
                    "includeAll": True,
                    "allValue": ".*",
                    "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
                    "options": [],
                    "hide": 0,
                },
            ]
        },
        "annotations": {"list": []},
        "panels": layout.panels,
    }


def render() -> str:
    return json.dumps(build(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if argv[1:] == ["--check"]:
        if OUTPUT.read_text(encoding="utf-8") != text:
            print(f"{OUTPUT} is out of date: run python {Path(__file__).as_posix()}", file=sys.stderr)
            return 1
        return 0
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
