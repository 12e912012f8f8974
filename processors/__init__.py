"""The derivation core: span attributes in, agent metrics out (docs/metrics.md).

`AgentYieldSpanProcessor` is its in-process entry point; the ledger (`_ledger`) and pricing (`_pricing`)
are pure and shared by every entry point. Each name is imported on first use, so that `instrument()` can
read a price file and install the sampler without loading the core (`agentyield._deferred` builds it).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._ledger import Ledger, Limits, Totals
    from ._pricing import PriceBook, PriceFileError
    from ._processor import AgentYieldSpanProcessor
    from ._sampler import RecordEverythingSampler

__all__ = ["AgentYieldSpanProcessor", "Ledger", "Limits", "PriceBook", "PriceFileError", "RecordEverythingSampler", "Totals"]

_MODULES = {
    "AgentYieldSpanProcessor": "._processor", "Ledger": "._ledger", "Limits": "._ledger", "Totals": "._ledger",
    "PriceBook": "._pricing", "PriceFileError": "._pricing", "RecordEverythingSampler": "._sampler",
}


def __getattr__(name: str) -> Any:
    if name not in _MODULES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_MODULES[name], __name__), name)
    globals()[name] = value
    return value
