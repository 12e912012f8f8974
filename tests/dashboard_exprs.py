"""The PromQL expressions of the "Agent yield" Grafana dashboard, with Grafana's variables substituted, for tests
that check them statically (tests/test_stack_config.py) or run them against a real Prometheus.

    dashboard_expressions({"job": "agentyield-test", "__rate_interval": "1m"})
    -> [(panel title, expr), ...] in dashboard order, one per query of each panel

Variables not given take DEFAULTS: every job and agent, a 1m rate interval, a 1h range. Keys may be written
with or without the `$` ("job" or "$job"). An expression naming a variable without a value raises KeyError.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, Iterator

ROOT = Path(__file__).resolve().parents[1]
DASHBOARD = ROOT / "collector-config" / "grafana" / "dashboards" / "agent-yield.json"

DEFAULTS = {"job": ".*", "agent": ".*", "__rate_interval": "1m", "__interval": "15s", "__range": "1h"}

# $name, ${name} and ${name:format}
VARIABLE = re.compile(r"\$(?:\{(?P<braced>\w+)(?::\w+)?\}|(?P<bare>\w+))")


def load_dashboard(path: Path = DASHBOARD) -> dict[str, Any]:
    return json.loads(path.read_text(encoding="utf-8"))


def iter_panels(dashboard: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, with the panels of collapsed rows."""
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def variables_in(text: str) -> set[str]:
    return {m.group("braced") or m.group("bare") for m in VARIABLE.finditer(text)}


def substitute(expr: str, values: dict[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group("braced") or match.group("bare")
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return VARIABLE.sub(replace, expr)


def dashboard_expressions(substitutions: dict[str, str]) -> list[tuple[str, str]]:
    """(panel title, expr) for every query of every panel, `$job`, `$agent`, `$__rate_interval`, `$__interval` and
    `$__range` replaced by the given values (or DEFAULTS)."""
    values = dict(DEFAULTS)
    values.update({key.lstrip("$").strip("{}"): value for key, value in substitutions.items()})
    out = []
    for panel in iter_panels(load_dashboard()):
        for target in panel.get("targets", []):
            if target.get("expr"):
                out.append((panel["title"], substitute(target["expr"], values)))
    return out
