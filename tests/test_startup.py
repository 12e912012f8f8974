"""Start-up never breaks the host: environment variables warn and are ignored; explicit arguments raise.

The rule (agentyield/_setup.py): a wrong argument to `instrument()` raises at the call; a wrong environment
variable is one warning and the agent runs without that feature; what the machine does (a port in use) is
one warning either way. Each case runs the real agent in its own process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from process_util import AGENT, CALL_COST, agent_env, metric_names, run_agent, spans

# `import prometheus_client` fails in the agent exactly as when the extra is not installed.
WITHOUT_PROMETHEUS_EXTRA = "import runpy, sys; sys.modules['prometheus_client'] = None; sys.argv = {argv!r}; runpy.run_path({agent!r}, run_name='__main__')"


def agentyield_warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("agentyield:")]


def busy_port() -> socket.socket:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    return taken


def run_without_prometheus_extra(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    code = WITHOUT_PROMETHEUS_EXTRA.format(argv=[AGENT, *args], agent=AGENT)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


def assert_ran_and_priced(result: subprocess.CompletedProcess[str], directory: Path, warning: str) -> None:
    assert result.returncode == 0, result.stderr
    assert result.stdout == "done\n"
    assert [w for w in agentyield_warnings(result.stderr)] == [warning]
    chat = next(s for s in spans(directory) if s["name"].startswith("chat "))
    assert chat["attributes"]["agentyield.cost.usd"] == pytest.approx(CALL_COST, abs=1e-12)
    assert "agentyield.artifact.cost.usd" in metric_names(directory)


def test_prometheus_port_variable_without_the_extra_warns_and_runs(tmp_path: Path) -> None:
    result = run_without_prometheus_extra(agent_env(tmp_path, AGENTYIELD_PROMETHEUS_PORT="9464"), "--instrument")
    assert_ran_and_priced(result, tmp_path, "agentyield: ignoring AGENTYIELD_PROMETHEUS_PORT='9464': the prometheus extra is not "
                          "installed (pip install 'agentyield[prometheus]'); no metrics endpoint")


def test_prometheus_port_in_use_warns_and_runs(tmp_path: Path) -> None:
    with busy_port() as taken:
        port = taken.getsockname()[1]
        result = run_agent("--instrument", env=agent_env(tmp_path, AGENTYIELD_PROMETHEUS_PORT=str(port)))
    assert_ran_and_priced(result, tmp_path, f"agentyield: cannot serve metrics on 127.0.0.1:{port} (Address already in use); "
                          "running without the metrics endpoint")


@pytest.mark.parametrize(
    ("variables", "warning"),
    [
        ({"AGENTYIELD_PROMETHEUS_PORT": "94x64"}, "agentyield: ignoring AGENTYIELD_PROMETHEUS_PORT='94x64': not a port number; no metrics endpoint"),
        ({"AGENTYIELD_PROMETHEUS_PORT": "70000"}, "agentyield: ignoring AGENTYIELD_PROMETHEUS_PORT='70000': not a port number; no metrics endpoint"),
        ({"AGENTYIELD_PRICES": "/nonexistent/prices.yaml"},
         "agentyield: ignoring AGENTYIELD_PRICES='/nonexistent/prices.yaml': /nonexistent/prices.yaml: cannot read price file: "
         "No such file or directory; using genai-prices only"),
        ({"AGENTYIELD_SHUTDOWN_TIMEOUT": "soon"}, "agentyield: ignoring AGENTYIELD_SHUTDOWN_TIMEOUT='soon': not a number of seconds; using 5"),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:9", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc",
          "OTEL_EXPORTER_OTLP_TIMEOUT": "ten"},
         "agentyield: cannot set up the OTLP traces exporter from the environment (could not convert string to float: 'ten'); "
         "writing to the embedded default instead"),
    ],
)
def test_a_bad_environment_variable_is_one_warning(tmp_path: Path, variables: dict[str, str], warning: str) -> None:
    result = run_agent("--instrument", env=agent_env(tmp_path, **variables))
    assert_ran_and_priced(result, tmp_path, warning)


def run_code(code: str, directory: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120, env=agent_env(directory))


@pytest.mark.parametrize(
    ("call", "error"),
    [
        ("prometheus_port='9464'", "ValueError: prometheus_port='9464' is not a port number (an int from 0 to 65535)"),
        ("prometheus_port=-1", "ValueError: prometheus_port=-1 is not a port number (an int from 0 to 65535)"),
        ("prices='/nonexistent/prices.yaml'", "PriceFileError: /nonexistent/prices.yaml: cannot read price file: No such file or directory"),
    ],
)
def test_an_explicit_bad_argument_raises_at_the_call(tmp_path: Path, call: str, error: str) -> None:
    result = run_code(f"import agentyield\nagentyield.instrument({call})", tmp_path)
    assert result.returncode == 1
    assert result.stderr.splitlines()[-1].endswith(error)


def test_an_explicit_port_without_the_extra_names_the_extra(tmp_path: Path) -> None:
    result = run_code("import sys; sys.modules['prometheus_client'] = None\nimport agentyield\nagentyield.instrument(prometheus_port=9464)", tmp_path)
    assert result.stderr.splitlines()[-1] == "ImportError: prometheus_port needs the prometheus extra: pip install 'agentyield[prometheus]'"


def test_an_explicit_port_in_use_is_a_warning_too(tmp_path: Path) -> None:
    with busy_port() as taken:
        port = taken.getsockname()[1]
        result = run_code(f"import agentyield\nagentyield.instrument(prometheus_port={port})\nprint('running')", tmp_path)
    assert (result.returncode, result.stdout) == (0, "running\n"), result.stderr
    assert agentyield_warnings(result.stderr) == [f"agentyield: cannot serve metrics on 127.0.0.1:{port} (Address already in use); "
                                                  "running without the metrics endpoint"]
