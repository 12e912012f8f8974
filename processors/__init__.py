"""The derivation core: span attributes in, agent metrics out (docs/metrics.md).

`AgentYieldSpanProcessor` is its in-process entry point; the ledger (`_ledger`) and pricing (`_pricing`)
are pure and shared by every entry point.
"""

from ._ledger import Ledger, Limits, Totals
from ._pricing import PriceBook, PriceFileError
from ._processor import AgentYieldSpanProcessor
from ._sampler import RecordEverythingSampler

__all__ = ["AgentYieldSpanProcessor", "Ledger", "Limits", "PriceBook", "PriceFileError", "RecordEverythingSampler", "Totals"]
