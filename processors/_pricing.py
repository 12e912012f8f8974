"""Pricing: a pure function over usage and per-token rates, and the price book that finds the rates.

Rates come from the `genai-prices` package (offline, maintained, cache-aware) or from a user price file
that overrides or adds models. `genai-prices`' own `calc_price()` costs more per call than our whole
budget, so each (provider, model, tier) is resolved once into linear per-token rates, read off the
package's own arithmetic on basis usages; `cost()` then equals `calc_price()` to the last digit (tested).
A model with no known price gets no rates: its calls are counted as unpriced, never priced as 0.

Importing `genai-prices`' data takes longer than importing a client SDK, so nothing here loads it before
it is needed: `instrument()` has `PriceBook.load()` run on a background thread (`agentyield._deferred`), and
a price needed before that thread is done waits for what is left of its work.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable

from agentyield import _semconv as sc
from agentyield._forksafe import fork_safe_lock

from ._price_source import price_source

__all__ = ["PriceBook", "PriceFileError", "Rates", "Tiers", "TokenCounts", "cost", "cost_of"]

_MILLION = Decimal(1_000_000)
_PERIOD_S = 1800


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, about 4x slower, and
# booking makes one for every call, span or task it books (agentyield serve's hot path). Treat it as immutable.
@dataclass(slots=True)
class TokenCounts:
    """Disjoint token counts of one call; they sum to the billed total."""

    uncached_input: int
    cache_read: int
    cache_write_5m: int
    """Cache writes at the default (5-minute) rate."""
    cache_write_1h: int
    output: int


@dataclass(frozen=True, slots=True)
class Rates:
    """USD per token for each disjoint kind, valid for calls whose total input is within `up_to`."""

    uncached_input: Decimal
    cache_read: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    output: Decimal
    per_call: Decimal = Decimal(0)
    """USD per request, whatever its tokens (e.g. Perplexity's per-request fee)."""
    read_saving: Decimal = field(init=False, repr=False, compare=False)
    """What a token read from cache saves against the uncached rate; these differences are taken once, here,
    rather than for every call booked."""
    write_premium_5m: Decimal = field(init=False, repr=False, compare=False)
    write_premium_1h: Decimal = field(init=False, repr=False, compare=False)
    no_write_premium: Decimal = field(init=False, repr=False, compare=False)
    """`write_premium()` of a call that wrote nothing: a zero, with the exponent the arithmetic gives it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "read_saving", self.uncached_input - self.cache_read)
        object.__setattr__(self, "write_premium_5m", self.cache_write_5m - self.uncached_input)
        object.__setattr__(self, "write_premium_1h", self.cache_write_1h - self.uncached_input)
        object.__setattr__(self, "no_write_premium", self._premium(0, 0))

    def write_premium(self, write_5m: int, write_1h: int) -> Decimal:
        """What a call's cache writes cost above the uncached rate (most calls write nothing: taken once)."""
        return self._premium(write_5m, write_1h) if write_5m or write_1h else self.no_write_premium

    def _premium(self, write_5m: int, write_1h: int) -> Decimal:
        return write_5m * self.write_premium_5m + write_1h * self.write_premium_1h


@dataclass(frozen=True, slots=True)
class Tiers:
    """Rates by tier: `tiers[i]` applies when total input tokens exceed `starts[i]` (cliff pricing)."""

    base: Rates
    starts: tuple[int, ...]
    tiers: tuple[Rates, ...]

    def for_input(self, total_input: int) -> Rates:
        if not self.starts:  # most models: one tier
            return self.base
        for start, rates in zip(reversed(self.starts), reversed(self.tiers)):
            if total_input > start:
                return rates
        return self.base


def cost(tokens: TokenCounts, rates: Rates) -> Decimal:
    """The USD cost of one call: each disjoint token kind at its own rate (reasoning is billed as output)."""
    return cost_of(tokens.uncached_input, tokens.cache_read, tokens.cache_write_5m, tokens.cache_write_1h, tokens.output, rates)


def cost_of(uncached_input: int, cache_read: int, cache_write_5m: int, cache_write_1h: int, output: int, rates: Rates) -> Decimal:
    """`cost()` from the counts themselves (the ledger's hot path makes no `TokenCounts` per call).

    Kinds with no tokens are skipped: Decimal arithmetic is the costliest step of booking a call.
    """
    total = uncached_input * rates.uncached_input + output * rates.output + rates.per_call
    if cache_read:
        total += cache_read * rates.cache_read
    if cache_write_5m:
        total += cache_write_5m * rates.cache_write_5m
    if cache_write_1h:
        total += cache_write_1h * rates.cache_write_1h
    return total


class PriceFileError(ValueError):
    """A user price file that cannot be used; the message names the file and the entry."""


_FILE_KEYS = {
    "input_mtok": "uncached_input",
    "cache_read_mtok": "cache_read",
    "cache_write_mtok": "cache_write_5m",
    "cache_write_1h_mtok": "cache_write_1h",
    "output_mtok": "output",
}


def _load_price_file(path: str | Path) -> dict[tuple[str, str], Tiers]:
    """Entries `{provider, model, input_mtok, output_mtok, [cache_read_mtok, cache_write_mtok, cache_write_1h_mtok]}`
    in USD per million tokens, under a top-level `models` list, as JSON or YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PriceFileError(f"{path}: cannot read price file: {exc.strerror}") from None
    except UnicodeDecodeError as exc:
        raise PriceFileError(f"{path}: cannot read price file: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    try:
        if path.suffix in (".yaml", ".yml"):
            import yaml

            data = yaml.safe_load(text)
        else:
            data = json.loads(text)
    except Exception as exc:  # noqa: BLE001 - any parse error is the file's fault
        raise PriceFileError(f"{path}: not valid {'YAML' if path.suffix in ('.yaml', '.yml') else 'JSON'}: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, list):
        raise PriceFileError(f"{path}: expected a top-level 'models' list")
    book: dict[tuple[str, str], Tiers] = {}
    for index, entry in enumerate(models):
        where = f"{path}: models[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("model"), str) or not isinstance(entry.get("provider"), str):
            raise PriceFileError(f"{where}: needs string 'provider' and 'model'")
        unknown = set(entry) - set(_FILE_KEYS) - {"provider", "model"}
        if unknown:
            raise PriceFileError(f"{where}: unknown keys {sorted(unknown)}")
        values: dict[str, Decimal] = {}
        for key, kind in _FILE_KEYS.items():
            raw = entry.get(key)
            if raw is None:
                continue
            try:
                value = Decimal(str(raw))
            except Exception:  # noqa: BLE001
                raise PriceFileError(f"{where}: {key} must be a number, got {raw!r}") from None
            if not value.is_finite() or value < 0:
                raise PriceFileError(f"{where}: {key} must be a non-negative number, got {raw!r}")
            values[kind] = value / _MILLION
        if "uncached_input" not in values or "output" not in values:
            raise PriceFileError(f"{where}: needs at least input_mtok and output_mtok")
        uncached = values["uncached_input"]
        rates = Rates(
            uncached_input=uncached,
            cache_read=values.get("cache_read", uncached),
            cache_write_5m=values.get("cache_write_5m", uncached),
            cache_write_1h=values.get("cache_write_1h", values.get("cache_write_5m", uncached)),
            output=values["output"],
        )
        book[(entry["provider"], entry["model"])] = Tiers(rates, (), ())
    return book


class PriceBook:
    """Finds the rates of a (provider, model) once per half hour and remembers them, misses included.

    Some prices depend on the time (off-peak hours that change on the hour or half hour, prices that
    change on a date), so rates are resolved for the half hour they are used in, never kept longer.
    """

    def __init__(self, price_file: str | Path | None = None, *, clock: Callable[[], float] = time.time) -> None:
        self._user = _load_price_file(price_file) if price_file else {}
        self._resolved: dict[tuple[str, str, int], Tiers | None] = {}
        """(provider, model, half hour) -> rates; replaying old and new calls side by side keeps both."""
        self._lock = fork_safe_lock(self)
        self._clock = clock
        self.version = price_source(price_file)
        """Which price data produced a number: recorded on every priced span."""

    @staticmethod
    def load() -> None:
        """Load genai-prices' data now, if no book in this process has yet (else it loads on first use)."""
        _snapshot()

    def rates(self, provider: str, model: str, total_input: int, at: float | None = None) -> Rates | None:
        """The rates in force at `at` (seconds since the epoch; None: now) for a call of `total_input` tokens."""
        tiered = self.tiers(provider, model, self.period(at))
        return None if tiered is None else tiered.for_input(total_input)

    def period(self, at: float | None = None) -> int:
        """The half hour `at` (None: now) falls in: the unit of time for which rates are resolved."""
        return int((self._clock() if at is None else at) // _PERIOD_S)

    def tiers(self, provider: str, model: str, period: int) -> Tiers | None:
        """A model's rates by tier in that half hour (`for_input` picks a call's), resolved once per book."""
        key = (provider, model, period)
        try:
            return self._resolved[key]
        except KeyError:
            with self._lock:
                if len(self._resolved) >= 1024:  # bounded: a flood of model names cannot grow this forever
                    self._resolved.clear()
                tiered = self._resolved[key] = self._resolve(provider, model, period * _PERIOD_S)
            return tiered

    def _resolve(self, provider: str, model: str, at: float) -> Tiers | None:
        user = self._user.get((provider, model))
        if user is not None:
            return user
        return _from_genai_prices(provider, model, datetime.fromtimestamp(at, timezone.utc))


_snapshot_lock = fork_safe_lock(sys.modules[__name__], "_snapshot_lock")
_loaded = threading.Event()


def _snapshot() -> Any:
    """genai-prices' data, loaded once per process by whichever thread needs it first (the others wait)."""
    if not _loaded.is_set():
        with _snapshot_lock:
            if not _loaded.is_set():
                from genai_prices import data_snapshot

                try:  # the first lookup builds genai-prices' own indexes: part of loading, not of pricing a call
                    data_snapshot.get_snapshot().find_provider_model("gpt-4o", None, "openai", None)
                except LookupError:
                    pass
                _loaded.set()
    from genai_prices import data_snapshot

    return data_snapshot.get_snapshot()


def _price_provider(snapshot: Any, provider: str) -> Any:
    """The genai-prices provider a `gen_ai.provider.name` is priced as, or None.

    A conventions name maps to its genai-prices id; another instrumentation's name ("Bedrock", "xai") matches
    by genai-prices' own rules. A host name (an endpoint nobody knows, named by its host) must equal a
    provider id: `openai-proxy.internal` is not OpenAI, and only a price file prices it.
    """
    from genai_prices.data_snapshot import find_provider_by_id

    price_id = sc.PRICE_PROVIDER_IDS.get(provider, provider).lower()
    if "." in price_id or ":" in price_id:
        return next((p for p in snapshot.providers if p.id == price_id), None)
    return find_provider_by_id(snapshot.providers, price_id)


def _from_genai_prices(provider: str, model: str, now: datetime) -> Tiers | None:
    snapshot = _snapshot()
    from genai_prices import Usage
    from genai_prices.types import TieredPrices

    try:
        if provider.lower() == "litellm":
            # Another instrumentation's LiteLLM span: genai-prices reads the routed provider off `anthropic/...`.
            found_provider, found_model = snapshot.find_provider_model(model, None, provider, None)
        else:
            price_provider = _price_provider(snapshot, provider)
            if price_provider is None:
                return None
            found_provider, found_model = snapshot.find_provider_model(model, price_provider, None, None)
    except LookupError:
        return None

    def calc(total_input: int, **usage: int) -> Any:
        return found_model.calc_price(Usage(input_tokens=total_input, **usage), found_provider, genai_request_timestamp=now)

    def price(total_input: int, **usage: int) -> Decimal:
        """The per-token part: a per-request fee has no direction, so it is in the total but in neither input nor output."""
        result = calc(total_input, **usage)
        return result.input_price + result.output_price

    def rates_at(total_input: int) -> Rates:
        n = Decimal(total_input)
        whole = calc(total_input)
        base = whole.input_price + whole.output_price
        return Rates(
            uncached_input=base / n,
            cache_read=price(total_input, cache_read_tokens=total_input) / n,
            cache_write_5m=price(total_input, cache_write_tokens=total_input) / n,
            cache_write_1h=price(total_input, cache_write_tokens=total_input, cache_write_1h_tokens=total_input) / n,
            output=(price(total_input, output_tokens=total_input) - base) / n,
            per_call=whole.total_price - whole.input_price - whole.output_price,
        )

    model_price = calc(1).model_price
    starts = sorted(
        {tier.start for value in vars(model_price).values() if isinstance(value, TieredPrices) for tier in value.tiers}
    )
    base_point = min([1_000_000, *starts])
    return Tiers(rates_at(base_point), tuple(starts), tuple(rates_at(start + 1) for start in starts))
