"""The prompt cache, watched live: missed caching and cache breaks, per agent and model, as calls are booked.

Missed caching: a call that re-sent a prompt prefix its agent had sent within `CACHE_TTL_S` (the provider's
default cache lifetime), reported its cache use, and read nothing from the cache (the offline report's rule,
docs/metrics.md). Cache breaks: a Page-Hinkley test for a fall in the mean of each call's cache-read ratio
(cache reads / input tokens). It keeps the cumulative sum m_t = sum(x_bar_t - x_t - DELTA) of how far each
call falls below the running mean, and its minimum M_t; a break is declared when m_t - M_t > LAMBDA, at the
earliest after `MIN_CALLS` calls, and the detector starts afresh. A drop of the ratio by d (> DELTA) is
found after about LAMBDA / (d - DELTA) calls: 2 calls for a drop from 0.9 to 0.1. The cause named is the
prompt prefix fingerprint, when the call's differs from the one in force before the fall.
No OpenTelemetry imports.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field


__all__ = ["CACHE_TTL_S", "DELTA", "LAMBDA", "MIN_CALLS", "CacheWatch", "Drift"]

DELTA = 0.05
"""Falls of the ratio smaller than this are noise."""
LAMBDA = 1.0
"""The accumulated fall that makes a break."""
MIN_CALLS = 5
"""Calls that make a baseline before a break can be declared."""
CACHE_TTL_S = 300.0
"""A prefix its agent sent this recently should have been read from the prompt cache (the shortest default
provider cache lifetime)."""
MAX_PREFIXES = 64
"""Prefixes remembered per agent and model for missed caching (the least recently sent are forgotten)."""


@dataclass(frozen=True, slots=True)
class Drift:
    """A cache break: the baseline ratio, this call's, and the prefix fingerprints before and now."""

    before: float
    after: float
    prefix_before: str | None
    prefix_after: str | None

    @property
    def cause(self) -> str:
        if self.prefix_before != self.prefix_after and self.prefix_after is not None:
            return "prefix_changed"
        return "unknown"

    def describe(self) -> str:
        if self.cause == "prefix_changed":
            return f"the prompt prefix fingerprint changed ({self.prefix_before} -> {self.prefix_after})"
        return "no coinciding change seen (prompt prefix fingerprint unchanged)"


@dataclass(slots=True)
class _Detector:
    n: int = 0
    mean: float = 0.0
    cumulative: float = 0.0
    minimum: float = 0.0
    prefix_at_minimum: str | None = None
    """The prefix in force when the cumulative sum was last at its minimum: before the fall began."""
    mean_at_minimum: float = 0.0

    def observe(self, ratio: float, prefix: str | None) -> Drift | None:
        self.n += 1
        self.mean += (ratio - self.mean) / self.n
        self.cumulative += self.mean - ratio - DELTA
        if self.cumulative <= self.minimum or self.n == 1:
            self.minimum = self.cumulative
            self.prefix_at_minimum = prefix
            self.mean_at_minimum = self.mean
            return None
        if self.n > MIN_CALLS and self.cumulative - self.minimum > LAMBDA:
            drift = Drift(self.mean_at_minimum, ratio, self.prefix_at_minimum, prefix)
            self.n, self.mean, self.cumulative, self.minimum = 0, 0.0, 0.0, 0.0
            return drift
        return None


@dataclass(slots=True)
class _Stream:
    """One (agent, model)'s detector and prefix memory; the ledger keeps a reference on each call series, so
    booking a call costs no key lookup."""

    detector: _Detector = field(default_factory=_Detector)
    last_sent: OrderedDict[str, float] = field(default_factory=OrderedDict)

    def observe(self, time_s: float, prefix: str | None, input_tokens: int, cache_read: int | None) -> tuple[bool, Drift | None]:
        """One call that reported its input: (did it miss the cache, the break it revealed, if any).
        `cache_read` None: the call did not report its cache use, so it is judged neither way."""
        missed = False
        if prefix is not None:
            last_sent = self.last_sent
            seen = last_sent.pop(prefix, None)
            missed = seen is not None and cache_read == 0 and time_s - seen <= CACHE_TTL_S
            last_sent[prefix] = time_s
            if len(last_sent) > MAX_PREFIXES:
                last_sent.popitem(last=False)
        drift = None
        if cache_read is not None and input_tokens > 0:
            drift = self.detector.observe(cache_read / input_tokens, prefix)
        return missed, drift


class CacheWatch:
    """One detector and one prefix memory per (agent, model) key; the ledger bounds the keys."""

    def __init__(self) -> None:
        self._streams: dict[tuple[str, str], _Stream] = {}

    def __len__(self) -> int:
        return len(self._streams)

    def __contains__(self, key: tuple[str, str]) -> bool:
        return key in self._streams

    def stream(self, key: tuple[str, str]) -> _Stream:
        """The key's stream, made on first use."""
        stream = self._streams.get(key)
        if stream is None:
            stream = self._streams[key] = _Stream()
        return stream
