"""The cache over time: the cache-read ratio in buckets of consecutive calls, its drifts with their likely
cause, and what missed caching cost. Pure functions over `CallRow`; no OpenTelemetry, no I/O.

Buckets hold equal numbers of consecutive calls (in time order), not equal stretches of wall-clock time:
each point then weighs the same, and the same workload gives the same points however fast it ran
(`agentyield demo --seed N` is reproducible).
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Sequence

from ._analysis_common import Json, cache_discount, cache_read_ratio, dominant, iso, priced
from ._population import CallRow

__all__ = ["DRIFT_BASELINE", "DRIFT_DROP", "MissedCaching", "TARGET_BUCKETS", "cache", "missed_caching"]

DRIFT_DROP = 0.2
"""A bucket's cache-read ratio this far below its baseline is a drift."""
DRIFT_BASELINE = 3
"""Buckets averaged into the baseline a drift is measured against."""
TARGET_BUCKETS = 40
"""Points on the cache-read ratio curve: about this many buckets of equal call counts."""


@dataclass(slots=True)
class _Bucket:
    start: float
    end: float
    calls: list[CallRow]
    ratio: float | None


def _in_time_order(calls: Sequence[CallRow]) -> list[CallRow]:
    return [c for _, c in sorted(enumerate(calls), key=lambda ic: (ic[1].time_s, ic[0]))]


def _cache_buckets(calls: Sequence[CallRow]) -> tuple[int, list[_Bucket]]:
    """Consecutive calls in buckets of `size` (the last may be smaller), each with its pooled cache-read ratio."""
    ordered = _in_time_order(calls)
    size = max(1, math.ceil(len(ordered) / TARGET_BUCKETS))
    buckets = []
    for i in range(0, len(ordered), size):
        chunk = ordered[i:i + size]
        buckets.append(_Bucket(chunk[0].time_s, chunk[-1].time_s, chunk, cache_read_ratio(chunk)))
    return size, buckets


def _drift_cause(baseline: Sequence[_Bucket], bucket: _Bucket) -> str:
    """Why the cache stopped hitting: a new dominant prompt prefix (the cache key) first, then a new
    dominant model (caches are per model); else unknown."""
    before_calls = [c for b in baseline for c in b.calls]
    old, new = dominant(c.prefix_hash for c in before_calls), dominant(c.prefix_hash for c in bucket.calls)
    if old is not None and new is not None and old != new:
        return f"prompt prefix changed ({old} -> {new})"
    old, new = dominant(c.model for c in before_calls), dominant(c.model for c in bucket.calls)
    if old is not None and new is not None and old != new:
        return f"model changed ({old} -> {new})"
    return "unknown"


def _drifts(buckets: Sequence[_Bucket]) -> list[Json]:
    """Buckets whose ratio falls more than DRIFT_DROP below the mean of the previous DRIFT_BASELINE buckets
    (buckets without a ratio are skipped). One drop is one drift: a run of consecutive low buckets is
    reported at its first bucket (the following ones are low against a baseline that still holds the
    pre-drop buckets)."""
    rated = [b for b in buckets if b.ratio is not None]
    out: list[Json] = []
    previous_low = False
    for i in range(DRIFT_BASELINE, len(rated)):
        baseline = rated[i - DRIFT_BASELINE:i]
        before = statistics.fmean(b.ratio for b in baseline if b.ratio is not None)
        after = rated[i].ratio
        assert after is not None
        low = before - after > DRIFT_DROP
        if low and not previous_low:
            out.append({"t": iso(rated[i].start), "before": before, "after": after, "cause": _drift_cause(baseline, rated[i])})
        previous_low = low
    return out


@dataclass(frozen=True, slots=True)
class MissedCaching:
    usd: float | None
    calls: int
    unpriced_calls: int
    note: str | None


def missed_caching(calls: Sequence[CallRow]) -> MissedCaching:
    """The calls the ledger judged to have missed the cache (the live `agentyield.cache.missed.*` rule, applied
    once, in `processors/_cache_watch.py`), priced at what a cache read would have saved on their uncached input."""
    if not calls:
        return MissedCaching(None, 0, 0, "no LLM calls")
    if all(c.prefix_hash is None for c in calls):
        return MissedCaching(None, 0, 0, "no call recorded a prompt prefix hash")
    missed = [c for c in calls if c.missed_cache]
    rated = [c for c in missed if priced(c)]
    unpriced = len(missed) - len(rated)
    if missed and not rated:
        return MissedCaching(None, len(missed), unpriced, f"none of the {len(missed)} calls that missed the cache is priced")
    note = f"lower bound: {unpriced} of {len(missed)} calls that missed the cache are unpriced" if unpriced else None
    return MissedCaching(math.fsum(c.input * cache_discount(c) for c in rated), len(missed), unpriced, note)


def cache(calls: Sequence[CallRow], missed: MissedCaching | None = None) -> Json:
    """Cache-read ratio over time, its drifts with their likely cause, and the dollars missed caching cost."""
    missed = missed or missed_caching(calls)
    notes = {"missed_caching_usd": missed.note} if missed.note else {}
    if not calls:
        return {"bucket_calls": None, "points": [], "drifts": [], "missed_caching_usd": None, "missed_calls": 0,
                "insufficient": "no LLM calls", "notes": notes}
    size, buckets = _cache_buckets(calls)
    rated = sum(b.ratio is not None for b in buckets)
    insufficient = None
    if rated <= DRIFT_BASELINE:
        insufficient = f"{rated} buckets with prompt tokens: drift detection needs {DRIFT_BASELINE} before the one it tests"
    return {
        "bucket_calls": size,
        "points": [{"t": iso(b.start), "t_end": iso(b.end), "ratio": b.ratio, "calls": len(b.calls)} for b in buckets],
        "drifts": _drifts(buckets),
        "missed_caching_usd": missed.usd,
        "missed_calls": missed.calls,
        "insufficient": insufficient,
        "notes": notes,
    }
