"""Privacy findings: personal data and secrets an agent sends to a model provider, counted in-process.

Opt-in (`instrument(privacy_scan=True)` or `AGENTYIELD_PRIVACY_SCAN=true`). Only the new part of each
request is scanned (the trailing user or tool messages: earlier turns were scanned when they were new), and
only counts and kinds leave the process, never the text. They feed the capability vector's
"privacy findings per call".
"""

from __future__ import annotations

import re
from typing import Any

from agentyield import _semconv as sc

from ._records import get

__all__ = ["findings_attributes", "scan", "text_of"]

_PATTERNS = {
    "email": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}",
    "api_key": r"\b(?:sk-(?:ant-|proj-)?[A-Za-z0-9_-]{20,}|AKIA[0-9A-Z]{16}|gh[pousr]_[A-Za-z0-9]{36}|xox[abprs]-[A-Za-z0-9-]{10,})",
    "private_key": r"-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----",
    "us_ssn": r"\b\d{3}-\d{2}-\d{4}\b",
    "card_number": r"\b(?:\d[ -]?){12,18}\d\b",
    "phone": r"(?<![\w+])\+\d{1,3}[ .-]?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,4}){1,3}\b",
}
_SCANNER = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _PATTERNS.items()))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or the text of its parts (text blocks, tool results)."""
    if isinstance(content, str):
        return content
    if isinstance(content, (list, tuple)):
        return "\n".join(text_of(get(part, "text") or get(part, "content") or "") for part in content)
    return ""


def scan(text: str) -> dict[str, int]:
    """Findings by kind; card numbers count only when they pass the Luhn check."""
    found: dict[str, int] = {}
    for match in _SCANNER.finditer(text):
        kind = match.lastgroup
        if kind == "card_number" and not _luhn(re.sub(r"\D", "", match.group())):
            continue
        found[kind] = found.get(kind, 0) + 1  # type: ignore[index]
    return found


def _new_part(messages: Any) -> str:
    """The messages after the last assistant turn (the new user input and tool results), as text."""
    if isinstance(messages, str):
        return messages
    if not isinstance(messages, (list, tuple)):
        return ""
    new: list[str] = []
    for message in reversed(messages):
        if get(message, "role") == "assistant" or get(message, "type") in ("function_call", "reasoning"):
            break
        new.append(text_of(get(message, "content") if get(message, "content") is not None else get(message, "output")))
    return "\n".join(reversed(new))


def findings_attributes(messages: Any, attributes: dict[str, Any]) -> None:
    """Scan the new part of a request's messages; add the counts (and kinds) to the span attributes."""
    found = scan(_new_part(messages))
    attributes[sc.PRIVACY_FINDINGS] = sum(found.values())
    if found:
        attributes[sc.PRIVACY_FINDING_KINDS] = tuple(sorted(found))
