#!/usr/bin/env python
"""One contender, one process: what it adds per call and per stream chunk, as paired on/off samples.

    <venv>/bin/python benchmarks/bench_percall.py --contender openllmetry --rounds 8 --seed 3

Runs in the contender's own virtual environment and prints one JSON object. Every round times, in shuffled
order: each SDK's call uninstrumented and instrumented (the `Switch`), single calls alternating in random
order (medians of each), then what those calls left to the metric reader's next collection (`_call_phase`);
single floor spans (their median); (uninstrumented, instrumented) pairs of real
500-chunk streams; and pre-parsed streams of 500 and 20 chunks, on and off alternating (`_preparsed_streams`).
The caller (`run.py`) runs several such processes per contender, interleaved with the other contenders', and
compares each one's added time to the floor measured in the same process, so a busy minute moves both.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import bench_contenders as bc
import bench_load
import bench_sdk

SDKS = ("openai", "anthropic")
clock = time.thread_time_ns
"""Every figure is CPU time of the calling thread: what the instrumentation makes the agent's thread do. On a
shared, loaded machine wall time also counts whenever the scheduler ran someone else, which swamps a
difference of a few percent; every contender here does its work on the calling thread (`SimpleSpanProcessor`)."""


def timed(fn: Callable[[], Any], n: int) -> float:
    """Mean µs per call of a batch of n calls (collected before, so one batch does not pay another's garbage)."""
    gc.collect()
    start = clock()
    for _ in range(n):
        fn()
    return (clock() - start) / n / 1000


def paired(switch: bc.Switch, fn: Callable[[], Any], n: int, rng: random.Random) -> tuple[float, float]:
    """(off, on) µs of one batch each, back to back, in random order."""
    order = [False, True]
    rng.shuffle(order)
    out = {}
    for on in order:
        switch.set(on)
        out[on] = timed(fn, n)
    switch.set(False)
    return out[False], out[True]


def alternated(switch: bc.Switch, fn: Callable[[], Any], n: int, rng: random.Random,
               tracer: Any) -> tuple[float, float, float]:
    """(off, on, floor in situ) µs: the medians of n single calls each, off and on alternating in random order,
    so that a burst of the machine's other work lands on both alike and the median leaves it out; and of a
    floor span timed right after each uninstrumented call, with the caches as the SDK call left them (what an
    instrumentation's own work meets in a real call, unlike floor spans timed back to back)."""
    times: dict[bool, list[float]] = {False: [], True: []}
    situ: list[float] = []
    gc.collect()
    for _ in range(n):
        order = [False, True]
        rng.shuffle(order)
        for on in order:
            switch.set(on)
            start = clock()
            fn()
            times[on].append((clock() - start) / 1000)
            if not on:
                start = clock()
                bc.floor(tracer)
                situ.append((clock() - start) / 1000)
    switch.set(False)
    return statistics.median(times[False]), statistics.median(times[True]), statistics.median(situ)


def floor_median(tracer: Any, n: int) -> float:
    """µs: the median of n single floor spans."""
    gc.collect()
    times = []
    for _ in range(n):
        start = clock()
        bc.floor(tracer)
        times.append((clock() - start) / 1000)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--contender", required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--calls", type=int, default=60)
    parser.add_argument("--stream-pairs", type=int, default=2, help="real-parse stream pairs per round and SDK")
    parser.add_argument("--streams", type=int, default=12,
                        help="pre-parsed streams of each kind (off/on x 500/20 chunks) per round and SDK; 0: calls only")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--load", nargs=3, type=int, metavar=("PAIRS", "PER_THREAD", "MEMORY_CALLS"),
                        help="afterwards, bench_load.py's measurement in this process")
    args = parser.parse_args()
    os.environ.update(bc.CONTENT_OFF)
    started = time.perf_counter()

    def took(what: str) -> None:  # where a process's time goes, on stderr (run.py shows it only on failure)
        print(f"{time.perf_counter() - started:6.1f} s  {what}", file=sys.stderr, flush=True)

    tracer_provider, meter_provider, exporter, reader = bc.providers()
    tracer = bc.floor_tracer()
    clients = {sdk: bench_sdk.client(sdk) for sdk in SDKS}
    async_client = bench_sdk.client("openai", asynchronous=True) if args.load else None
    if args.load:
        bench_load.warm(clients["openai"], async_client)
    for sdk, c in clients.items():  # every module the calls need is imported before the snapshot
        bench_sdk.call(c, sdk)
        bench_sdk.stream(c, sdk)

    def calls(sdk: str) -> Callable[[], Any]:
        return lambda: bench_sdk.call(clients[sdk], sdk)

    native = {}  # spans an SDK makes by itself (anthropic traces natively once a provider is set)
    for sdk in SDKS:
        count = exporter.count
        calls(sdk)()
        native[sdk] = exporter.count - count
    took("SDKs imported, warm")
    before = bc.Switch.snapshot()
    took("snapshot")
    covered = bc.instrument(args.contender, tracer_provider, meter_provider)
    switch = bc.Switch(before)

    def streams(sdk: str) -> Callable[[], Any]:
        return lambda: bench_sdk.stream(clients[sdk], sdk)

    # Sanity: one span per instrumented call, none when off, and streams hand the caller every chunk.
    for sdk in covered:
        count = exporter.count
        calls(sdk)()
        if exporter.count <= count + native[sdk]:
            sys.exit(f"{args.contender}: an instrumented {sdk} call made no span")
        if bench_sdk.stream(clients[sdk], sdk) != bench_sdk.STREAM_CHUNKS:
            sys.exit(f"{args.contender}: an instrumented {sdk} stream lost or added chunks")
        switch.set(False)
        count = exporter.count
        calls(sdk)()
        if exporter.count != count + native[sdk]:
            sys.exit(f"{args.contender}: the switch left {sdk} instrumented")
        switch.set(True)
        for _ in range(3):  # warm the instrumented path too (its streams ran once above)
            calls(sdk)()
    switch.set(False)
    for _ in range(5):
        bc.floor(tracer)
    gc.collect()
    gc.freeze()

    took("instrumented, checked, warm")
    rng = random.Random(args.seed)
    out: dict[str, Any] = {"contender": args.contender, "covered": covered, "floor": [],
                           "versions": bc.versions(args.contender)}
    for sdk in covered:
        out[sdk] = {"base": [], "on": [], "floor_situ": [], "deferred": [], "parsed": [], "marginal": [], "stream": []}
    for _ in range(args.rounds):
        phases: list[Callable[[], None]] = [lambda: out["floor"].append(floor_median(tracer, args.calls))]
        for sdk in covered:
            phases.append(lambda sdk=sdk: _call_phase(out[sdk], switch, calls(sdk), args.calls, rng, tracer, reader))
            if args.streams:
                phases.append(lambda sdk=sdk: _stream_phase(out[sdk], switch, clients[sdk], sdk, streams(sdk),
                                                            args.stream_pairs, args.streams, rng))
        rng.shuffle(phases)
        for phase in phases:
            phase()
    took("rounds")
    if args.load:
        pairs, per_thread, memory_calls = args.load
        switch.set(True)
        bench_load.warm(clients["openai"], async_client)  # instrumented once (imports, caches)
        out["load"] = bench_load.measure(switch, clients["openai"], async_client, pairs, per_thread, memory_calls, rng)
        took("under load")
    print(json.dumps(out))
    return 0


def _call_phase(samples: dict[str, list[float]], switch: bc.Switch, fn: Callable[[], Any], n: int,
                rng: random.Random, tracer: Any, reader: Any) -> None:
    """The calls' medians, then the work they left to the metric reader's next collection."""
    collected(reader)  # what earlier phases left (instrumented streams record metrics too)
    off, on, situ = alternated(switch, fn, n, rng, tracer)
    samples["base"].append(off)
    samples["on"].append(on)
    samples["floor_situ"].append(situ)
    after_calls = collected(reader)
    samples["deferred"].append((after_calls - collected(reader)) / n)


def collected(reader: Any) -> float:
    """µs of one collection by the metric reader: what a periodic exporter's thread does before each export."""
    gc.collect()
    start = clock()
    reader.get_metrics_data()
    return (clock() - start) / 1000


def _stream_phase(samples: dict[str, list[float]], switch: bc.Switch, c: Any, sdk: str, fn: Callable[[], Any],
                  pairs: int, streams: int, rng: random.Random) -> None:
    """Added µs per real 500-chunk stream (SDK parsing included), and over pre-parsed streams: the whole long
    stream's added µs, and the marginal added µs per chunk (see `_preparsed_streams`)."""
    for _ in range(pairs):
        off, on = paired(switch, fn, 1, rng)
        samples["stream"].append(on - off)
    with bench_sdk.preparsed(c, sdk) as state:
        whole, marginal = _preparsed_streams(switch, state, c, sdk, streams, rng)
    samples["parsed"].append(whole)
    samples["marginal"].append(marginal)


def _preparsed_streams(switch: bc.Switch, state: bench_sdk.Preparsed, c: Any, sdk: str, n: int,
                       rng: random.Random) -> tuple[float, float]:
    """n single streams of each kind (off/on x long/short), the four kinds in random order each time, each timed
    in two parts: the call's set-up (until `create` returns the stream) and the reading of the stream.
    Returns (whole, marginal) from the medians of each kind: whole = the long stream's added µs, set-up and
    reading; marginal = (the long stream's added reading µs - the short one's) / (500 - 20), a chunk's cost
    without the stream's fixed one. Timing the reading alone leaves out the set-up's noise (the same for
    every contender: each one's clock starts once `create` has returned)."""
    times: dict[tuple[bool, int], list[tuple[float, float]]] = {
        (on, chunks): [] for on in (False, True) for chunks in (bench_sdk.STREAM_CHUNKS, bench_sdk.SHORT_CHUNKS)}
    kinds = list(times)
    gc.collect()
    for _ in range(n):
        rng.shuffle(kinds)
        for on, chunks in kinds:
            switch.set(on)
            state.chunks = chunks
            start = clock()
            stream = bench_sdk.call(c, sdk, stream=True)
            opened = clock()
            for _chunk in stream:
                pass
            times[on, chunks].append(((opened - start) / 1000, (clock() - opened) / 1000))
    switch.set(False)

    def added(chunks: int, with_setup: bool) -> float:
        def median(on: bool) -> float:
            return statistics.median(setup + read if with_setup else read for setup, read in times[on, chunks])

        return median(True) - median(False)

    long_, short = bench_sdk.STREAM_CHUNKS, bench_sdk.SHORT_CHUNKS
    return added(long_, True), (added(long_, False) - added(short, False)) / (long_ - short)


if __name__ == "__main__":
    sys.exit(main())
