#!/usr/bin/env python
"""Instructions per call, counted by callgrind: the deterministic before/after of agentyield's hot path.

    bench_instructions.py --contender agentyield --calls 40      # runs itself under valgrind, prints JSON

On a shared machine the timed per-call figures move by several percent between processes (a busy neighbour, a
process's memory layout), which is as large as the change a commit makes to the hot path. The number of
instructions a call executes does not move: the same calls, measured the same way, count the same. So
`run.py` also measures agentyield and its baseline this way: in one process under callgrind, `--calls` single
floor spans, then each SDK's call uninstrumented and instrumented (the `Switch`), each block counted on its own
(callgrind's counters zeroed before it and dumped after it, from this process through `callgrind_control`, and
an empty block likewise, whose count is subtracted). Then the same calls again inside one `task()`, as an agent's
calls run (the uninstrumented ones too): what a task adds to each call, its request fingerprint and accounts.
Added instructions = instrumented block − uninstrumented block, per call. Instructions are not time (a cache
miss costs more than an instruction), so this complements the timed figures rather than replacing them.
"""

from __future__ import annotations

import argparse
import gc
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from typing import Any, Callable

SDKS = ("openai", "anthropic")


def _control(*args: str) -> None:
    subprocess.run(["callgrind_control", *args, str(os.getpid())], check=True, capture_output=True)


def measure(contender: str, calls: int) -> list[str]:
    """Inside callgrind: run each block, dumping the counters after each; the block names, in dump order."""
    import agentyield
    import bench_contenders as bc
    import bench_sdk

    os.environ.update(bc.CONTENT_OFF)
    tracer_provider, meter_provider, _, _ = bc.providers()
    tracer = bc.floor_tracer()
    clients = {sdk: bench_sdk.client(sdk) for sdk in SDKS}
    for sdk, client in clients.items():
        bench_sdk.call(client, sdk)
    before = bc.Switch.snapshot()
    bc.instrument(contender, tracer_provider, meter_provider)
    switch = bc.Switch(before)
    for sdk, client in clients.items():  # warm both ways: imports, memos, price data
        for on in (True, False, True):
            switch.set(on)
            for _ in range(5):
                bench_sdk.call(client, sdk)
    calls_of = [(f"{sdk}.{'on' if on else 'off'}", on, lambda client=client, sdk=sdk: bench_sdk.call(client, sdk))
                for sdk, client in clients.items() for on in (False, True)]
    gc.collect()
    gc.disable()  # a collection would land in one block only
    _control("-i", "on")
    names = _count([("floor", None, lambda: bc.floor(tracer)), *calls_of], switch, calls)
    switch.set(True)  # the task's own span is agentyield's
    with agentyield.task("bench"):
        names += _count([(f"task.{name}", on, fn) for name, on, fn in calls_of], switch, calls)
    return names


def _count(blocks: list[tuple[str, bool | None, Callable[[], object]]], switch: Any, calls: int) -> list[str]:
    """Count each block: `calls` calls, and an empty block, whose count (the zeroing and dumping themselves) is
    subtracted. The block names, in dump order."""
    names = []
    for name, on, fn in blocks:
        if on is not None:
            switch.set(on)
        fn()
        for count in (0, calls):
            _control("-z")
            for _ in range(count):
                fn()
            _control("-d")
            names.append(f"{name}:{count}")
    return names


def _total(path: str) -> int:
    with open(path, encoding="utf-8") as dump:
        found = re.search(r"^totals: (\d+)", dump.read(), re.M)
    if found is None:
        raise RuntimeError(f"{path}: no totals line")
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contender", required=True)
    parser.add_argument("--calls", type=int, default=40)
    parser.add_argument("--inside", help=argparse.SUPPRESS)  # the dump directory, when running under callgrind
    args = parser.parse_args()
    if args.inside:
        print(json.dumps(measure(args.contender, args.calls)))
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print(json.dumps({"contender": args.contender, "skipped": "valgrind is not installed"}))
        return 0
    with tempfile.TemporaryDirectory(prefix="agentyield-callgrind-") as directory:
        done = subprocess.run(
            ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={directory}/cg.%p",
             sys.executable, __file__, "--contender", args.contender, "--calls", str(args.calls), "--inside", directory],
            capture_output=True, text=True, cwd=os.path.dirname(os.path.abspath(__file__)),
        )
        if done.returncode != 0:
            print(done.stderr[-3000:], file=sys.stderr)
            return 1
        names = json.loads(done.stdout.strip().splitlines()[-1])
        dumps = sorted(glob.glob(f"{directory}/cg.*.*"), key=lambda path: int(path.rsplit(".", 1)[1]))
        if len(dumps) != len(names):
            print(f"expected {len(names)} callgrind dumps, found {len(dumps)}", file=sys.stderr)
            return 1
        totals = {name: _total(path) for name, path in zip(names, dumps)}
        blocks = [name.removesuffix(":0") for name in names if name.endswith(":0")]
        per_call = {block: (totals[f"{block}:{args.calls}"] - totals[f"{block}:0"]) / args.calls for block in blocks}
    out = {"contender": args.contender, "calls": args.calls, "floor": per_call["floor"]}
    for sdk in SDKS:
        out[sdk] = {"off": per_call[f"{sdk}.off"], "on": per_call[f"{sdk}.on"], "added": per_call[f"{sdk}.on"] - per_call[f"{sdk}.off"],
                    "added_in_task": per_call[f"task.{sdk}.on"] - per_call[f"task.{sdk}.off"]}
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
