"""Task budgets, enforced live: spend is charged to a task and to every ancestor task with a budget as each
LLM call is booked, so a sub-agent's spend counts against its parent's budget. Crossing 80% is a warning,
crossing 100% exceeds the budget (each once per task). No OpenTelemetry imports.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["WARN_AT", "Budget"]

WARN_AT = Decimal("0.8")
"""The share of a budget at which a task is warned."""


@dataclass(slots=True)
class Budget:
    usd: Decimal | None
    tokens: int | None
    enforce: bool
    """`on_exceed="raise"`: the next LLM call inside the task raises `BudgetExceeded` before it is sent."""
    spent_usd: Decimal = Decimal(0)
    spent_tokens: int = 0
    unpriced_calls: int = 0
    """Calls whose cost is unknown: `spent_usd` is then a lower bound (their tokens still count)."""
    warned: bool = False
    exceeded: bool = False

    def charge(self, usd: Decimal | None, tokens: int) -> str | None:
        """Add one call's spend; return `warning` or `exceeded` when this call crossed that line."""
        if usd is None:
            self.unpriced_calls += 1
        else:
            self.spent_usd += usd
        self.spent_tokens += tokens
        share = max(
            self.spent_usd / self.usd if self.usd else Decimal(0),
            Decimal(self.spent_tokens) / self.tokens if self.tokens else Decimal(0),
        )
        if share >= 1 and not self.exceeded:
            self.exceeded = self.warned = True
            return "exceeded"
        if share >= WARN_AT and not self.warned:
            self.warned = True
            return "warning"
        return None

    def describe(self) -> str:
        limits = []
        if self.usd is not None:
            limits.append(f"${self.spent_usd:.6f} of ${self.usd}")
        if self.tokens is not None:
            limits.append(f"{self.spent_tokens} of {self.tokens} tokens")
        return ", ".join(limits)
