#!/usr/bin/env python
"""One fresh interpreter's start-up with one contender (or none: `--contender plain`), as one JSON object.

    <venv>/bin/python benchmarks/bench_startup.py --contender agentyield

In order, each step timed: the OpenTelemetry SDK providers (not counted, every process pays them alike);
importing the contender and instrumenting; `import openai`; `import anthropic`; the first OpenAI call (client
made, response back); the first Anthropic call. Also which client SDK modules were loaded right after
instrumenting, before the application imported any SDK. `--contender agentyield-default` is agentyield's
real one line, `agentyield.instrument()` with no providers (the embedded default, in a temporary directory).

agentyield's source in this checkout is compiled to bytecode first, untimed, as `pip install` does for an
installed package and for every peer: an editable install under `PYTHONDONTWRITEBYTECODE=1` would otherwise
compile every module of ours on each start (that doubled the one line's CPU time).
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import sys
import tempfile
import time
from pathlib import Path

SOURCE = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contender", required=True)
    args = parser.parse_args()
    name = args.contender
    for package in ("agentyield", "processors", "instrumentation"):  # bytecode written even under PYTHONDONTWRITEBYTECODE
        compileall.compile_dir(SOURCE / package, quiet=2)
    started = time.perf_counter()

    import bench_contenders as bc

    os.environ.update(bc.CONTENT_OFF)
    os.chdir(tempfile.mkdtemp(prefix="agentyield-bench-"))
    if name != "agentyield-default":
        tracer_provider, meter_provider, _, _ = bc.providers()
    out: dict[str, object] = {"contender": name, "setup_ms": (time.perf_counter() - started) * 1000}

    def step(what: str, fn: object) -> None:
        """Wall time, and this thread's CPU time (less moved by a busy machine; a background thread's excluded)."""
        t, cpu = time.perf_counter(), time.thread_time()
        fn()  # type: ignore[operator]
        out[what] = (time.perf_counter() - t) * 1000
        out[what.replace("_ms", "_cpu_ms")] = (time.thread_time() - cpu) * 1000

    if name == "agentyield-default":
        def one_line() -> None:
            import agentyield

            agentyield.instrument()
        step("instrument_ms", one_line)
    elif name != "plain":
        step("instrument_ms", lambda: bc.instrument(name, tracer_provider, meter_provider))
    else:
        out["instrument_ms"] = out["instrument_cpu_ms"] = 0.0
    loaded = [m for m in sys.modules if m.split(".")[0] in ("openai", "anthropic")]
    out["sdk_modules_after_instrument"] = len(loaded)
    out["sdks_after_instrument"] = sorted({m.split(".")[0] for m in loaded})
    step("import_openai_ms", lambda: __import__("openai"))
    step("import_anthropic_ms", lambda: __import__("anthropic"))

    import bench_sdk

    step("first_openai_ms", lambda: bench_sdk.call(bench_sdk.client("openai"), "openai"))
    step("first_anthropic_ms", lambda: bench_sdk.call(bench_sdk.client("anthropic"), "anthropic"))
    out["total_ms"] = (time.perf_counter() - started) * 1000 - float(out["setup_ms"])  # type: ignore[arg-type]
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
