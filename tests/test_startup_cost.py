"""What `agentyield.instrument()` costs at start-up, checked in fresh interpreters (how long it takes is measured
by benchmarks/startup.py, never here): it imports no client SDK module, wraps each SDK module when the
application imports it and no sooner, opens no socket at start-up nor on the first call, and loads the price
data on its own thread, so that the first call, even one made while that data is still loading, is priced
exactly like `genai_prices.calc_price` prices it."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from process_util import BIN, agent_env

TESTS = str(Path(__file__).parent)
SDKS = ("openai", "anthropic", "google.genai", "boto3", "botocore", "litellm", "mcp", "agents", "pydantic_ai")


def installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


INSTALLED = [name for name in SDKS if installed(name)]

PREAMBLE = f"""
import json, sys, threading
sys.path.insert(0, {TESTS!r})
SDKS = {SDKS!r}
def sdk_modules():
    return sorted(m for m in sys.modules if any(m == s or m.startswith(s + ".") for s in SDKS))
def settle():  # wait for agentyield's start-up thread (building the span processor, loading the price data)
    for thread in threading.enumerate():
        if thread.name == "agentyield-warm":
            thread.join()
"""

# The application answers through the SDKs' own mock transports: one OpenAI chat completion, one Anthropic message.
CALLS = """
import anthropic, openai
from conftest import sdk_httpx
def transport(sdk, body):
    hx = sdk_httpx(sdk)
    return hx.Client(transport=hx.MockTransport(lambda request: hx.Response(200, json=body)))
CHAT = {"id": "chatcmpl-1", "object": "chat.completion", "created": 1764000000, "model": "gpt-4o-2024-08-06",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 2006, "completion_tokens": 300, "total_tokens": 2306,
                  "prompt_tokens_details": {"cached_tokens": 1920}}}
MESSAGE = {"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5-20250929",
           "content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn", "stop_sequence": None,
           "usage": {"input_tokens": 30, "cache_read_input_tokens": 1000, "output_tokens": 12}}
def call_openai():
    openai.OpenAI(api_key="sk-test", max_retries=0, http_client=transport(openai, CHAT)).chat.completions.create(
        model="gpt-4o", messages=[{"role": "user", "content": "Capital of France?"}])
def call_anthropic():
    anthropic.Anthropic(api_key="sk-test", max_retries=0, http_client=transport(anthropic, MESSAGE)).messages.create(
        model="claude-sonnet-4-5", max_tokens=20, messages=[{"role": "user", "content": "Capital of France?"}])
def expected_costs():  # priced by genai-prices itself, independently of agentyield
    from genai_prices import Usage, calc_price
    return [float(calc_price(Usage(input_tokens=2006, cache_read_tokens=1920, output_tokens=300), "gpt-4o-2024-08-06",
                             provider_id="openai").total_price),
            float(calc_price(Usage(input_tokens=1030, cache_read_tokens=1000, output_tokens=12), "claude-sonnet-4-5-20250929",
                             provider_id="anthropic").total_price)]
"""

IN_MEMORY = """
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
def providers():
    exporter, provider = InMemorySpanExporter(), TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return exporter, provider, MeterProvider(metric_readers=[InMemoryMetricReader()])
def costs(exporter):
    return [s.attributes.get("agentyield.cost.usd") for s in exporter.get_finished_spans() if s.instrumentation_scope.name == "agentyield"]
"""


def run(code: str, directory: Path, prefix: tuple[str, ...] = (), **env: str) -> list[object]:
    """Run `code` in a fresh interpreter; each line it prints, parsed as JSON."""
    result = subprocess.run([*prefix, sys.executable, "-c", textwrap.dedent(PREAMBLE) + textwrap.dedent(code)], capture_output=True,
                            text=True, timeout=300, cwd=directory, env=agent_env(directory, **env))
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("way", ["one line", "opentelemetry-instrument"])
def test_instrumenting_imports_no_client_sdk(tmp_path: Path, way: str) -> None:
    """Neither the one line nor `opentelemetry-instrument` imports any client SDK, or any of agentyield's modules
    for one, not even on its start-up thread; until the application imports an SDK, nothing of it is loaded."""
    if way == "one line":
        code, prefix, env = "import agentyield\nagentyield.instrument()\n", (), {}
    else:
        code, prefix = "", (str(BIN / "opentelemetry-instrument"),)
        env = {"OTEL_TRACES_EXPORTER": "none", "OTEL_METRICS_EXPORTER": "none", "OTEL_LOGS_EXPORTER": "none"}
    code += """
settle()
ours = [m for m in sys.modules if m.startswith("agentyield.instrumentation.") and not m.split(".")[-1].startswith("_")]
print(json.dumps([sdk_modules(), ours, "agentyield.instrumentation" in sys.modules]))
"""
    [[sdk_modules, our_sdk_modules, instrumented]] = run(code, tmp_path, prefix, **env)
    assert instrumented  # it did instrument
    assert sdk_modules == []
    assert our_sdk_modules == []


def test_wrapping_waits_for_each_module_the_application_imports(tmp_path: Path) -> None:
    """After `import <sdk>` the instrumented application has loaded exactly the SDK modules it loads without
    agentyield; each is wrapped as it is imported, including one the SDK loads lazily on first use (OpenAI's
    Responses API), which was not loaded before that use."""
    imports = f"""
snapshots = {{}}
for name in {INSTALLED!r}:
    __import__(name)
    snapshots[name] = sdk_modules()
print(json.dumps(snapshots))
"""
    [plain] = run(imports, tmp_path)
    instrumented_code = IN_MEMORY + """
import agentyield
exporter, tracer_provider, meter_provider = providers()
agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
""" + imports + """
from openai_mock import OpenAIMock, clients
sync, _ = clients(OpenAIMock())
lazy = "openai.resources.responses.responses"
before = lazy in sys.modules
sync.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
sync.responses.create(model="gpt-4o", input="hi")
print(json.dumps([before, lazy in sys.modules, [s.name for s in exporter.get_finished_spans()]]))
"""
    instrumented, [responses_loaded_before, responses_loaded_after, names] = run(instrumented_code, tmp_path)
    assert set(plain) == set(INSTALLED) and "openai" in plain
    assert instrumented == plain
    assert (responses_loaded_before, responses_loaded_after) == (False, True)
    assert names == ["chat gpt-4o", "chat gpt-4o"]  # the chat completion, then the Responses API call


def test_no_network_at_start_up_or_on_the_first_call(tmp_path: Path) -> None:
    """With every socket refused from the first line on, the one line (embedded default), the price data and
    the first call of each SDK work and are priced, and nothing tried to open a socket."""
    code = """
import socket
attempts = []
def refuse(*args, **kwargs):
    attempts.append(repr(args))
    raise OSError("network blocked by the test")
class NoSocket(socket.socket):
    def __init__(self, *args, **kwargs):
        refuse(*args)
socket.socket = NoSocket
socket.create_connection = socket.getaddrinfo = socket.socketpair = refuse

import agentyield
agentyield.instrument()
""" + CALLS + """
call_openai()
call_anthropic()
from opentelemetry import trace
trace.get_tracer_provider().force_flush()
print(json.dumps([attempts, expected_costs()]))
"""
    [[attempts, expected]] = run(code, tmp_path)
    assert attempts == []
    from process_util import spans

    costs = [s["attributes"].get("agentyield.cost.usd") for s in spans(tmp_path) if s["name"].startswith("chat ")]
    assert costs == pytest.approx(expected, abs=1e-12)  # written by the embedded default, priced


# Loading a module (genai-prices' data) is made slow (a sleep before it runs, as on a cold disk), so the first call
# certainly comes while it is still loading; the test also records which thread loads it.
SLOW_IMPORT = """
import importlib.abc, importlib.util, time
loading = threading.Event()
loaded_by = []
class SlowLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader
    def create_module(self, spec):
        return self.loader.create_module(spec)
    def exec_module(self, module):
        loaded_by.append(threading.current_thread().name)
        loading.set()
        time.sleep(1.0)
        self.loader.exec_module(module)
class SlowFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != SLOW_MODULE:
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        spec.loader = SlowLoader(spec.loader)
        return spec
sys.meta_path.insert(0, SlowFinder())
"""
SLOW_PRICE_DATA = 'SLOW_MODULE = "genai_prices.data"\n' + SLOW_IMPORT


def test_the_first_call_is_priced_exactly_while_the_price_data_loads(tmp_path: Path) -> None:
    """The price data loads on agentyield's thread, not on the call path; a first call made while it is still
    loading waits for it and is priced exactly (equal to `calc_price`), not left unpriced."""
    code = SLOW_PRICE_DATA + IN_MEMORY + CALLS + """
import agentyield
exporter, tracer_provider, meter_provider = providers()
agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
loading.wait(60)
call_openai()
call_anthropic()
print(json.dumps([loaded_by, costs(exporter), expected_costs()]))
"""
    [[loaded_by, costs, expected]] = run(code, tmp_path)
    assert loaded_by == ["agentyield-warm"]
    assert costs == expected  # to the last digit


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="no fork() on this platform")
def test_a_fork_while_the_price_data_loads_leaves_the_child_working(tmp_path: Path) -> None:
    """A module half-imported by agentyield's thread at the moment of a fork would stay locked in the child
    forever; the fork waits for the thread instead, and the child's first call is priced."""
    code = SLOW_PRICE_DATA + IN_MEMORY + CALLS + """
import os
import agentyield
exporter, tracer_provider, meter_provider = providers()
agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
loading.wait(60)
pid = os.fork()
if pid == 0:
    call_openai()
    os._exit(0 if costs(exporter) == expected_costs()[:1] else 3)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    done, status = os.waitpid(pid, os.WNOHANG)
    if done:
        break
    time.sleep(0.05)
else:
    os.kill(pid, 9)
    status = None
print(json.dumps(os.WEXITSTATUS(status) if status is not None else "deadlocked"))
"""
    assert run(code, tmp_path) == [0]


def test_instrumenting_again_before_the_import_wraps_with_the_new_providers_only(tmp_path: Path) -> None:
    """A hook left by an instrument() that was undone before the application imported the SDK stands down."""
    code = IN_MEMORY + """
import agentyield
first, tracer_provider, meter_provider = providers()
agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
agentyield.uninstrument()
second, tracer_provider, meter_provider = providers()
agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)
""" + CALLS + """
call_openai()
agentyield.uninstrument()
call_openai()
print(json.dumps([len(costs(first)), len(costs(second))]))
"""
    assert run(code, tmp_path) == [[0, 1]]


def test_the_one_line_leaves_the_metrics_sdk_to_its_thread(tmp_path: Path) -> None:
    """The one line (embedded default) imports the OpenTelemetry metrics SDK and makes its meter provider on its
    start-up thread, not the caller's; that provider becomes the global one and writes the derived metrics."""
    code = """
import importlib.abc
loaded_by = []
class Recorder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "opentelemetry.sdk.metrics":
            loaded_by.append(threading.current_thread().name)
sys.meta_path.insert(0, Recorder())
import agentyield
agentyield.instrument()
""" + CALLS + """
call_openai()
settle()
from opentelemetry import metrics
provider = metrics.get_meter_provider()
provider.force_flush()
print(json.dumps([loaded_by, type(provider).__module__]))
"""
    [[loaded_by, provider_module]] = run(code, tmp_path)
    assert loaded_by == ["agentyield-warm"]
    assert provider_module == "opentelemetry.sdk.metrics._internal"
    from process_util import metric_names

    assert "agentyield.llm.calls" in metric_names(tmp_path)


def test_an_application_setting_its_meter_provider_while_the_thread_works_gets_the_metrics(tmp_path: Path) -> None:
    """An application that sets its global meter provider after the one line, while agentyield's thread is still
    making its own, gets its own provider used (as if it had set it first): the derived metrics go there,
    agentyield's provider is dropped without writing anything, and no warning says a provider was refused."""
    code = 'SLOW_MODULE = "agentyield._meters"\n' + SLOW_IMPORT + CALLS + """
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
import agentyield
agentyield.instrument()
loading.wait(60)
reader = InMemoryMetricReader()
mine = MeterProvider(metric_readers=[reader])
metrics.set_meter_provider(mine)
call_openai()
settle()
data = reader.get_metrics_data()
names = sorted({m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics})
print(json.dumps([loaded_by, metrics.get_meter_provider() is mine, "agentyield.llm.calls" in names]))
"""
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(PREAMBLE) + code], capture_output=True, text=True, timeout=300,
                            cwd=tmp_path, env=agent_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == [["agentyield-warm"], True, True]
    assert result.stderr == ""  # no "Overriding of current MeterProvider is not allowed"
    assert not (tmp_path / "metrics.jsonl").exists()
