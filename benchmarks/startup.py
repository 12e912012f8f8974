#!/usr/bin/env python
"""What `import agentyield; agentyield.instrument()` adds to a process's start-up, in fresh interpreters.

    python benchmarks/startup.py             # 7 runs of each case (~10 min on 2 loaded cores)
    python benchmarks/startup.py --runs 3    # quicker, noisier
    python benchmarks/startup.py --json      # also one JSON line with every figure

    sys.path.insert(0, "benchmarks"); from startup import measure
    measure(runs=7, python=sys.executable, env=None) -> {"instrument_added_ms": ..., ...}   # see measure()

Each run is a new interpreter (`python -c`), timed from its first statement, so the interpreter's own start
is in no figure; each step is timed in wall time and in the main thread's CPU time (`thread_time`). The cases
run interleaved, order rotated per run; each figure is a median over runs. The cases (`CASES`):

  bare              `import opentelemetry.sdk`: the baseline of issue 12
  one_line          `import agentyield; agentyield.instrument()` (the embedded default, in a temporary
                    directory). It returns before the span processor is built and genai-prices' data is
                    loaded: a thread does that (`agentyield/_deferred.py`); `settle` waits for the thread
  sdk_providers     the OpenTelemetry SDK's tracer and meter providers, imported and made: what any
                    OpenTelemetry application pays, and the bulk of the one line's own time
  providers_given   the same, then `import agentyield; instrument(tracer_provider=..., meter_provider=...)`:
                    agentyield's own share (how the peers' start-up is usually measured)
  <sdk>_plain       `import openai` / `import anthropic` after loading, without instrumenting, the modules
                    the one line and its thread load; against <sdk>_settled (the one line, its thread done)
                    that is what the import hooks and the wrapping add to the SDK's import; <sdk>_racing
                    imports right after the one line, while the thread still loads (both need the GIL)
  call_*            the first chat completion (openai SDK, in-process MockTransport: the answer comes back at
                    once) plain, right after the one line (racing), and once the thread is done (settled).
                    An answer that comes back at once waits for what is left of the thread's work; a real
                    model's answer takes longer than that work

Absolute numbers move with the machine's load (ranges of 2x on a shared machine); compare within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from typing import Any, Mapping

__all__ = ["CASES", "measure"]


BASELINE = "import opentelemetry.sdk"
ONE_LINE = "import agentyield; agentyield.instrument()"
SDK_PROVIDERS = (
    "from opentelemetry.sdk.metrics import MeterProvider; from opentelemetry.sdk.trace import TracerProvider; "
    "tracer_provider, meter_provider = TracerProvider(), MeterProvider()"
)
GIVEN = "import agentyield; agentyield.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider)"
SETTLE = "import threading; [t.join() for t in threading.enumerate() if t.name == 'agentyield-warm']"
PRELOADED = (  # what the one line and its thread import, without instrumenting: the same start for `import <sdk>`
    "import agentyield, agentyield._setup, agentyield.processors._processor, opentelemetry.sdk.trace.export, "
    "opentelemetry.sdk.metrics.export; from genai_prices import data_snapshot; data_snapshot.get_snapshot()"
)
CLIENT = """
import json, openai
body = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris."}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 20, "completion_tokens": 2, "total_tokens": 22}}).encode()
hx = getattr(openai._base_client, "httpx2", None) or openai._base_client.httpx
client = openai.OpenAI(api_key="sk-test", max_retries=0, http_client=hx.Client(transport=hx.MockTransport(
    lambda request: hx.Response(200, content=body, headers={"content-type": "application/json"}))))
"""
CALL = 'client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "Capital of France?"}])'

CASES: dict[str, tuple[tuple[str, str], ...]] = {
    # case: its steps in order, (name, code); each step is timed
    "bare": (("start", BASELINE),),
    "one_line": (("start", ONE_LINE), ("settle", SETTLE)),
    "sdk_providers": (("sdk", SDK_PROVIDERS), ("start", "pass")),
    "providers_given": (("sdk", SDK_PROVIDERS), ("start", GIVEN), ("settle", SETTLE)),
    "openai_plain": (("start", BASELINE), ("preload", PRELOADED), ("import", "import openai")),
    "openai_settled": (("start", ONE_LINE), ("settle", SETTLE), ("import", "import openai")),
    "openai_racing": (("start", ONE_LINE), ("import", "import openai")),
    "anthropic_plain": (("start", BASELINE), ("preload", PRELOADED), ("import", "import anthropic")),
    "anthropic_settled": (("start", ONE_LINE), ("settle", SETTLE), ("import", "import anthropic")),
    "anthropic_racing": (("start", ONE_LINE), ("import", "import anthropic")),
    "call_plain": (("start", BASELINE), ("client", CLIENT), ("call", CALL)),
    "call_racing": (("start", ONE_LINE), ("client", CLIENT), ("call", CALL)),
    "call_settled": (("start", ONE_LINE), ("client", CLIENT), ("settle", SETTLE), ("call", CALL)),
}

_STEP = """
_w, _c = _t.perf_counter(), _t.thread_time()
{code}
_out["{name}_ms"], _out["{name}_cpu_ms"] = (_t.perf_counter() - _w) * 1e3, (_t.thread_time() - _c) * 1e3
"""


def _run(python: str, case: str, directory: str, extra_env: Mapping[str, str]) -> dict[str, float]:
    code = "import time as _t\n_out = {}\n" + "".join(_STEP.format(name=name, code=step) for name, step in CASES[case])
    code += "_out['total_ms'] = sum(v for k, v in _out.items() if k.endswith('_ms') and not k.endswith('cpu_ms'))\n"
    code += "_out['process_cpu_ms'] = _t.process_time() * 1e3\nimport json; print(json.dumps(_out))\n"
    # PYTHONDONTWRITEBYTECODE would keep the warm-up run from writing the bytecode caches: every run would compile
    # agentyield's source (an editable install), which an installed package never does.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "AGENTYIELD_")) and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(extra_env, AGENTYIELD_DIR=directory)
    result = subprocess.run([python, "-c", code], capture_output=True, text=True, env=env, cwd=directory, timeout=300)
    if result.returncode != 0:
        raise RuntimeError(f"{case} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 1)


def measure(runs: int = 7, python: str = sys.executable, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Medians over `runs` fresh interpreters of `python` (with agentyield installed), in ms. Per case and step:
    `<case>.<step>_ms` (wall) and `<case>.<step>_cpu_ms` (that thread's CPU), `<case>.total_ms`, and
    `<case>.process_cpu_ms` (all threads, from the interpreter's start). Derived (medians of per-run
    differences where two cases are compared):
      instrument_added_ms / _cpu_ms     the one line, against `import opentelemetry.sdk`
      instrument_own_ms / _cpu_ms       `import agentyield; instrument(<providers given>)`: agentyield's own share
      warm_cpu_ms                       the background thread's CPU (builds the processor, loads the price data)
      import_<sdk>_added_ms             `import <sdk>` after the one line settled, against the same modules loaded
                                        without instrumenting (what the import hooks and wrapping add)
      to_<sdk>_added_ms                 start to `<sdk>` imported with the one line first, against without it
      first_call_added_ms / _settled_ms the first call (instant answer) after the one line, racing or settled
    `env`: added to each interpreter's environment (e.g. `PYTHONPATH` to measure another copy of agentyield).
    One warm-up run of each case first (bytecode caches), not counted."""
    names = tuple(CASES)
    samples: dict[str, list[dict[str, float]]] = {case: [] for case in names}
    with tempfile.TemporaryDirectory(prefix="agentyield-startup-") as directory:
        for case in names:
            _run(python, case, directory, env or {})
        for index in range(runs):
            for case in names[index % len(names):] + names[: index % len(names)]:
                samples[case].append(_run(python, case, directory, env or {}))
    out: dict[str, Any] = {"runs": runs}
    for case, runs_of_case in samples.items():
        for key in runs_of_case[0]:
            out[f"{case}.{key}"] = _median([sample[key] for sample in runs_of_case])

    def diff(case: str, key: str, plain: str, plain_key: str) -> float:
        return _median([a[key] - b[plain_key] for a, b in zip(samples[case], samples[plain])])

    out["instrument_added_ms"] = diff("one_line", "start_ms", "bare", "start_ms")
    out["instrument_added_cpu_ms"] = diff("one_line", "start_cpu_ms", "bare", "start_cpu_ms")
    out["instrument_own_ms"] = out["providers_given.start_ms"]
    out["instrument_own_cpu_ms"] = out["providers_given.start_cpu_ms"]
    out["warm_cpu_ms"] = diff("one_line", "process_cpu_ms", "bare", "process_cpu_ms") - out["one_line.start_cpu_ms"]
    for sdk in ("openai", "anthropic"):
        out[f"import_{sdk}_added_ms"] = diff(f"{sdk}_settled", "import_ms", f"{sdk}_plain", "import_ms")
        out[f"to_{sdk}_added_ms"] = _median([a["start_ms"] + a["import_ms"] - b["start_ms"] - b["import_ms"]
                                              for a, b in zip(samples[f"{sdk}_racing"], samples[f"{sdk}_plain"])])
    out["first_call_added_ms"] = diff("call_racing", "call_ms", "call_plain", "call_ms")
    out["first_call_added_settled_ms"] = diff("call_settled", "call_ms", "call_plain", "call_ms")
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    r = measure(args.runs)
    print(f"start-up, medians of {args.runs} fresh interpreters per case (ms; cpu = the main thread's)")
    print(f"  import agentyield; agentyield.instrument()    adds {r['instrument_added_ms']:6.1f} wall, {r['instrument_added_cpu_ms']:6.1f} cpu "
          f"against `import opentelemetry.sdk` (target: at most 35 ms)")
    print(f"    of which setting up the SDK's providers      {r['sdk_providers.sdk_ms']:6.1f} wall, {r['sdk_providers.sdk_cpu_ms']:6.1f} cpu (what any OpenTelemetry application pays)")
    print(f"  with the application's providers given        {r['instrument_own_ms']:6.1f} wall, {r['instrument_own_cpu_ms']:6.1f} cpu (agentyield's own share)")
    print(f"  then, on its thread                           {r['warm_cpu_ms']:6.1f} cpu (span processor built, genai-prices' data loaded)")
    for sdk in ("openai", "anthropic"):
        print(f"  import {sdk:10} after it adds                {r[f'import_{sdk}_added_ms']:6.1f} wall (plain: {r[f'{sdk}_plain.import_ms']:.1f}); "
              f"start to {sdk} imported: {r[f'to_{sdk}_added_ms']:+.1f}")
    print(f"  first call, answered at once, adds            {r['first_call_added_ms']:6.1f} wall right after start, "
          f"{r['first_call_added_settled_ms']:.1f} once the thread is done (plain: {r['call_plain.call_ms']:.1f})")
    if args.json:
        print(json.dumps(r))
    return 0


if __name__ == "__main__":
    sys.exit(main())
