#!/usr/bin/env python
"""One contender under load, in one process: throughput on/off with 16 threads and with 500 concurrent
asyncio calls, and resident memory across 10 rounds of instrumented calls.

    <venv>/bin/python benchmarks/bench_load.py --contender openinference

(`make bench` runs the same measurement at the end of each contender's first per-call process,
`bench_percall.py --load`, to import the SDKs once.)

Throughput pairs (off, on) run back to back in random order; the ratio on/off of each pair is what counts
(1.0 = no loss). Memory: RSS after a full collection at the end of each round; flat means no leak.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import random
import sys
import threading
import time
from typing import Any

import bench_contenders as bc
import bench_sdk

THREADS = 16
CONCURRENT = 500


def _rss_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


clock = time.process_time
"""Throughput is calls per CPU-second of this process (every thread's): a loaded, shared machine moves wall
time by more than an instrumentation costs, and a lock an instrumentation holds across threads still shows,
as the CPU the waiting threads spend switching."""


def threaded(c: Any, per_thread: int) -> float:
    """Calls per CPU-second of THREADS threads sharing one client."""
    barrier = threading.Barrier(THREADS + 1)

    def work() -> None:
        barrier.wait()
        for _ in range(per_thread):
            bench_sdk.call(c, "openai")

    threads = [threading.Thread(target=work) for _ in range(THREADS)]
    for t in threads:
        t.start()
    barrier.wait()
    start = clock()
    for t in threads:
        t.join()
    return THREADS * per_thread / (clock() - start)


def concurrent(c: Any, n: int = CONCURRENT) -> float:
    """Calls per CPU-second of n calls in flight at once on one event loop."""
    async def burst() -> float:
        start = clock()
        await asyncio.gather(*(bench_sdk.acall(c, "openai") for _ in range(n)))
        return n / (clock() - start)

    return asyncio.run(burst())


def warm(sync_client: Any, async_client: Any) -> None:
    """A few calls each way, so every module they need is imported (before a `Switch` snapshot, and after
    instrumenting)."""
    threaded(sync_client, 2)
    concurrent(async_client, 20)


def measure(switch: bc.Switch, sync_client: Any, async_client: Any, pairs: int, per_thread: int, memory_calls: int,
            rng: random.Random) -> dict[str, Any]:
    """Throughput pairs (off, on) in random order, then RSS over 10 rounds of instrumented calls."""
    out: dict[str, Any] = {"threads": [], "asyncio": []}
    for _ in range(pairs):
        for key, run in (("threads", lambda: threaded(sync_client, per_thread)),
                         ("asyncio", lambda: concurrent(async_client))):
            order = [False, True]
            rng.shuffle(order)
            result = {}
            for on in order:
                switch.set(on)
                gc.collect()
                result[on] = run()
            out[key].append({"off": result[False], "on": result[True]})
    switch.set(True)
    out["rss_mb"] = []
    for _ in range(10):
        for _ in range(memory_calls):
            bench_sdk.call(sync_client, "openai")
        gc.collect()
        out["rss_mb"].append(_rss_mb())
    switch.set(False)
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contender", required=True)
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--per-thread", type=int, default=25)
    parser.add_argument("--memory-calls", type=int, default=500)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    os.environ.update(bc.CONTENT_OFF)

    tracer_provider, meter_provider, _, _ = bc.providers()
    sync_client = bench_sdk.client("openai")
    async_client = bench_sdk.client("openai", asynchronous=True)
    warm(sync_client, async_client)
    before = bc.Switch.snapshot()
    bc.instrument(args.contender, tracer_provider, meter_provider)
    switch = bc.Switch(before)
    warm(sync_client, async_client)
    out = measure(switch, sync_client, async_client, args.pairs, args.per_thread, args.memory_calls, random.Random(args.seed))
    print(json.dumps({"contender": args.contender, **out}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
