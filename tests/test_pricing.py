"""Pricing: `cost()` over the price book's rates equals `genai_prices.calc_price()` exactly, misses stay unpriced,
lookups are cached, and user price files override, add, and fail with messages naming the file and the entry."""

from __future__ import annotations

import errno
import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any, Iterator

import genai_prices
import pytest
from genai_prices import data_snapshot
from hypothesis import example, given, settings
from hypothesis import strategies as st

from agentyield.processors import PriceFileError as ExportedPriceFileError
from agentyield.processors._pricing import PriceBook, PriceFileError, Rates, TokenCounts, _load_price_file, cost

M = Decimal(1_000_000)

# (provider, model) pairs priced by genai-prices; the comments say why each is here.
MODELS = [
    ("openai", "gpt-4o"),
    ("openai", "gpt-4o-2024-08-06"),  # a dated id, resolved through the model's match rules
    ("openai", "gpt-4.1"),
    ("openai", "gpt-5"),
    ("openai", "gpt-4o-mini"),  # rates with more decimals (0.075/MTok cache reads)
    ("anthropic", "claude-sonnet-4-5"),  # every kind tiered at 200k input, 5m and 1h cache writes
    ("anthropic", "claude-sonnet-4-5-20250929"),
    ("anthropic", "claude-opus-4-1"),
    ("anthropic", "claude-3-5-haiku"),
    ("google", "gemini-2.5-pro"),  # tiered at 200k input
    ("google", "gemini-1.5-flash"),  # tiered at 128k input
    ("perplexity", "sonar"),  # a per-request fee on top of the tokens
]

# (total input, cache read, cache write, of which 1h, output): total input includes the cache tokens.
USAGES = [
    (0, 0, 0, 0, 0),  # an empty call
    (0, 0, 0, 0, 10),  # output only
    (1, 0, 0, 0, 0),
    (1000, 0, 0, 0, 200),  # zero cache
    (5000, 4000, 0, 0, 100),  # only cache reads
    (5000, 5000, 0, 0, 0),  # nothing but cache reads
    (6000, 0, 2000, 0, 50),  # 5m cache writes only
    (6000, 0, 2000, 2000, 50),  # 1h cache writes only
    (5512, 4000, 1500, 500, 300),  # the hand-checked mix
    (127_999, 100_000, 20_000, 7_000, 900),  # around gemini-1.5's 128k tier
    (128_000, 100_000, 20_000, 7_000, 900),
    (128_001, 100_000, 20_000, 7_000, 900),
    (199_999, 150_000, 20_000, 5_000, 4_000),  # just below the 200k tier
    (200_000, 150_000, 20_000, 5_000, 4_000),  # at it: still the base rates
    (200_001, 150_000, 20_000, 5_000, 4_000),  # above it: the tier rates for every token
    (199_999, 0, 0, 0, 1),
    (200_000, 0, 0, 0, 1),
    (200_001, 0, 0, 0, 1),
    (200_001, 200_001, 0, 0, 7),  # above the tier, all cache reads
    (200_001, 0, 200_001, 100_000, 7),  # above the tier, all cache writes, half of them 1h
    (1_000_000, 900_000, 50_000, 25_000, 64_000),
    (2_000_000, 0, 0, 0, 128_000),
]


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook()


def tokens(total_input: int, cache_read: int, cache_write: int, cache_write_1h: int, output: int) -> TokenCounts:
    """Disjoint counts the way the ledger books a call (`Ledger._book_call`)."""
    return TokenCounts(total_input - cache_read - cache_write, cache_read, cache_write - cache_write_1h, cache_write_1h, output)


def calc_price(provider: str, model: str, usage: tuple[int, int, int, int, int]) -> Decimal:
    total_input, cache_read, cache_write, cache_write_1h, output = usage
    return genai_prices.calc_price(
        genai_prices.Usage(
            input_tokens=total_input,
            cache_read_tokens=cache_read,
            cache_write_tokens=cache_write,
            cache_write_1h_tokens=cache_write_1h,
            output_tokens=output,
        ),
        model,
        provider_id=provider,
    ).total_price


def our_cost(book: PriceBook, provider: str, model: str, usage: tuple[int, int, int, int, int]) -> Decimal:
    rates = book.rates(provider, model, usage[0])
    assert rates is not None, (provider, model)
    result = cost(tokens(*usage), rates)
    assert isinstance(result, Decimal)
    return result


# --- 1. cost() equals genai-prices' calc_price() to the last digit ---------------------------------------------


@pytest.mark.parametrize("usage", USAGES, ids=lambda u: "-".join(map(str, u)))
@pytest.mark.parametrize("provider,model", MODELS, ids=lambda v: v)
def test_cost_equals_calc_price_on_grid(book: PriceBook, provider: str, model: str, usage: tuple[int, int, int, int, int]) -> None:
    assert our_cost(book, provider, model, usage) == calc_price(provider, model, usage)


@st.composite
def usages(draw: st.DrawFn) -> tuple[int, int, int, int, int]:
    total_input = draw(
        st.one_of(
            st.integers(0, 2_000_000),
            st.integers(199_990, 200_010),  # across the 200k tier
            st.integers(127_990, 128_010),  # across the 128k tier
            st.integers(0, 50),
        )
    )
    cache_read = draw(st.integers(0, total_input))
    cache_write = draw(st.integers(0, total_input - cache_read))
    cache_write_1h = draw(st.integers(0, cache_write))
    output = draw(st.integers(0, 300_000))
    return total_input, cache_read, cache_write, cache_write_1h, output


@settings(max_examples=600, deadline=None, database=None)
@given(pair=st.sampled_from(MODELS), usage=usages())
@example(pair=("anthropic", "claude-sonnet-4-5"), usage=(200_000, 199_000, 1_000, 1_000, 1))
@example(pair=("anthropic", "claude-sonnet-4-5"), usage=(200_001, 199_000, 1_001, 1_001, 1))
@example(pair=("google", "gemini-2.5-pro"), usage=(200_001, 1, 1, 1, 1))
def test_cost_equals_calc_price_property(book: PriceBook, pair: tuple[str, str], usage: tuple[int, int, int, int, int]) -> None:
    provider, model = pair
    assert our_cost(book, provider, model, usage) == calc_price(provider, model, usage)


def test_tiered_models_change_rates_only_above_the_threshold(book: PriceBook) -> None:
    """The grid's threshold cases are meaningful: these models really are tiered where the grid crosses."""
    base = Rates(
        uncached_input=Decimal(3) / M,
        cache_read=Decimal("0.3") / M,
        cache_write_5m=Decimal("3.75") / M,
        cache_write_1h=Decimal(6) / M,
        output=Decimal(15) / M,
    )
    long_context = Rates(
        uncached_input=Decimal(6) / M,
        cache_read=Decimal("0.6") / M,
        cache_write_5m=Decimal("7.5") / M,
        cache_write_1h=Decimal(12) / M,
        output=Decimal("22.5") / M,
    )
    assert book.rates("anthropic", "claude-sonnet-4-5", 0) == base
    assert book.rates("anthropic", "claude-sonnet-4-5", 199_999) == base
    assert book.rates("anthropic", "claude-sonnet-4-5", 200_000) == base
    assert book.rates("anthropic", "claude-sonnet-4-5", 200_001) == long_context
    assert book.rates("anthropic", "claude-sonnet-4-5", 5_000_000) == long_context

    gemini_at = book.rates("google", "gemini-2.5-pro", 200_000)
    gemini_above = book.rates("google", "gemini-2.5-pro", 200_001)
    assert gemini_at is not None and gemini_above is not None
    assert (gemini_at.uncached_input, gemini_at.output) == (Decimal("1.25") / M, Decimal(10) / M)
    assert (gemini_above.uncached_input, gemini_above.output) == (Decimal("2.5") / M, Decimal(15) / M)

    flash_at = book.rates("google", "gemini-1.5-flash", 128_000)
    flash_above = book.rates("google", "gemini-1.5-flash", 128_001)
    assert flash_at is not None and flash_above is not None
    assert (flash_at.uncached_input, flash_above.uncached_input) == (Decimal("0.075") / M, Decimal("0.15") / M)


def test_per_request_fee_is_charged_once_per_call(book: PriceBook) -> None:
    """Perplexity's $12 per 1000 requests: a call costs its tokens plus $0.012, however many tokens it has."""
    rates = book.rates("perplexity", "sonar", 1000)
    assert rates is not None
    assert rates.per_call == Decimal("0.012")
    assert rates.uncached_input == rates.output == Decimal(1) / M
    assert cost(TokenCounts(0, 0, 0, 0, 0), rates) == Decimal("0.012")
    assert cost(TokenCounts(1000, 0, 0, 0, 100), rates) == Decimal("0.0131")


# --- 2. the hand-checked example ------------------------------------------------------------------------------


def test_hand_checked_sonnet_4_5_call(book: PriceBook) -> None:
    # 12 uncached + 4000 cache read + 1500 cache write (500 of them 1h) = 5512 input tokens, 300 output.
    rates = book.rates("anthropic", "claude-sonnet-4-5", 5512)
    assert rates is not None
    counts = tokens(5512, 4000, 1500, 500, 300)
    assert counts == TokenCounts(uncached_input=12, cache_read=4000, cache_write_5m=1000, cache_write_1h=500, output=300)
    expected = (12 * Decimal(3) + 4000 * Decimal("0.3") + 1000 * Decimal("3.75") + 500 * Decimal(6) + 300 * Decimal(15)) / M
    assert expected == Decimal("0.012486")
    assert cost(counts, rates) == Decimal("0.012486")
    assert calc_price("anthropic", "claude-sonnet-4-5", (5512, 4000, 1500, 500, 300)) == Decimal("0.012486")


# --- 3. unknown models are unpriced, and lookups are cached ---------------------------------------------------


class CountingSnapshot(data_snapshot.DataSnapshot):
    """genai-prices' own snapshot, counting the model lookups made through it."""

    lookups: list[tuple[str | None, str]]

    def find_provider_model(self, model_ref: str, provider: Any, provider_id: str | None, provider_api_url: str | None) -> Any:
        self.lookups.append((provider.id if provider is not None else provider_id, model_ref))
        return super().find_provider_model(model_ref, provider, provider_id, provider_api_url)


@pytest.fixture
def counting_snapshot() -> Iterator[CountingSnapshot]:
    snapshot = CountingSnapshot(providers=data_snapshot.get_snapshot().providers, from_auto_update=False)
    snapshot.lookups = []
    data_snapshot.set_custom_snapshot(snapshot)
    try:
        yield snapshot
    finally:
        data_snapshot.set_custom_snapshot(None)


def test_unknown_model_has_no_rates_never_zero(book: PriceBook) -> None:
    assert book.rates("openai", "my-private-model", 1000) is None
    assert book.rates("no-such-provider", "gpt-4o", 1000) is None
    assert book.rates("openai", "", 1000) is None


def test_lookups_are_cached_hits_and_misses(counting_snapshot: CountingSnapshot) -> None:
    book = PriceBook()
    first = book.rates("openai", "gpt-4o", 1000)
    assert first is not None
    assert counting_snapshot.lookups == [("openai", "gpt-4o")]
    assert book.rates("openai", "gpt-4o", 1000) is first
    assert book.rates("openai", "gpt-4o", 250_000) is first  # untiered: one set of rates for every size
    assert counting_snapshot.lookups == [("openai", "gpt-4o")]

    assert book.rates("openai", "my-private-model", 10) is None
    assert book.rates("openai", "my-private-model", 10) is None
    assert book.rates("openai", "my-private-model", 300_000) is None
    assert counting_snapshot.lookups == [("openai", "gpt-4o"), ("openai", "my-private-model")]

    base = book.rates("anthropic", "claude-sonnet-4-5", 10)
    above = book.rates("anthropic", "claude-sonnet-4-5", 300_000)
    assert base is not None and above is not None and base != above
    assert book.rates("anthropic", "claude-sonnet-4-5", 200_000) is base
    assert book.rates("anthropic", "claude-sonnet-4-5", 200_001) is above
    assert counting_snapshot.lookups == [("openai", "gpt-4o"), ("openai", "my-private-model"), ("anthropic", "claude-sonnet-4-5")]

    # The cache belongs to the book: a new book looks up again.
    assert PriceBook().rates("openai", "gpt-4o", 1000) == first
    assert len(counting_snapshot.lookups) == 4


def test_cache_is_bounded(counting_snapshot: CountingSnapshot) -> None:
    book = PriceBook()
    for i in range(1024):
        assert book.rates("openai", f"flood-{i}", 1) is None
    assert len(counting_snapshot.lookups) == 1024
    assert book.rates("openai", "flood-1023", 1) is None  # still cached
    assert len(counting_snapshot.lookups) == 1024
    assert book.rates("openai", "flood-1024", 1) is None  # the 1025th name clears the cache first
    assert book.rates("openai", "flood-0", 1) is None
    assert counting_snapshot.lookups[1024:] == [("openai", "flood-1024"), ("openai", "flood-0")]


def test_user_file_is_read_before_genai_prices(counting_snapshot: CountingSnapshot, tmp_path: Path) -> None:
    path = write_json(tmp_path / "prices.json", {"models": [{"provider": "openai", "model": "gpt-4o", "input_mtok": 1, "output_mtok": 2}]})
    book = PriceBook(path)
    assert book.rates("openai", "gpt-4o", 10) == Rates(*(Decimal(1) / M,) * 4, output=Decimal(2) / M)
    assert counting_snapshot.lookups == []


# --- 4. user price files ----------------------------------------------------------------------------------------

PRICE_FILE = {
    "models": [
        # overrides genai-prices' gpt-4o; cache writes default to the input price
        {"provider": "openai", "model": "gpt-4o", "input_mtok": 1, "output_mtok": 4, "cache_read_mtok": 0.1},
        # overrides a tiered model with flat rates
        {"provider": "anthropic", "model": "claude-sonnet-4-5", "input_mtok": 2, "output_mtok": 10, "cache_write_mtok": 2.5},
        # a self-hosted model genai-prices does not know, every kind given, prices as strings and floats
        {
            "provider": "self-hosted",
            "model": "llama-local",
            "input_mtok": "0.2",
            "output_mtok": 0.4,
            "cache_read_mtok": 0.05,
            "cache_write_mtok": 0.25,
            "cache_write_1h_mtok": "0.5",
        },
        # free, and only the required keys
        {"provider": "self-hosted", "model": "free-local", "input_mtok": 0, "output_mtok": 0},
    ]
}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def check_user_book(book: PriceBook, file_name: str) -> None:
    assert book.version == f"genai-prices {genai_prices.__version__} + {file_name}"

    gpt_4o = Rates(
        uncached_input=Decimal(1) / M,
        cache_read=Decimal("0.1") / M,
        cache_write_5m=Decimal(1) / M,
        cache_write_1h=Decimal(1) / M,
        output=Decimal(4) / M,
    )
    assert book.rates("openai", "gpt-4o", 1000) == gpt_4o
    assert book.rates("openai", "gpt-4o", 5_000_000) == gpt_4o
    # The override wins: genai-prices' own price for the same call is different.
    usage = (5000, 4000, 0, 0, 100)
    assert cost(tokens(*usage), gpt_4o) == Decimal("0.0018")  # (1000*1 + 4000*0.1 + 100*4) / 1M
    assert calc_price("openai", "gpt-4o", usage) == Decimal("0.0085")  # (1000*2.5 + 4000*1.25 + 100*10) / 1M

    sonnet = Rates(
        uncached_input=Decimal(2) / M,
        cache_read=Decimal(2) / M,
        cache_write_5m=Decimal("2.5") / M,
        cache_write_1h=Decimal("2.5") / M,  # 1h writes default to the (5m) cache-write price
        output=Decimal(10) / M,
    )
    assert book.rates("anthropic", "claude-sonnet-4-5", 10) == sonnet
    assert book.rates("anthropic", "claude-sonnet-4-5", 300_000) == sonnet  # the user's flat price, no tier

    llama = Rates(
        uncached_input=Decimal("0.2") / M,
        cache_read=Decimal("0.05") / M,
        cache_write_5m=Decimal("0.25") / M,
        cache_write_1h=Decimal("0.5") / M,
        output=Decimal("0.4") / M,
    )
    assert book.rates("self-hosted", "llama-local", 10) == llama
    assert llama.uncached_input == Decimal("0.0000002")  # the float 0.2 read as written, not as its binary value
    assert cost(TokenCounts(100_000, 200_000, 300_000, 400_000, 500_000), llama) == Decimal("0.505")  # 0.02 + 0.01 + 0.075 + 0.2 + 0.2
    assert book.rates("self-hosted", "free-local", 10) == Rates(*(Decimal(0),) * 5)
    assert cost(TokenCounts(10, 0, 0, 0, 10), book.rates("self-hosted", "free-local", 10)) == 0  # type: ignore[arg-type]

    # Models not in the file still come from genai-prices; exact ids only (the file does not match aliases).
    assert book.rates("openai", "gpt-4o-mini", 1000) == PriceBook().rates("openai", "gpt-4o-mini", 1000)
    assert book.rates("openai", "gpt-4o-2024-08-06", 1000) == PriceBook().rates("openai", "gpt-4o-2024-08-06", 1000)
    assert book.rates("self-hosted", "unknown-local", 10) is None


def test_json_price_file_overrides_and_adds(tmp_path: Path) -> None:
    path = write_json(tmp_path / "prices.json", PRICE_FILE)
    check_user_book(PriceBook(path), "prices.json")
    check_user_book(PriceBook(str(path)), "prices.json")


def test_price_file_suffix_other_than_yaml_is_json(tmp_path: Path) -> None:
    path = write_json(tmp_path / "my-prices.txt", PRICE_FILE)
    check_user_book(PriceBook(path), "my-prices.txt")


def test_without_price_file_version_is_genai_prices_only() -> None:
    assert PriceBook().version == f"genai-prices {genai_prices.__version__}"
    assert PriceBook(None).version == f"genai-prices {genai_prices.__version__}"




@pytest.mark.parametrize("suffix", [".yaml", ".yml"])
def test_yaml_price_file_overrides_and_adds(tmp_path: Path, suffix: str) -> None:
    import yaml

    path = tmp_path / f"prices{suffix}"
    path.write_text(yaml.safe_dump(PRICE_FILE), encoding="utf-8")
    check_user_book(PriceBook(path), path.name)


GOOD = {"provider": "openai", "model": "gpt-4o", "input_mtok": 1, "output_mtok": 2}


@pytest.mark.parametrize(
    "entry,problem",
    [
        ({"provider": "openai", "input_mtok": 1, "output_mtok": 2}, "needs string 'provider' and 'model'"),
        ({"model": "gpt-4o", "input_mtok": 1, "output_mtok": 2}, "needs string 'provider' and 'model'"),
        ({"provider": "openai", "model": 4, "input_mtok": 1, "output_mtok": 2}, "needs string 'provider' and 'model'"),
        ("gpt-4o", "needs string 'provider' and 'model'"),
        ({**GOOD, "input_mtok": -1}, "input_mtok must be a non-negative number, got -1"),
        ({**GOOD, "cache_read_mtok": -0.5}, "cache_read_mtok must be a non-negative number, got -0.5"),
        ({**GOOD, "output_mtok": "cheap"}, "output_mtok must be a number, got 'cheap'"),
        ({**GOOD, "cache_write_mtok": [1]}, "cache_write_mtok must be a number, got [1]"),
        ({**GOOD, "cache_write_1h_mtok": True}, "cache_write_1h_mtok must be a number, got True"),
        ({**GOOD, "input_mtok": "Infinity"}, "input_mtok must be a non-negative number, got 'Infinity'"),
        ({**GOOD, "input_mtok": "NaN"}, "input_mtok must be a non-negative number, got 'NaN'"),
        ({**GOOD, "input_mtkn": 1}, "unknown keys ['input_mtkn']"),
        ({**GOOD, "tiers": [], "currency": "EUR"}, "unknown keys ['currency', 'tiers']"),
        ({"provider": "openai", "model": "gpt-4o", "input_mtok": 1}, "needs at least input_mtok and output_mtok"),
        ({"provider": "openai", "model": "gpt-4o", "output_mtok": 1, "input_mtok": None}, "needs at least input_mtok and output_mtok"),
    ],
)
def test_bad_entry_names_file_and_entry(tmp_path: Path, entry: Any, problem: str) -> None:
    path = write_json(tmp_path / "prices.json", {"models": [GOOD, entry, GOOD]})
    with pytest.raises(PriceFileError) as raised:
        PriceBook(path)
    assert str(raised.value) == f"{path}: models[1]: {problem}"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "prices.json"
    with pytest.raises(PriceFileError) as raised:
        PriceBook(path)
    assert str(raised.value) == f"{path}: cannot read price file: {os.strerror(errno.ENOENT)}"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(PriceFileError) as raised:
        PriceBook(tmp_path)
    assert str(raised.value) == f"{tmp_path}: cannot read price file: {os.strerror(errno.EISDIR)}"


def test_file_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "prices.json"
    path.write_bytes(b'\xff\xfe{"models": []}')
    with pytest.raises(PriceFileError) as raised:
        PriceBook(path)
    assert str(raised.value) == f"{path}: cannot read price file: not UTF-8 (invalid start byte at byte 0)"


@pytest.mark.parametrize("text", ['{"models": [', "", "models: []", '{"models": [{"provider": "openai",}]}'])
def test_invalid_json(tmp_path: Path, text: str) -> None:
    path = tmp_path / "prices.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(json.JSONDecodeError) as parse_error:
        json.loads(text)
    with pytest.raises(PriceFileError) as raised:
        PriceBook(path)
    assert str(raised.value) == f"{path}: not valid JSON: {parse_error.value}"


@pytest.mark.parametrize("data", [[GOOD], {"model": [GOOD]}, {"models": GOOD}, {"models": None}, "models", 3, None])
def test_no_models_list(tmp_path: Path, data: Any) -> None:
    path = write_json(tmp_path / "prices.json", data)
    with pytest.raises(PriceFileError) as raised:
        PriceBook(path)
    assert str(raised.value) == f"{path}: expected a top-level 'models' list"


def test_empty_models_list_is_valid(tmp_path: Path) -> None:
    path = write_json(tmp_path / "prices.json", {"models": []})
    assert _load_price_file(path) == {}
    book = PriceBook(path)
    assert book.version == f"genai-prices {genai_prices.__version__} + prices.json"
    assert book.rates("openai", "gpt-4o", 10) == PriceBook().rates("openai", "gpt-4o", 10)


def test_price_file_error_is_exported_value_error() -> None:
    assert ExportedPriceFileError is PriceFileError
    assert issubclass(PriceFileError, ValueError)


def test_rates_are_resolved_again_each_half_hour() -> None:
    """Time-dependent prices (off-peak hours, dated changes) are never kept past the half hour they hold for."""
    now = [1_764_000_000.0]
    book = PriceBook(clock=lambda: now[0])
    first = book.rates("openai", "gpt-4o", 1000)
    now[0] += 60
    assert book.rates("openai", "gpt-4o", 1000) is first
    now[0] += 1800
    again = book.rates("openai", "gpt-4o", 1000)
    assert again == first and again is not first


@pytest.mark.parametrize(
    ("provider", "model", "price_id"),
    [
        ("azure.ai.openai", "gpt-4o", "azure"),  # the conventions' names, priced as their genai-prices provider
        ("aws.bedrock", "us.anthropic.claude-sonnet-4-20250514-v1:0", "aws"),
        ("gcp.gemini", "gemini-2.5-pro", "google"),
        ("gcp.vertex_ai", "gemini-2.5-pro", "google"),
        ("mistral_ai", "mistral-large-2512", "mistral"),
        ("x_ai", "grok-3", "x-ai"),
        ("Bedrock", "amazon.nova-pro-v1:0", "aws"),  # another instrumentation's name, matched by genai-prices' rules
        ("litellm", "anthropic/claude-sonnet-4-5", "litellm"),  # ... and its LiteLLM spans, routed by the model prefix
    ],
)
def test_provider_names_resolve_to_their_own_prices(book: PriceBook, provider: str, model: str, price_id: str) -> None:
    usage = (5000, 4000, 0, 0, 300)
    assert our_cost(book, provider, model, usage) == calc_price(price_id, model, usage)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "openai-proxy.internal", "my.anthropic.gateway:8443"])
def test_a_host_is_never_priced_as_a_provider_it_mentions(book: PriceBook, host: str) -> None:
    assert book.rates(host, "gpt-4o", 1000) is None
    assert book.rates(host, "claude-sonnet-4-5", 1000) is None


def test_rates_take_each_difference_once_to_the_last_digit(book: PriceBook) -> None:
    """The differences a call's savings and write premium need are taken once per rates; they equal the per-call
    arithmetic digit for digit, exponent included (Decimal keeps it), and so does a call that wrote nothing."""
    for provider, model, total_input in (("openai", "gpt-4o", 1000), ("anthropic", "claude-sonnet-4-5", 300_000)):
        rates = book.rates(provider, model, total_input)
        assert rates is not None
        assert repr(rates.read_saving) == repr(rates.uncached_input - rates.cache_read)
        for write_5m, write_1h in ((0, 0), (1200, 0), (0, 700), (1200, 700)):
            expected = write_5m * (rates.cache_write_5m - rates.uncached_input) + write_1h * (rates.cache_write_1h - rates.uncached_input)
            assert repr(rates.write_premium(write_5m, write_1h)) == repr(expected)
