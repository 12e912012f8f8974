"""Which price data produces agentyield's numbers (`agentyield.price.source`), named without loading the data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

__all__ = ["price_source"]


def price_source(price_file: str | Path | None = None) -> str:
    """genai-prices' version, read off its installed metadata without importing it (importing it loads its
    data, which `instrument()` leaves to a background thread), and the user's price file if any."""
    return f"genai-prices {_genai_prices_version()}" + (f" + {Path(price_file).name}" if price_file else "")


def _genai_prices_version() -> str:
    spec = importlib.util.find_spec("genai_prices")
    if spec is not None and spec.origin:
        found = list(Path(spec.origin).parent.parent.glob("genai_prices-*.dist-info"))
        if len(found) == 1:
            return found[0].name[len("genai_prices-"):-len(".dist-info")]
    from importlib.metadata import version  # another layout: ask the metadata (slower)

    return version("genai-prices")
